"""The claims dashboard ``book/claims.md``: every claim of the committed record, generated, never typed.

``lora-companion record`` regenerates it after re-executing notebooks; a test checks that the committed page equals
what the committed notebooks generate. ``lora-companion seed-check SEED [SEED ...]`` reruns the whole book at other
seeds and stores each claim's verdict there in ``book/seed_check.json``; the page shows, per claim, how many of the
seeds (the record's included) reach the record's verdict. Tallies count theorem and empirical claims only
(:data:`claims.COUNTED`); sanity checks and extensions are listed apart.

Verdicts are sphinx-design badges with text (green reproduced, red not reproduced, amber inconclusive), so they read
in the PDF and without colour. Per chapter the page has a compact table (claim, kind, verdict, seeds) and, below
it, one dropdown per claim with the test, the measured value, the hypotheses, the seeds and the evidence. Beside the
page, :func:`write` also writes the tallies that other pages include: ``book/_tally.md`` (the whole book, for the
intro) and ``book/<chapter>/_tally.md`` (for the top of each chapter page).
"""
from __future__ import annotations

import importlib
import json
import re
import tempfile
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from . import coverage, stats
from .book import BOOK, CHAPTERS
from .claims import COUNTED, VERDICTS

PAGE = BOOK / "claims.md"
SEED_CHECK = BOOK / "seed_check.json"
TITLES = {"preliminaries": "Preliminaries", "ntk_landscape": "NTK landscape (Jang, Lee, Ryu 2024)",
          "lora_one": "LoRA-One (Zhang, Liu, Chen 2025)", "fails_loudly": "Fails loudly (Kim, Kim, Ryu 2025)",
          "rank_one": "Rank-1 student–teacher (Dayi, Chen 2025)"}
BADGE = {"reproduced": "success", "not reproduced": "danger", "inconclusive": "warning"}
#: the snippet with a page's tally, written beside it for ``{include}``: book/_tally.md, book/<chapter>/_tally.md
TALLY = "_tally.md"
_MATH = re.compile(r"(\$[^$\n]+\$)")


def _cell(text, code: bool = False) -> str:
    """Text for one table cell or line of the page: pipes escaped, and (outside code spans and ``$…$`` maths) the
    * and _ of the Unicode maths too; inside maths a bare | becomes ``\\vert`` (a table would split on it)."""
    text = str(text).replace("\n", " ")
    if code:
        return text.replace("|", "\\|")
    return "".join(re.sub(r"(?<!\\)\|", r"\\vert ", part) if _MATH.fullmatch(part)
                   else part.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")
                   for part in _MATH.split(text))


def badge(verdict: str, text: str | None = None, solid: bool = True) -> str:
    """A sphinx-design badge: green, red or amber by verdict, with text (readable in the PDF and without colour);
    outlined (``solid=False``) for claims that do not count (sanity checks, extensions) and for zero counts."""
    return f"{{bdg-{BADGE[verdict]}{'' if solid else '-line'}}}`{text or verdict}`"


def counted(claims: list[dict]) -> list[dict]:
    """The claims that count as reproductions (theorem and empirical)."""
    return [c for c in claims if c.get("kind") in COUNTED]


def summary(claims: list[dict]) -> str:
    """Tally of the theorem and empirical claims, as badges, and how many sanity checks and extensions are shown
    apart."""
    main = counted(claims)
    counts = Counter(c["verdict"] for c in main)
    other = Counter(c.get("kind") for c in claims if c not in main)
    text = f"**{len(main)} theorem and empirical claims**: " + " ".join(badge(v, f"{counts[v]} {v}", counts[v] > 0)
                                                                         for v in VERDICTS)
    return text + f" (not counted: {other.get('sanity', 0)} sanity checks, {other.get('extension', 0)} extensions)"


def seed_verdicts(c: dict, check: dict | None) -> dict[int, str]:
    """The verdict of claim ``c`` at every seed of the seed check (absent where a run did not produce it)."""
    return {run["seed"]: run["claims"][c["id"]]["verdict"] for run in (check or {}).get("runs", [])
            if c["id"] in run["claims"]}


def _agreement(c: dict, check: dict | None) -> str:
    found = seed_verdicts(c, check)
    if not found:
        return "not checked"
    differ = {s: v for s, v in found.items() if v != c["verdict"]}
    text = f"{len(found) + 1 - len(differ)}/{len(found) + 1}"
    return text + ("" if not differ else " (" + "; ".join(f"seed {s}: {v}" for s, v in differ.items()) + ")")


def stable(claims: list[dict], check: dict) -> list[dict]:
    """The theorem/empirical claims whose verdict every seed of the seed check reproduces."""
    return [c for c in counted(claims) if all(v == c["verdict"] for v in seed_verdicts(c, check).values())
            and len(seed_verdicts(c, check)) == len(check["runs"])]


def seed_summary(claims: list[dict], check: dict) -> str:
    """One sentence: how many theorem/empirical verdicts agree across the record's seed and the checked seeds."""
    unchecked = [c["id"] for c in counted(claims) if not seed_verdicts(c, check)]
    main = [c for c in counted(claims) if c["id"] not in unchecked]
    stable_ = stable(claims, check)
    differ = [c["id"] for c in main if c not in stable_]
    seeds = ", ".join(str(r["seed"]) for r in check["runs"])
    text = (f"Reruns of the whole book at seeds {seeds} (book profile), against the record's seed "
            f"{check.get('record_seed', 0)}: **{len(stable_)} of {len(main)} theorem and empirical verdicts agree at "
            f"every seed**")
    text += f"; not stable: {', '.join(differ)}" if differ else ""
    return text + (f"; not yet in the seed check (added after it ran): {', '.join(unchecked)}" if unchecked else "")


def threshold_changes() -> list[dict]:
    """Every threshold changed after a run had been seen, from each chapter's ``thresholds.THRESHOLD_CHANGES``, and
    every change of the decision rule itself (``stats.RULE_CHANGES``, chapter "all")."""
    found = []
    for chapter in CHAPTERS:
        try:
            module = importlib.import_module(f"lora_companion.experiments.{chapter}.thresholds")
        except ModuleNotFoundError:
            continue
        found += [{"chapter": chapter, **asdict(t)} for t in getattr(module, "THRESHOLD_CHANGES", [])]
    return found + [{"chapter": "all", **change} for change in stats.RULE_CHANGES]


def _kind(c: dict) -> str:
    return (c.get("kind") or "unknown") + (f" ({c['source']})" if c.get("source") else "")


def _row(c: dict, check: dict | None) -> str:
    """One row of a chapter's table: claim, kind, verdict, seeds agreement."""
    seeds = _agreement(c, check).split(" (")[0]
    source = "" if c["paper"] == "companion" else f" {{cite:p}}`{c['paper']}`"
    return "| " + " | ".join([f"{{ref}}`{c['id']} <claim-{c['id']}>`: {_cell(c['statement'])}{source}", _kind(c),
                              badge(c["verdict"], solid=c.get("kind") in COUNTED), seeds]) + " |"


def _details(c: dict, check: dict | None) -> list[str]:
    """The dropdown of one claim: the test, the measured value, the hypotheses, the seeds and the evidence."""
    lines = [f"::::{{dropdown}} {badge(c['verdict'], solid=c.get('kind') in COUNTED)} **{c['id']}** "
             f"· {_kind(c)}", f":name: claim-{c['id']}", ":class-container: claim-details", "",
             f"**Claim.** {_cell(c['statement'])}"
             + ("" if c["paper"] == "companion" else f" {{cite:p}}`{c['paper']}`"), "",
             f"**Our test.** {_cell(c['test'])}", "", f"**Measured.** `{_cell(c['measured'], code=True)}`", ""]
    if c.get("hypotheses"):
        lines += ["**Hypotheses, measured on the instance.**", ""]
        lines += [f"- {'holds' if h['holds'] else '**fails**'}: {_cell(h['name'])} (measured "
                  f"`{_cell(h['measured'], code=True)}`)" for h in c["hypotheses"]]
        lines.append("")
    if c.get("seeds"):
        how = (f"{c['interval_method']} [{c['interval'][0]}, {c['interval'][1]}]" if c.get("interval")
               else "interval undefined (a non-finite statistic)")
        lines += [f"**Seeds.** Decided over {c['seeds']} seeds: {how}.", ""]
    lines += [f"**Seed check.** {_agreement(c, check)}", ""]
    evidence = [f"{{numref}}`{c['figure']}`"] if c.get("figure") else []
    evidence.append(f"the notebook [{c['notebook'].split('/')[-1]}]({c['notebook']}.ipynb)")
    return lines + [f"**Evidence.** {', '.join(evidence)}.", "::::", ""]


def tally(claims: list[dict], check: dict | None = None, link: str | None = None) -> str:
    """The tally of ``claims`` as an include snippet: badges in a ``tally`` container (book/_static/companion.css),
    how many verdicts agree at every seed of the seed check, and ``link`` (MyST) to the claims."""
    text = summary(claims) + "."
    if check:
        checked = [c for c in counted(claims) if seed_verdicts(c, check)]
        text += (f" Verdicts that agree at every seed of the seed check: {len(stable(claims, check))} of "
                 f"{len(checked)} checked" + (f" ({len(counted(claims)) - len(checked)} added since)"
                                              if len(checked) < len(counted(claims)) else "") + ".")
    return "\n".join(["```{container} tally", text + (f" {link}" if link else ""), "```", ""])


def render(claims: list[dict], check: dict | None = None) -> str:
    """The Markdown (MyST) page for a list of claim records (as ``lora-companion claims --json`` prints them) and,
    optionally, the verdicts of reruns at other seeds (the content of ``seed_check.json``)."""
    lines = ["<!-- Generated from the committed notebooks by `lora-companion record` (lora_companion.dashboard). "
             "Do not edit by hand. -->", "", "# Claims", "",
             "Every claim of the book with its verdict: {bdg-success}`reproduced`, {bdg-danger}`not reproduced` or "
             "{bdg-warning}`inconclusive`. Per chapter, a table gives the claim in our words, its kind and source in "
             "the paper, the verdict and how many seeds of the seed check (the record's included) reach it; click a "
             "claim for our test, the measured value, the hypotheses as measured, the seeds and the evidence. Only "
             "theorem and empirical claims count; sanity checks and extensions have outlined badges.", "", "```{container} tally", summary(claims) + ".", "```"]
    if check:
        lines += ["", seed_summary(claims, check) + "."]
    lines += ["", *coverage_table(claims), ""]
    for chapter in CHAPTERS:
        rows = sorted([c for c in claims if c["chapter"] == chapter], key=lambda c: c.get("kind") not in COUNTED)
        if not rows:
            continue
        lines += [f"(claims-{chapter})=", f"## {TITLES.get(chapter, chapter)}", "", "```{container} tally",
                  summary(rows) + ".", "```", "", "```{table}", ":class: claims-table longtable",
                  ":widths: 60 16 14 10", "", "| Claim | Kind | Verdict | Seeds |", "|---|---|---|---|"]
        lines += [_row(c, check) for c in rows]
        lines += ["```", "", "```{rubric} Details: test, measurement, evidence", "```", ""]
        for c in rows:
            lines += _details(c, check)
    changes = threshold_changes()
    lines += ["## Thresholds and decision rules changed after a run", ""]
    if changes:
        lines += ["| Chapter | Threshold | Old | New | Why |", "|---|---|---|---|---|"]
        lines += [f"| {t['chapter']} | `{t['name']}` | {_cell(t['old'])} | {_cell(t['new'])} | {_cell(t['reason'])} |"
                  for t in changes]
    else:
        lines.append("None: every threshold was fixed before the runs it decides.")
    lines.append("")
    return "\n".join(lines)


def coverage_table(claims: list[dict]) -> list[str]:
    """Per paper: the numbered results of its main text covered by at least one claim (the chapter's Coverage
    table, :mod:`lora_companion.coverage`), those not covered, and the chapter's claims by kind."""
    lines = ["(claims-coverage)=", "## Coverage by paper", "",
             "Each paper chapter's *Coverage* table has one row per numbered result of the paper's main text; a row "
             "is covered when a theorem or empirical claim tests it; some results are linked only to a sanity check or "
             "to our own extension (\"other\"). Claims by kind: only theorem and empirical claims count as "
             "reproductions.", "", "| Paper | Results | Covered | Other | Not covered | Theorem | Empirical | "
             "Sanity | Extension |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for chapter in CHAPTERS:
        s = coverage.summary(chapter, claims)
        if not s["results"]:
            continue
        k = s["kinds"]
        lines.append(f"| [{TITLES.get(chapter, chapter)}]({chapter}/index.md) | {s['results']} | {s['covered']} | "
                     f"{s['other']} | {len(s['not_covered'])} | {k['theorem']} | {k['empirical']} | {k['sanity']} | "
                     f"{k['extension']} |")
    return lines


def tallies(claims: list[dict], check: dict | None = None) -> dict[Path, str]:
    """The tally snippets: ``book/_tally.md`` for the intro, ``book/<chapter>/_tally.md`` for each chapter page."""
    found = {BOOK / TALLY: tally(claims, check, "Every claim, with its evidence: the [claims page](claims.md).")}
    for chapter in CHAPTERS:
        if (BOOK / chapter).is_dir():
            found[BOOK / chapter / TALLY] = tally(
                [c for c in claims if c["chapter"] == chapter], check,
                f"Every claim of this chapter, with its test, measurement and evidence: {{ref}}`the claims page "
                f"<claims-{chapter}>`.")
    return found


def load_seed_check() -> dict | None:
    return json.loads(SEED_CHECK.read_text()) if SEED_CHECK.exists() else None


def write(claims: list[dict]) -> None:
    """Write the claims page and the tally snippets."""
    check = load_seed_check()
    PAGE.write_text(render(claims, check))
    for path, text in tallies(claims, check).items():
        path.write_text(text)


def seed_run_record(seed: int, claims: list[dict], commit: str) -> dict:
    """One seed's entry of the seed check: every claim's verdict and measurement at ``seed``."""
    return {"seed": seed, "commit": commit,
            "claims": {c["id"]: {"verdict": c["verdict"], "measured": c["measured"]} for c in claims}}


def seed_check(seeds: list[int], log=print, workers: int = 1, scheduler: str | None = None) -> dict:
    """Rerun the whole book at the book profile at each of ``seeds`` (one :func:`sweep.run_seeds` run in a
    temporary folder), store every claim's verdict per seed in ``book/seed_check.json`` and regenerate the claims
    page."""
    from . import runner, sweep

    if not seeds or len(set(seeds)) != len(seeds) or 0 in seeds:
        raise ValueError(f"seeds must be distinct and differ from the record's seed 0, got {seeds}")
    with tempfile.TemporaryDirectory() as tmp:
        results = sweep.run_seeds(None, "book", seeds, Path(tmp) / "seed-check", workers=workers,
                                  scheduler=scheduler, log=log)
    claims, commit = sweep.by_seed(results), sweep.commits(results)
    check = {"record_seed": 0, "runs": [seed_run_record(s, claims[s], commit[s]) for s in seeds]}
    SEED_CHECK.write_text(json.dumps(check, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    write(runner.committed_claims())
    return check
