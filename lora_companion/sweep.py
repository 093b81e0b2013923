"""Many seeds of one target in one run folder: ``lora-companion sweep`` and, for the whole book at the book
profile, ``lora-companion seed-check``.

Each seed's notebooks go to ``seed-<s>/`` in the run folder (their own figure files beside them); ``sweep.csv``
holds one row per claim and seed (verdict, measured) and ``agreement.csv`` one row per claim: its kind, the modal
verdict and the share of seeds that reach it.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

from . import runner
from .claims import COUNTED


def parse_seeds(text: str) -> list[int]:
    """``"0-15"``, ``"0,3,5"`` or a mix (``"0-3,8"``) → distinct seeds in the given order."""
    seeds: list[int] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m or (m[2] and int(m[2]) < int(m[1])):
            raise ValueError(f"--seeds: expected ranges like 0-15 or lists like 0,3,5 of non-negative integers, "
                             f"got {text!r}")
        seeds += range(int(m[1]), int(m[2] or m[1]) + 1)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds: a seed appears twice in {text!r}")
    return seeds


def run_seeds(target: str | None, profile: str, seeds: list[int], out: Path, *, workers: int = 1,
              scheduler: str | None = None, log=print) -> dict:
    """Execute ``target`` at every seed as one run into ``out`` (all notebooks × seeds as one batch of tasks);
    return the run's results (each claim and notebook tagged with its ``seed-<s>`` folder)."""
    if not seeds:
        raise ValueError("--seeds: no seed given")
    jobs = [replace(job, subdir=f"seed-{s}") for s in seeds
            for job in runner.plan(target, profile, [("seed", str(s))])]
    return runner.run(jobs, out, profile, log=log, workers=workers, scheduler=scheduler)


def by_seed(results: dict) -> dict[int, list[dict]]:
    """The claims of a :func:`run_seeds` run, per seed."""
    out: dict[int, list[dict]] = {}
    for c in results["claims"]:
        out.setdefault(int(c["run"].removeprefix("seed-")), []).append(c)
    return out


def commits(results: dict) -> dict[int, str]:
    """Per seed, the commit(s) its notebooks ran at (from their provenance)."""
    found: dict[int, set] = {}
    for nb in results["notebooks"]:
        seed = int(Path(nb["file"]).parts[0].removeprefix("seed-"))
        found.setdefault(seed, set()).add(nb["provenance"].get("commit", "unknown"))
    return {s: ", ".join(sorted(c)) for s, c in found.items()}


def agreement(per_seed: dict[int, list[dict]]) -> list[dict]:
    """Per claim: kind, modal verdict, seeds reaching it, seeds run (claims in seed order of first appearance)."""
    verdicts: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for claims in per_seed.values():
        for c in claims:
            verdicts.setdefault(c["id"], []).append(c["verdict"])
            kinds[c["id"]] = c.get("kind", "")
    rows = []
    for cid, vs in verdicts.items():
        modal, n = Counter(vs).most_common(1)[0]
        rows.append({"claim": cid, "kind": kinds[cid], "counted": kinds[cid] in COUNTED, "modal verdict": modal,
                     "agree": n, "seeds": len(vs), "share": round(n / len(vs), 3)})
    return rows


def write_tables(per_seed: dict[int, list[dict]], out: Path) -> tuple[Path, Path]:
    """``sweep.csv`` (claim × seed) and ``agreement.csv`` in ``out``."""
    table, summary = out / "sweep.csv", out / "agreement.csv"
    with table.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seed", "chapter", "notebook", "claim", "kind", "verdict", "measured"])
        for seed, claims in per_seed.items():
            for c in claims:
                w.writerow([seed, c["chapter"], c["notebook"], c["id"], c.get("kind", ""), c["verdict"], c["measured"]])
    rows = agreement(per_seed)
    with summary.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["claim"])
        w.writeheader()
        w.writerows(rows)
    return table, summary
