"""``make bench``: each chapter's main experiment against a straightforward reference, timed in one process.

A benchmark is a module ``benchmarks/bench_<chapter>.py`` that defines

- ``WORK`` — one sentence: what both sides compute (the same work);
- ``package()`` — the package's experiment function at a fixed mid-size configuration;
- ``reference()`` — the same work as a reader would write it (numpy or autograd, one run at a time);
- ``flops() -> float`` — the arithmetic of that work, counted from the algorithm (multiply-adds × 2);
- optionally ``agree(package_result, reference_result) -> bool`` — the two computed the same thing;
- optionally ``DTYPE`` (``"float64"``, default, or ``"float32"``) — the precision, for the peak it is held to.

Timing: ``timeit`` (garbage collector off), one warm-up call, then the minimum of :data:`REPEAT` calls — the
least-disturbed run, the usual estimator on a shared machine. Both sides run on one CPU thread, as the book does
(``provenance.setup``): torch's intra-op threads and every BLAS numpy or torch loaded (``threadpoolctl``) are
limited to one. The machine's peak is the best of :data:`REPEAT` ``n × n`` matrix products
(``2n³`` flops) at the benchmark's precision on the same thread. ``timeit`` rather than ``pytest-benchmark``: the
quantity reported is a ratio of two timings of paired work plus an arithmetic estimate, written to a JSON the book
renders; a short harness says exactly how each number is obtained and adds no dependency.

``python -m lora_companion.bench [CHAPTER ...]`` prints the table and writes ``book/performance.json`` and
``book/_performance_table.md`` (included by the Performance appendix); review and commit them like the record.
"""
from __future__ import annotations

import gc
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit
from datetime import datetime, timezone
from pathlib import Path

from .book import BOOK, CHAPTERS, ROOT

REPEAT = 3
PEAK_N = 1024
BENCH_DIR = ROOT / "benchmarks"
RESULTS = BOOK / "performance.json"
TABLE = BOOK / "_performance_table.md"


def best_time(fn, repeat: int = REPEAT) -> tuple[float, object]:
    """Result of one warm-up call of ``fn`` and the minimum wall time, seconds, of ``repeat`` further calls."""
    result = fn()
    times = timeit.Timer(fn).repeat(repeat=repeat, number=1)
    return min(times), result


def peak_flops(dtype: str = "float64", n: int = PEAK_N) -> float:
    """The machine's attainable rate, flop/s: best of :data:`REPEAT` n×n products on one thread."""
    import torch

    a, b = (torch.randn(n, n, dtype=getattr(torch, dtype)) for _ in range(2))
    t, _ = best_time(lambda: a @ b)
    return 2.0 * n ** 3 / t


def machine() -> dict:
    """What the numbers were measured on: CPU model, cores, threads used, library versions."""
    import numpy
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": 1, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": numpy.__version__, "os": f"{platform.system()} {platform.release()}"}


def load(path: Path):
    """Import a benchmark module from its file and check it defines what :mod:`bench` needs."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    missing = [n for n in ("WORK", "package", "reference", "flops") if not hasattr(mod, n)]
    if missing:
        raise AttributeError(f"{path}: a benchmark module must define {', '.join(missing)}")
    return mod


def measure(mod, chapter: str, peaks: dict[str, float]) -> dict:
    """Time ``mod.package`` and ``mod.reference``; their ratio, arithmetic, achieved rate and fraction of peak."""
    dtype = getattr(mod, "DTYPE", "float64")
    if dtype not in peaks:
        peaks[dtype] = peak_flops(dtype)
    t_pkg, r_pkg = best_time(mod.package)
    t_ref, r_ref = best_time(mod.reference)
    gc.collect()
    agree = bool(mod.agree(r_pkg, r_ref)) if hasattr(mod, "agree") else None
    flops = float(mod.flops())
    return {"chapter": chapter, "work": mod.WORK, "dtype": dtype, "package_s": t_pkg, "reference_s": t_ref,
            "speedup": t_ref / t_pkg, "flops": flops, "flops_per_s": flops / t_pkg,
            "peak_fraction": flops / t_pkg / peaks[dtype], "agree": agree}


def run(chapters: list[str] | None = None, log=print) -> dict:
    """Measure every ``benchmarks/bench_<chapter>.py`` (or those of ``chapters``) and return the results."""
    import torch
    from threadpoolctl import threadpool_limits

    from .allocator import keep_freed_memory
    from .provenance import git_commit

    torch.set_num_threads(1)
    keep_freed_memory()   # as every notebook does (provenance.setup); the same for package and reference
    with threadpool_limits(1):
        return _run(chapters, log, git_commit())


def export_time() -> dict:
    """Wall time of ``lora-companion figures export`` of the committed record, from a cold start of the CLI."""
    cli = Path(sys.executable).with_name("lora-companion")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        done = subprocess.run([str(cli), "figures", "export", "--out", str(Path(tmp) / "figs")],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if done.returncode:
            return {"seconds": None, "figures": 0, "error": done.stderr.strip().splitlines()[-1]}
        return {"seconds": seconds, "figures": len(json.loads((Path(tmp) / "figs" / "index.json").read_text()))}


def _run(chapters, log, commit: str) -> dict:
    order = {c: i for i, c in enumerate(CHAPTERS)}
    paths = sorted(BENCH_DIR.glob("bench_*.py"), key=lambda p: (order.get(p.stem[len("bench_"):], len(order)), p.stem))
    if chapters:
        unknown = set(chapters) - {p.stem[len("bench_"):] for p in paths}
        if unknown:
            raise KeyError(f"no benchmarks/bench_<chapter>.py for {sorted(unknown)}")
        paths = [p for p in paths if p.stem[len("bench_"):] in chapters]
    peaks = {"float64": peak_flops("float64")}
    rows = []
    for path in paths:
        chapter = path.stem[len("bench_"):]
        log(f"[bench] {chapter} …")
        rows.append(measure(load(path), chapter, peaks))
    log("[bench] figures export of the record …")
    return {"machine": machine(), "peak_flops": peaks, "export": export_time(), "peak_n": PEAK_N, "repeat": REPEAT,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "commit": commit, "benchmarks": rows}


def _seconds(t: float) -> str:
    return f"{t:.3g} s" if t >= 0.01 else f"{t * 1e3:.3g} ms"


def table(results: dict) -> str:
    """The results as a MyST Markdown table with the machine they were measured on."""
    m, peaks = results["machine"], results["peak_flops"]
    lines = [
        f"Measured on **{m['cpu']}** ({m['cores']} cores; {m['threads']} thread used, as the book runs), "
        f"{m['os']}, Python {m['python']}, torch {m['torch']}, numpy {m['numpy']}; {results['date']}, "
        f"commit `{results['commit']}`. Peak (best {results['repeat']} × {results['peak_n']}² matrix product, "
        "1 thread): " + ", ".join(f"{p / 1e9:.1f} GFLOP/s ({d})" for d, p in peaks.items()) + ".",
        "",
        "| Chapter | Package | Reference | Speed-up | GFLOP | % of peak | Agree |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results["benchmarks"]:
        same = {True: "yes", False: "**no**", None: "—"}[r["agree"]]
        lines.append(f"| {r['chapter']} | {_seconds(r['package_s'])} | {_seconds(r['reference_s'])} "
                     f"| {r['speedup']:.1f}× | {r['flops'] / 1e9:.3g} | {100 * r['peak_fraction']:.2g} | {same} |")
    lines += ["", "What runs, on both sides:", ""]
    lines += [f"- **{r['chapter']}** — {r['work']}." for r in results["benchmarks"]]
    ex = results["export"]
    lines += ["", f"`lora-companion figures export` of the committed record (cold start, nothing executed): "
              + (f"{ex['figures']} figures × 3 formats in {ex['seconds']:.1f} s." if ex["seconds"] is not None
                 else f"failed: {ex['error']}")]
    return "\n".join(lines) + "\n"


def write(results: dict, results_path: Path = RESULTS, table_path: Path = TABLE) -> None:
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    table_path.write_text("<!-- generated by `make bench` (lora_companion/bench.py) from performance.json -->\n\n"
                          + table(results))


def main(argv: list[str] | None = None) -> int:
    results = run(list(argv if argv is not None else sys.argv[1:]) or None)
    text = table(results)
    print(text)
    write(results)
    print(f"wrote {RESULTS.relative_to(ROOT)} and {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
