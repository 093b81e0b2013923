"""The benchmark harness (lora_companion.bench): timing, ratio, arithmetic rate, the table the book shows, and
the contract every benchmarks/bench_<chapter>.py module follows."""
import time
from types import SimpleNamespace

import pytest

from lora_companion import bench


def _module(t_pkg, t_ref, same=True):
    return SimpleNamespace(WORK="sleep", package=lambda: time.sleep(t_pkg) or 1,
                           reference=lambda: time.sleep(t_ref) or 1, flops=lambda: 1e9, agree=lambda p, r: same)


def test_measure_reports_the_ratio_rate_and_fraction_of_peak():
    row = bench.measure(_module(0.02, 0.06), "toy", {"float64": 1e11})
    assert row["package_s"] >= 0.02 and row["reference_s"] >= 0.06
    assert 2.0 < row["speedup"] < 3.5                                   # 0.06 / 0.02, plus overheads
    assert row["flops_per_s"] == pytest.approx(1e9 / row["package_s"])
    assert row["peak_fraction"] == pytest.approx(row["flops_per_s"] / 1e11)
    assert row["agree"] is True and row["dtype"] == "float64"


def test_the_table_names_the_machine_and_flags_disagreement(tmp_path):
    rows = [bench.measure(_module(0.001, 0.002, same=False), "toy", {"float64": 1e11})]
    results = {"machine": {"cpu": "Test CPU", "cores": 2, "threads": 1, "python": "3", "torch": "2", "numpy": "2",
                           "os": "Linux"}, "peak_flops": {"float64": 1e11}, "peak_n": 8, "repeat": 3,
               "date": "2026-01-01", "commit": "abc", "benchmarks": rows,
               "export": {"seconds": 2.5, "figures": 30}}
    text = bench.table(results)
    assert "Test CPU" in text and "100.0 GFLOP/s (float64)" in text and "- **toy** — sleep." in text
    assert "**no**" in text and "30 figures × 3 formats in 2.5 s" in text
    bench.write(results, tmp_path / "p.json", tmp_path / "t.md")
    assert (tmp_path / "t.md").read_text().endswith(text)


def test_peak_is_a_positive_rate():
    assert bench.peak_flops("float64", n=64) > 1e6


def test_every_benchmark_module_defines_the_contract(tmp_path):
    paths = sorted(bench.BENCH_DIR.glob("bench_*.py"))
    assert paths, "benchmarks/ holds no bench_<chapter>.py"
    for path in paths:
        mod = bench.load(path)
        assert isinstance(mod.WORK, str) and mod.WORK and mod.flops() > 0
    incomplete = tmp_path / "bench_toy.py"
    incomplete.write_text("WORK = 'x'\ndef package(): pass\ndef reference(): pass\n")
    with pytest.raises(AttributeError, match="flops"):
        bench.load(incomplete)
