"""``lora-companion``: list, run, record, claims, figures export, build.

    lora-companion list
    lora-companion run TARGET [--profile smoke|book|paper] [-p NAME VALUE]... [--out DIR]
    lora-companion record [TARGET]
    lora-companion claims [--json]
    lora-companion seed-check SEED [SEED ...]
    lora-companion figures export [--from RUN | --target TARGET] --out DIR
    lora-companion build
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from . import runner
from .book import CHAPTERS, ROOT, notebooks
from .params import PROFILES, ParameterError


def _list(args) -> None:
    for chapter in CHAPTERS:
        print(chapter)
        for nb in notebooks(chapter):
            print(f"  {nb}")
            for p in runner.parameter_table(nb):
                bounds = ", ".join(f"{k}={v}" for k, v in p["bounds"].items())
                print(f"      {p['name']}: {p['type']} = {p['default']}  # {p['help']}" + (f"  [{bounds}]" if bounds else ""))


def _run(args) -> None:
    jobs = runner.plan(args.target, args.profile, args.param)
    out = runner.check_out(Path(args.out) if args.out else runner.default_out(args.target, args.profile))
    print(f"run {args.target} at the {args.profile} profile into {out}")
    results = runner.run(jobs, out, args.profile)
    counts = {}
    for c in results["claims"]:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    print(f"{len(results['claims'])} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    print(f"results: {out / 'results.json'}")


def _record(args) -> None:
    runner.record(args.target)
    print("record updated: review with `git diff book/` and commit")


def _seed_check(args) -> None:
    from .dashboard import seed_check, seed_summary

    check = seed_check(args.seeds)
    print(seed_summary(runner.committed_claims(), check))


def _claims(args) -> None:
    claims = runner.committed_claims()
    if args.json:
        print(json.dumps(claims, indent=2, ensure_ascii=False))
        return
    for c in claims:
        print(f"{c['verdict']:<15} {c['chapter']:<14} {c['id']:<36} measured={c['measured']}")
    print(f"{len(claims)} claims")


def _export(args) -> None:
    from .figure_export import export, export_record

    index = export(Path(args.source), Path(args.out)) if args.source else export_record(Path(args.out), args.target)
    print(f"exported {len(index)} figures (PNG, PDF, SVG) with index.json, index.csv and figures.bib to {args.out}")


def _build(args) -> None:
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True)
    print(f"HTML: {ROOT / '_build' / 'html' / 'index.html'}")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lora-companion", description="LoRA Theory, Reproduced: run and inspect the book")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="chapters, notebooks and their parameters").set_defaults(func=_list)
    r = sub.add_parser("run", help="execute a notebook or chapter into a new run folder")
    r.add_argument("target", help="a chapter (e.g. ntk_landscape) or a notebook id (e.g. preliminaries)")
    r.add_argument("--profile", choices=PROFILES, default="book")
    r.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a parameter (repeatable)")
    r.add_argument("--out", help="run folder to create (default: runs/<target>-<profile>-<time>)")
    r.set_defaults(func=_run)
    rec = sub.add_parser("record", help="re-execute the committed notebooks at the book profile (rewrites book/)")
    rec.add_argument("target", nargs="?", help="a chapter or notebook id (default: the whole book)")
    rec.set_defaults(func=_record)
    sc = sub.add_parser("seed-check", help="rerun the whole book at other seeds; record verdict agreement on the "
                        "claims page (rewrites book/seed_check.json and book/claims.md)")
    sc.add_argument("seeds", type=int, nargs="+", metavar="SEED")
    sc.set_defaults(func=_seed_check)
    c = sub.add_parser("claims", help="every claim in the committed record")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=_claims)
    fig = sub.add_parser("figures", help="citable figures").add_subparsers(dest="action", required=True)
    ex = fig.add_parser("export", help="every figure in PNG, PDF and SVG with an index and BibTeX")
    ex.add_argument("--from", dest="source", metavar="RUN", help="a run folder (default: re-execute the record's "
                    "notebooks at the book profile into a temporary run)")
    ex.add_argument("--target", help="with no --from: only this chapter or notebook")
    ex.add_argument("--out", required=True, help="folder to create")
    ex.set_defaults(func=_export)
    sub.add_parser("build", help="build the HTML book (strict)").set_defaults(func=_build)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (ParameterError, KeyError, FileExistsError, ValueError, runner.RunError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"lora-companion: error: {msg}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"lora-companion: error: {err}", file=sys.stderr)
        return err.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
