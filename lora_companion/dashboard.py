"""The claims dashboard ``book/claims.md``: every claim of the committed record in one table, generated, never typed.

``lora-companion record`` regenerates it after re-executing notebooks; a test checks that the committed page equals
what the committed notebooks generate. ``lora-companion seed-check SEED`` reruns the whole book at another seed and
stores each claim's verdict there in ``book/seed_check.json``; the page shows where the verdicts differ.
"""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

from .book import BOOK, CHAPTERS
from .claims import VERDICTS

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


def summary(claims: list[dict]) -> str:
    counts = Counter(c["verdict"] for c in claims)
    return f"**{len(claims)} claims**: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)


def _other_seed(c: dict, check: dict | None) -> str:
    other = (check or {}).get("claims", {}).get(c["id"])
    if other is None:
        return "not checked"
    if other["verdict"] == c["verdict"]:
        return "same"
    return f"⚠ {other['verdict']} (`{_cell(other['measured'], code=True)}`)"


def seed_summary(claims: list[dict], check: dict) -> str:
    same = [c for c in claims if check["claims"].get(c["id"], {}).get("verdict") == c["verdict"]]
    differ = [c["id"] for c in claims if c["id"] in check["claims"] and c not in same]
    text = (f"Rerun of the whole book at seed {check['seed']} (book profile, commit `{check['commit']}`): "
            f"**{len(same)} of {len(claims)} claims reach the same verdict**")
    return text + (f"; different: {', '.join(differ)}" if differ else "")


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
        lines += ["", seed_summary(claims, check) + ". A verdict that changes with the seed is fragile at the book "
                  "profile: read it as a statement about that seed, not about the paper."]
    lines.append("")
    seed_col = f"Seed {check['seed']}" if check else "Other seed"
    for chapter in CHAPTERS:
        rows = [c for c in claims if c["chapter"] == chapter]
        if not rows:
            continue
        lines += [f"## {TITLES.get(chapter, chapter)}", "", summary(rows) + ".", "",
                  f"| Claim | Our test | Measured | Verdict | {seed_col} | Evidence |",
                  "|---|---|---|---|---|---|"]
        for c in rows:
            source = "" if c["paper"] == "companion" else f" {{cite:p}}`{c['paper']}`"
            evidence = [f"{{numref}}`{c['figure']}`"] if c.get("figure") else []
            evidence.append(f"[{c['notebook'].split('/')[-1]}]({c['notebook']}.ipynb)")
            lines.append("| " + " | ".join([f"**{_cell(c['id'])}**: {_cell(c['statement'])}{source}", _cell(c["test"]),
                                            f"`{_cell(c['measured'], code=True)}`", MARK[c["verdict"]],
                                            _other_seed(c, check), ", ".join(evidence)]) + " |")
        lines.append("")
    return "\n".join(lines)


def load_seed_check() -> dict | None:
    return json.loads(SEED_CHECK.read_text()) if SEED_CHECK.exists() else None


def write(claims: list[dict]) -> None:
    PAGE.write_text(render(claims, load_seed_check()))


def seed_check_record(seed: int, runs: list[dict]) -> dict:
    """The seed-check record from the ``results.json`` contents of runs at ``seed``."""
    commits = {nb["provenance"].get("commit", "unknown") for r in runs for nb in r["notebooks"]}
    return {"seed": seed, "commit": ", ".join(sorted(commits)),
            "claims": {c["id"]: {"verdict": c["verdict"], "measured": c["measured"]} for r in runs for c in r["claims"]}}


def seed_check(seed: int, log=print) -> dict:
    """Rerun the whole book at the book profile with ``seed`` (in a temporary folder), store every claim's verdict
    in ``book/seed_check.json`` and regenerate the claims page."""
    from . import runner

    with tempfile.TemporaryDirectory() as tmp:
        results = runner.run(runner.plan(None, "book", [("seed", str(seed))]), Path(tmp) / "run", "book", log=log)
    check = seed_check_record(seed, [results])
    SEED_CHECK.write_text(json.dumps(check, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    write(runner.committed_claims())
    return check
