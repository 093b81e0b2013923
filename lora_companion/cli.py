"""``lora-companion``: list, run, record, claims, seed-check, sweep, figures export, build.

    lora-companion [--debug] [--version]
    lora-companion list [--json]
    lora-companion run TARGET [--profile smoke|book|paper] [-p NAME VALUE]... [--out DIR] [--dry-run]
                       [--workers N | --scheduler ADDRESS]
    lora-companion record [TARGET] [--workers N | --scheduler ADDRESS]
    lora-companion claims [--chapter C] [--verdict V] [--kind K] [--json] [--fail-on VERDICT]...
    lora-companion seed-check SEED [SEED ...] [--workers N | --scheduler ADDRESS]
    lora-companion sweep TARGET --seeds 0-15 [--profile P] [--out DIR] [--workers N | --scheduler ADDRESS]
    lora-companion figures export [--from RUN | --target TARGET] --out DIR
    lora-companion build

Every failure is one line ``lora-companion: error: …`` on stderr with an exit status from :data:`EXIT` (a traceback
only with ``--debug``). torch is imported only by the commands that execute or export (not by ``--help``,
``list``, ``claims``).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from . import __version__, runner
from .book import CHAPTERS, ROOT, notebooks
from .claims import KINDS, VERDICTS
from .ledger import LedgerError
from .params import MEMORY_LIMIT, PROFILES, ParameterError

#: exit statuses (documented in the README, "Errors and exit codes")
EXIT = {"ok": 0, "fail-on": 1, "usage": 2, "output": 3, "run": 4, "record": 5, "internal": 70, "interrupted": 130,
        "terminated": 143}


def _list(args) -> None:
    if args.json:
        print(json.dumps([{"chapter": ch, "notebooks": [{"id": nb, "parameters": runner.parameter_table(nb)}
                                                        for nb in notebooks(ch)]} for ch in CHAPTERS],
                         indent=2, ensure_ascii=False))
        return
    for chapter in CHAPTERS:
        print(chapter)
        for nb in notebooks(chapter):
            print(f"  {nb}")
            for p in runner.parameter_table(nb):
                bounds = ", ".join(f"{k}={v}" for k, v in p["bounds"].items())
                print(f"      {p['name']}: {p['type']} = {p['default']}  # {p['help']}" + (f"  [{bounds}]" if bounds else ""))


def _run(args) -> None:
    if args.dry_run:   # report every notebook, then refuse as the real run would if any is above the guard
        large = []
        for job in runner.plan(args.target, args.profile, args.param, allow_large=True):
            memory = f"~{job.memory / 2**20:.1f} MiB largest tensor" if job.memory is not None else "memory not declared"
            if job.memory is not None and job.memory > MEMORY_LIMIT and not args.allow_large:
                memory += f" (above the {MEMORY_LIMIT / 2**30:.0f} GiB guard)"
                large.append(job.notebook)
            print(f"{job.notebook}: valid at the {args.profile} profile, {memory}; "
                  f"{json.dumps(job.parameters) if job.parameters else '(book defaults)'}")
        if large:
            raise ParameterError(f"{', '.join(large)} above the {MEMORY_LIMIT / 2**30:.0f} GiB memory guard; pass "
                                 "--allow-large to run anyway")
        return
    jobs = runner.plan(args.target, args.profile, args.param, args.allow_large)
    out = runner.check_out(Path(args.out) if args.out else runner.default_out(args.target, args.profile))
    print(f"run {args.target} at the {args.profile} profile into {out}")
    results = runner.run(jobs, out, args.profile, workers=args.workers, scheduler=args.scheduler)
    counts = {}
    for c in results["claims"]:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    print(f"{len(results['claims'])} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    print(f"results: {out / 'results.json'}")


def _record(args) -> None:
    runner.record(args.target, workers=args.workers, scheduler=args.scheduler)
    print("record updated: review with `git diff book/` and commit")


def _seed_check(args) -> None:
    from .dashboard import seed_check, seed_summary

    check = seed_check(args.seeds, workers=args.workers, scheduler=args.scheduler)
    print(seed_summary(runner.committed_claims(), check))


def _sweep(args) -> None:
    from . import sweep

    seeds = sweep.parse_seeds(args.seeds)
    out = runner.check_out(Path(args.out) if args.out else runner.default_out(f"{args.target}-sweep", args.profile))
    print(f"sweep {args.target} at the {args.profile} profile over {len(seeds)} seeds into {out}")
    results = sweep.run_seeds(args.target, args.profile, seeds, out, workers=args.workers, scheduler=args.scheduler)
    rows = sweep.agreement(sweep.by_seed(results))
    table, summary = sweep.write_tables(sweep.by_seed(results), out)
    unanimous = sum(r["agree"] == r["seeds"] for r in rows)
    print(f"{unanimous} of {len(rows)} claims reach the same verdict at every seed")
    print(f"table: {table}\nagreement: {summary}")


def _claims(args) -> int:
    claims = [c for c in runner.committed_claims()
              if (not args.chapter or c["chapter"] == args.chapter) and (not args.verdict or c["verdict"] == args.verdict)
              and (not args.kind or c["kind"] == args.kind)]
    if args.json:
        print(json.dumps(claims, indent=2, ensure_ascii=False))
    else:
        for c in claims:
            print(f"{c['verdict']:<15} {c['chapter']:<14} {c['id']:<36} measured={c['measured']}")
        print(f"{len(claims)} claims")
    failing = [c["id"] for c in claims if c["verdict"] in args.fail_on]
    if failing:
        print(f"lora-companion: error: {len(failing)} claim(s) {' or '.join(args.fail_on)}: {', '.join(failing)}",
              file=sys.stderr)
        return EXIT["fail-on"]
    return EXIT["ok"]


def _export(args) -> None:
    from .figure_export import export, export_record

    index = export(Path(args.source), Path(args.out)) if args.source else export_record(Path(args.out), args.target)
    print(f"exported {len(index)} figures (PNG, PDF, SVG) with index.json, index.csv and figures.bib to {args.out}")


def _build(args) -> None:
    runner.committed_claims()   # a tampered record (forged verdict, deleted claims output) is refused, not rendered
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True)
    print(f"HTML: {ROOT / '_build' / 'html' / 'index.html'}")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lora-companion", description="LoRA Theory, Reproduced: run and inspect the book",
                                 epilog="exit status: " + ", ".join(f"{v} {k}" for k, v in EXIT.items()))
    ap.add_argument("--version", action="version", version=f"lora-companion {__version__}")
    ap.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = ap.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="chapters, notebooks and their parameters")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=_list)
    r = sub.add_parser("run", help="execute a notebook or chapter into a new run folder")
    r.add_argument("target", help="a chapter (e.g. ntk_landscape) or a notebook id (e.g. preliminaries)")
    r.add_argument("--profile", choices=PROFILES, default="book")
    r.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a parameter (repeatable)")
    r.add_argument("--out", help="run folder to create (default: runs/<target>-<profile>-<time>)")
    r.add_argument("--dry-run", action="store_true", help="validate every parameter, print each notebook's "
                   "estimated largest tensor, and stop before any kernel")
    r.add_argument("--allow-large", action="store_true", help="run even above the memory guard (8 GiB estimated)")
    r.set_defaults(func=_run)
    workers = {"type": int, "default": os.cpu_count() or 1, "metavar": "N",
               "help": "local Dask workers, one notebook each at a time (default: the machine's cores; 1 = serial "
                       "in this process; results identical to serial)"}
    scheduler = {"metavar": "ADDRESS", "help": "run the notebooks on the Dask cluster at ADDRESS (e.g. "
                 "tcp://10.0.0.5:8786) instead of local workers; its workers need the package installed"}
    r.add_argument("--workers", **workers)
    r.add_argument("--scheduler", **scheduler)
    rec = sub.add_parser("record", help="re-execute the committed notebooks at the book profile (rewrites book/)")
    rec.add_argument("target", nargs="?", help="a chapter or notebook id (default: the whole book)")
    rec.add_argument("--workers", **workers)
    rec.add_argument("--scheduler", **scheduler)
    rec.set_defaults(func=_record)
    sc = sub.add_parser("seed-check", help="rerun the whole book at other seeds; record verdict agreement on the "
                        "claims page (rewrites book/seed_check.json and book/claims.md)")
    sc.add_argument("seeds", type=int, nargs="+", metavar="SEED")
    sc.add_argument("--workers", **workers)
    sc.add_argument("--scheduler", **scheduler)
    sc.set_defaults(func=_seed_check)
    sw = sub.add_parser("sweep", help="run a chapter or notebook over many seeds into one run folder; write the "
                        "claims × seeds table (sweep.csv) and each claim's agreement over seeds (agreement.csv)")
    sw.add_argument("target", help="a chapter or notebook id")
    sw.add_argument("--profile", choices=PROFILES, default="book")
    sw.add_argument("--seeds", required=True, help="seeds: a range 0-15, a list 0,3,5, or both (0-3,8)")
    sw.add_argument("--out", help="run folder to create (default: runs/<target>-sweep-<profile>-<time>)")
    sw.add_argument("--workers", **workers)
    sw.add_argument("--scheduler", **scheduler)
    sw.set_defaults(func=_sweep)
    c = sub.add_parser("claims", help="every claim in the committed record")
    c.add_argument("--chapter", choices=CHAPTERS, help="only this chapter")
    c.add_argument("--verdict", choices=VERDICTS, help="only this verdict")
    c.add_argument("--kind", choices=KINDS, help="only this kind")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.add_argument("--fail-on", action="append", default=[], choices=VERDICTS, metavar="VERDICT",
                   help="exit with status 1 if a (selected) claim has this verdict (repeatable; for CI)")
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


def _message(err: BaseException) -> tuple[str, int]:
    """The one-line message and exit status of a failure."""
    if isinstance(err, KeyError):
        return str(err.args[0] if err.args else err), EXIT["usage"]
    if isinstance(err, LedgerError):
        return f"corrupted record: {err}", EXIT["record"]
    if isinstance(err, (ParameterError, ValueError)):
        return str(err), EXIT["usage"]
    if isinstance(err, runner.RunError):
        return str(err), EXIT["run"]
    if isinstance(err, (FileExistsError, runner.OutputError)):
        return str(err), EXIT["output"]
    if isinstance(err, subprocess.CalledProcessError):
        return f"{Path(err.cmd[0]).name} failed with status {err.returncode}", err.returncode or EXIT["run"]
    if isinstance(err, OSError):
        where = f" {err.filename}" if err.filename else ""
        return f"{err.strerror or type(err).__name__}:{where}", EXIT["output"]
    return f"internal error: {type(err).__name__}: {err} (rerun with --debug for the traceback)", EXIT["internal"]


def _terminate(signum, frame):
    raise SystemExit(EXIT["terminated"])


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)  # so staging folders are cleaned as on Ctrl-C
    try:
        return args.func(args) or EXIT["ok"]
    except BrokenPipeError:  # `lora-companion claims | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT["ok"]
    except KeyboardInterrupt:
        print("lora-companion: error: interrupted; nothing was left half-written", file=sys.stderr)
        return EXIT["interrupted"]
    except SystemExit as stop:
        if stop.code == EXIT["terminated"]:
            # staging is already removed and the kernel shut down (the `finally` blocks ran on the way here); exit
            # now, so that no late log of the dead kernel's asyncio tasks follows our one-line message
            print("lora-companion: error: terminated; nothing was left half-written", file=sys.stderr, flush=True)
            os._exit(EXIT["terminated"])
        raise
    except Exception as err:
        if args.debug:
            raise
        msg, code = _message(err)
        print(f"lora-companion: error: {msg}", file=sys.stderr)
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
