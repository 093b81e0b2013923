"""The claims dashboard ``book/claims.md``: every claim of the committed record in one table, generated, never typed.

``lora-companion record`` regenerates it after re-executing notebooks; a test checks that the committed page equals
what the committed notebooks generate. ``lora-companion seed-check SEED [SEED ...]`` reruns the whole book at other
seeds and stores each claim's verdict there in ``book/seed_check.json``; the page shows, per claim, how many of the
seeds (the record's included) reach the record's verdict. Tallies count theorem and empirical claims only
(:data:`claims.COUNTED`); sanity checks and extensions are listed apart.
"""
from __future__ import annotations

import importlib
import json
import tempfile
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from .book import BOOK, CHAPTERS
from .claims import COUNTED, VERDICTS

PAGE = BOOK / "claims.md"
SEED_CHECK = BOOK / "seed_check.json"
TITLES = {"preliminaries": "Preliminaries", "ntk_landscape": "NTK landscape (Jang, Lee, Ryu 2024)",
          "lora_one": "LoRA-One (Zhang, Liu, Chen 2025)", "fails_loudly": "Fails loudly (Kim, Kim, Ryu 2025)",
          "rank_one": "Rank-1 student–teacher (Dayi, Chen 2025)"}
MARK = {"reproduced": "✅ reproduced", "not reproduced": "❌ not reproduced", "inconclusive": "❔ inconclusive"}


def _cell(text, code: bool = False) -> str:
    """Text for one table cell: pipes escaped, and (outside code spans) the * and _ of the math too."""
    text = str(text).replace("|", "\\|").replace("\n", " ")
    return text if code else text.replace("*", "\\*").replace("_", "\\_")


def counted(claims: list[dict]) -> list[dict]:
    """The claims that count as reproductions (theorem and empirical)."""
    return [c for c in claims if c.get("kind") in COUNTED]


def summary(claims: list[dict]) -> str:
    """Tally of the theorem and empirical claims, and how many sanity checks and extensions are shown apart."""
    main = counted(claims)
    counts = Counter(c["verdict"] for c in main)
    other = Counter(c.get("kind") for c in claims if c not in main)
    text = f"**{len(main)} theorem and empirical claims**: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
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


def seed_summary(claims: list[dict], check: dict) -> str:
    """One sentence: how many theorem/empirical verdicts agree across the record's seed and the checked seeds."""
    main = counted(claims)
    stable = [c for c in main if all(v == c["verdict"] for v in seed_verdicts(c, check).values())
              and len(seed_verdicts(c, check)) == len(check["runs"])]
    differ = [c["id"] for c in main if c not in stable]
    seeds = ", ".join(str(r["seed"]) for r in check["runs"])
    text = (f"Reruns of the whole book at seeds {seeds} (book profile), against the record's seed "
            f"{check.get('record_seed', 0)}: **{len(stable)} of {len(main)} theorem and empirical verdicts agree at "
            f"every seed**")
    return text + (f"; not stable: {', '.join(differ)}" if differ else "")


def threshold_changes() -> list[dict]:
    """Every threshold changed after a run had been seen, from each chapter's ``thresholds.THRESHOLD_CHANGES``."""
    found = []
    for chapter in CHAPTERS:
        try:
            module = importlib.import_module(f"lora_companion.experiments.{chapter}.thresholds")
        except ModuleNotFoundError:
            continue
        found += [{"chapter": chapter, **asdict(t)} for t in getattr(module, "THRESHOLD_CHANGES", [])]
    return found


def render(claims: list[dict], check: dict | None = None) -> str:
    """The Markdown (MyST) page for a list of claim records (as ``lora-companion claims --json`` prints them) and,
    optionally, the verdicts of a rerun at another seed (the content of ``seed_check.json``)."""
    lines = ["<!-- Generated from the committed notebooks by `lora-companion record` (lora_companion.dashboard). "
             "Do not edit by hand. -->", "", "# Claims", "",
             "Every claim of the book, with the test we ran, the value we measured and the verdict. The claim column "
             "states the paper's claim in our words and cites where it comes from. In the evidence column, click the "
             "figure number to see the figure, or the notebook to see the run; every notebook page starts with the "
             "commands that rerun it.", "", summary(claims) + "."]
    if check:
        lines += ["", seed_summary(claims, check) + ". The seeds column counts the seeds (the record's included) "
                  "that reach the record's verdict."]
    lines.append("")
    for chapter in CHAPTERS:
        rows = [c for c in claims if c["chapter"] == chapter]
        if not rows:
            continue
        lines += [f"## {TITLES.get(chapter, chapter)}", "", summary(rows) + ".", "",
                  "| Claim | Kind | Our test | Measured | Verdict | Seeds agree | Evidence |",
                  "|---|---|---|---|---|---|---|"]
        for c in sorted(rows, key=lambda c: c.get("kind") not in COUNTED):
            source = "" if c["paper"] == "companion" else f" {{cite:p}}`{c['paper']}`"
            kind = c.get("kind", "") + (f" ({_cell(c['source'])})" if c.get("source") else "")
            evidence = [f"{{numref}}`{c['figure']}`"] if c.get("figure") else []
            evidence.append(f"[{c['notebook'].split('/')[-1]}]({c['notebook']}.ipynb)")
            lines.append("| " + " | ".join([f"**{_cell(c['id'])}**: {_cell(c['statement'])}{source}", kind,
                                            _cell(c["test"]), f"`{_cell(c['measured'], code=True)}`",
                                            MARK[c["verdict"]], _agreement(c, check), ", ".join(evidence)]) + " |")
        lines.append("")
    changes = threshold_changes()
    lines += ["## Thresholds changed after a run", ""]
    if changes:
        lines += ["| Chapter | Threshold | Old | New | Why |", "|---|---|---|---|---|"]
        lines += [f"| {t['chapter']} | `{t['name']}` | {_cell(t['old'])} | {_cell(t['new'])} | {_cell(t['reason'])} |"
                  for t in changes]
    else:
        lines.append("None: every threshold was fixed before the runs it decides.")
    lines.append("")
    return "\n".join(lines)


def load_seed_check() -> dict | None:
    return json.loads(SEED_CHECK.read_text()) if SEED_CHECK.exists() else None


def write(claims: list[dict]) -> None:
    PAGE.write_text(render(claims, load_seed_check()))


def seed_run_record(seed: int, results: dict) -> dict:
    """One seed's entry of the seed check, from the ``results.json`` content of the book's run at ``seed``."""
    commits = {nb["provenance"].get("commit", "unknown") for nb in results["notebooks"]}
    return {"seed": seed, "commit": ", ".join(sorted(commits)),
            "claims": {c["id"]: {"verdict": c["verdict"], "measured": c["measured"]} for c in results["claims"]}}


def seed_check(seeds: list[int], log=print) -> dict:
    """Rerun the whole book at the book profile at each of ``seeds`` (in temporary folders), store every claim's
    verdict per seed in ``book/seed_check.json`` and regenerate the claims page."""
    from . import runner

    if not seeds or len(set(seeds)) != len(seeds) or 0 in seeds:
        raise ValueError(f"seeds must be distinct and differ from the record's seed 0, got {seeds}")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            log(f"seed {seed}")
            results = runner.run(runner.plan(None, "book", [("seed", str(seed))]), Path(tmp) / f"seed{seed}", "book",
                                 log=log)
            runs.append(seed_run_record(seed, results))
    check = {"record_seed": 0, "runs": runs}
    SEED_CHECK.write_text(json.dumps(check, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    write(runner.committed_claims())
    return check
