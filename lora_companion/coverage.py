"""What of each paper the book covers: the "Coverage" table of every chapter page, read back as data.

Each paper chapter's ``index.md`` has a section ``## Coverage`` with one table row per numbered result of the
paper's main text (theorem, lemma, corollary, figure, table, the abstract's headline sentences)::

    | result | from | claims and verdicts |

The third cell names the claims that test the result as links ``{ref}`id <claim-id>``` to the claims page (the
page's anchors), followed by their glued verdicts, or says "not covered" and why. A row is *covered* when it links
a theorem or empirical claim of the ledger (a reproduction); rows that link only sanity checks or extensions are
counted apart. The page stays the one place a reader and an author edit; this module only reads
it, for the per-paper summary of the claims page and for the test that every linked id is a claim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .book import BOOK
from .claims import COUNTED

HEADING = "## Coverage"
_LINK = re.compile(r"\{ref\}`[^`<]*<claim-([a-z0-9-]+)>`")


@dataclass(frozen=True)
class Row:
    """One numbered result of a paper and the claims (ids) that test it."""
    result: str
    source: str
    claims: tuple[str, ...]

    @property
    def covered(self) -> bool:
        return bool(self.claims)


def _cells(line: str) -> list[str]:
    """Cells of a Markdown table row, splitting on ``|`` outside backticks and ``$…$`` (math may hold ``|``)."""
    cells, cell, code, math = [], [], False, False
    for ch in line.strip()[1:]:
        if ch == "`" and not math:
            code = not code
        elif ch == "$" and not code:
            math = not math
        if ch == "|" and not code and not math:
            cells.append("".join(cell).strip())
            cell = []
        else:
            cell.append(ch)
    return cells


def rows(chapter: str, book: Path = BOOK) -> list[Row]:
    """The Coverage table of ``book/<chapter>/index.md`` (header and separator skipped); [] when it has none."""
    page = book / chapter / "index.md"
    if not page.exists():
        return []
    lines = page.read_text().splitlines()
    try:
        start = lines.index(HEADING) + 1
    except ValueError:
        return []
    table = []
    for line in lines[start:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            table.append(line)
    found = []
    for line in table[2:]:
        cells = _cells(line)
        if len(cells) != 3:
            raise ValueError(f"{page}: a Coverage row needs 3 cells (result | from | claims), got {len(cells)}: "
                             f"{line[:80]}")
        found.append(Row(cells[0], cells[1], tuple(dict.fromkeys(_LINK.findall(cells[2])))))
    return found


def summary(chapter: str, claims: list[dict], book: Path = BOOK) -> dict:
    """The chapter's Coverage table counted: results tested by a theorem or empirical claim (``covered``), results
    linked only to sanity checks or extensions (``other``), results with no claim (``not_covered``); and the
    chapter's claims by kind."""
    kind = {c["id"]: c.get("kind") for c in claims}
    table = rows(chapter, book)
    counted = [r for r in table if any(kind.get(i) in COUNTED for i in r.claims)]
    other = [r for r in table if r.covered and r not in counted]
    kinds = {k: sum(c.get("kind") == k for c in claims if c["chapter"] == chapter)
             for k in ("theorem", "empirical", "sanity", "extension")}
    return {"results": len(table), "covered": len(counted), "other": len(other),
            "not_covered": [r.result for r in table if not r.covered], "kinds": kinds}
