"""The claims dashboard ``book/claims.md``: every claim of the committed record in one table, generated, never typed.

``lora-companion record`` regenerates it after re-executing notebooks; a test checks that the committed page equals
what the committed notebooks generate.
"""
from __future__ import annotations

from collections import Counter

from .book import BOOK, CHAPTERS
from .claims import VERDICTS

PAGE = BOOK / "claims.md"
TITLES = {"preliminaries": "Preliminaries", "ntk_landscape": "NTK landscape (Jang, Lee, Ryu 2024)",
          "lora_one": "LoRA-One (Zhang, Liu, Chen 2025)", "fails_loudly": "Fails loudly (Kim, Kim, Ryu 2025)",
          "rank_one": "Rank-1 student–teacher (Dayi, Chen 2025)"}
MARK = {"reproduced": "✅ reproduced", "not reproduced": "❌ not reproduced", "inconclusive": "❔ inconclusive"}


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary(claims: list[dict]) -> str:
    counts = Counter(c["verdict"] for c in claims)
    return f"**{len(claims)} claims**: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)


def render(claims: list[dict]) -> str:
    """The Markdown (MyST) page for a list of claim records (as ``lora-companion claims --json`` prints them)."""
    lines = ["<!-- Generated from the committed notebooks by `lora-companion record` (lora_companion.dashboard). "
             "Do not edit by hand. -->", "", "# Claims", "",
             "Every claim of the book, with the test we ran, the value we measured and the verdict. The claim column "
             "states the paper's claim in our words; the source column cites where it comes from. Click the figure "
             "number to see the evidence, or the notebook to see the run; every notebook page starts with the "
             "commands that rerun it.", "", summary(claims) + ".", ""]
    for chapter in CHAPTERS:
        rows = [c for c in claims if c["chapter"] == chapter]
        if not rows:
            continue
        lines += [f"## {TITLES.get(chapter, chapter)}", "", summary(rows) + ".", "",
                  "| Claim | Source | Our test | Measured | Verdict | Figure | Notebook |",
                  "|---|---|---|---|---|---|---|"]
        for c in rows:
            source = "this book" if c["paper"] == "companion" else f"{{cite:p}}`{c['paper']}`"
            figure = f"{{numref}}`{c['figure']}`" if c.get("figure") else "—"
            notebook = f"[{c['notebook'].split('/')[-1]}]({c['notebook']}.ipynb)"
            lines.append("| " + " | ".join([f"**{_cell(c['id'])}**: {_cell(c['statement'])}", source, _cell(c["test"]),
                                            f"`{_cell(c['measured'])}`", MARK[c["verdict"]], figure, notebook]) + " |")
        lines.append("")
    return "\n".join(lines)


def write(claims: list[dict]) -> None:
    PAGE.write_text(render(claims))
