"""The runner and CLI: a smoke run end to end, determinism, and bad inputs refused before any kernel starts."""
import json
import os
import shutil
import signal
import subprocess
import time
import sys
from pathlib import Path

import nbformat
import pytest

from lora_companion import cli, dashboard, ledger, runner
from lora_companion.params import ParameterError

pytestmark = pytest.mark.slow


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def lora_companion(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lora_companion.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    """The same smoke run twice (the acceptance command of the foundation issue)."""
    base = tmp_path_factory.mktemp("runs")
    outs = []
    for name in ("a", "b"):
        proc = lora_companion("run", "preliminaries", "--profile", "smoke", "-p", "seed", "3", "--out", str(base / name))
        assert proc.returncode == 0, proc.stderr
        outs.append(base / name)
    return outs


def test_run_folder_contents(smoke_runs):
    out = smoke_runs[0]
    results = json.loads((out / "results.json").read_text())
    assert (out / "preliminaries.ipynb").is_file()
    nb_entry = results["notebooks"][0]
    assert nb_entry["parameters"]["seed"] == 3 and nb_entry["parameters"]["n_random"] == 16
    assert nb_entry["provenance"]["package"].startswith("lora_companion")
    ids = {c["id"] for c in results["claims"]}
    assert "prelim-balanced-nuclear" in ids and all(c["chapter"] == "preliminaries" for c in results["claims"])
    assert set(results["claims"][0]) == set(ledger.CLAIM_SCHEMA["required"])
    assert ledger.load_results(out / "results.json") == results
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())
    for fig in results["figures"]:
        assert fig["caption"] and fig["params"]["seed"] == 3
        for fmt in ("png", "pdf", "svg"):
            assert (out / "figures" / fig["files"][fmt]["file"]).stat().st_size > 0
    assert len(results["figures"]) == 4


def test_runs_are_deterministic(smoke_runs):
    a, b = (json.loads((o / "results.json").read_text()) for o in smoke_runs)
    assert a == b


@pytest.mark.parametrize("args, message", [
    (["-p", "bogus", "1"], "unknown parameter 'bogus'"),
    (["-p", "seed", "x"], "parameter 'seed' must be int"),
    (["-p", "m", "-4"], "parameter 'm' must be ≥ 2"),
    (["-p", "tau", "nan"], "parameter 'tau'"),
    (["-p", "rank", "500"], "rank <= min"),
    (["--profile", "huge"], "invalid choice"),
])
def test_bad_inputs_are_refused_before_execution(tmp_path, args, message):
    out = tmp_path / "run"
    proc = lora_companion("run", "preliminaries", *args, "--out", str(out))
    assert proc.returncode != 0 and message in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unknown_target_and_existing_folder(tmp_path):
    proc = lora_companion("run", "no_such_chapter", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "unknown target" in proc.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("earlier results")
    proc = lora_companion("run", "preliminaries", "--profile", "smoke", "--out", str(tmp_path / "full"))
    assert proc.returncode == cli.EXIT["output"] and "not empty" in proc.stderr
    assert (tmp_path / "full" / "keep.txt").read_text() == "earlier results"
    proc = lora_companion("run", "preliminaries", "--out", str(runner.BOOK / "x"))
    assert proc.returncode == 2 and "inside book/" in proc.stderr


def test_a_failing_notebook_leaves_no_complete_folder(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise RuntimeError('boom')")]
    src = tmp_path / "bad.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / "runs" / "bad-run"
    with pytest.raises(runner.RunError, match="boom"):
        runner.run([runner.Job("bad", src, {})], out, "smoke", progress=False, log=lambda *a: None)
    assert not out.exists() and list((tmp_path / "runs").iterdir()) == []


def test_plan_refuses_before_any_kernel():
    with pytest.raises(ParameterError, match="'n_random' must be ≥ 1"):
        runner.plan("preliminaries", "book", [("n_random", "0")])
    jobs = runner.plan("preliminaries", "smoke", [("seed", "5")])
    assert jobs[0].parameters["seed"] == 5 and jobs[0].parameters["m"] == 12


def test_claims_and_list_commands(capsys):
    assert cli.main(["claims", "--json"]) == 0
    claims = json.loads(capsys.readouterr().out)
    prelim = [c for c in claims if c["chapter"] == "preliminaries"]
    assert len(prelim) >= 5 and {c["verdict"] for c in prelim} <= {"reproduced", "not reproduced", "inconclusive"}
    assert cli.main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "preliminaries" in listing and "n_random: int = 256  # random factorizations" in listing


@pytest.mark.parametrize("profile", ["smoke", "book", "paper"])
def test_every_profile_of_every_notebook_validates(profile):
    """Every profile passes validation; only the paper profile may exceed the memory guard (it is sized for a GPU
    machine: --allow-large), and the book and smoke profiles never do."""
    jobs = runner.plan(None, profile, allow_large=profile == "paper")
    assert len(jobs) == len(runner.notebooks())
    if profile == "paper":
        assert all(j.parameters.get("device", "cuda") == "cuda" for j in jobs if "device" in runner.notebook_spec(j.notebook)["params"])


@pytest.mark.parametrize("chapter", ["ntk_landscape", "lora_one", "fails_loudly", "rank_one"])
def test_smoke_profile_of_each_chapter_runs(chapter, tmp_path):
    results = runner.run(runner.plan(chapter, "smoke"), tmp_path / "run", "smoke", progress=False, log=lambda *a: None)
    assert {nb["notebook"] for nb in results["notebooks"]} == set(runner.notebooks(chapter))
    assert results["claims"] and all(c["chapter"] == chapter for c in results["claims"])
    assert results["figures"] and all((tmp_path / "run" / "figures" / f["files"]["svg"]["file"]).exists()
                                      for f in results["figures"])


def _fake_book(tmp_path, monkeypatch):
    """A copy of book/ that record() and the dashboard write into instead of the real one."""
    book = tmp_path / "book"
    shutil.copytree(runner.BOOK, book, ignore=shutil.ignore_patterns("_build"))
    monkeypatch.setattr(runner, "BOOK", book)
    monkeypatch.setattr(runner, "notebook_path", lambda nb: book / f"{nb}.ipynb")
    monkeypatch.setattr(dashboard, "BOOK", book)
    monkeypatch.setattr(dashboard, "PAGE", book / "claims.md")
    monkeypatch.setattr(dashboard, "SEED_CHECK", book / "seed_check.json")
    return book


def _snapshot(book):
    return {p.relative_to(book): p.read_bytes() for p in sorted(book.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fail_at", ["second notebook", "dashboard"])
def test_an_interrupted_record_leaves_book_unchanged(tmp_path, monkeypatch, fail_at):
    book = _fake_book(tmp_path, monkeypatch)
    before = _snapshot(book)
    calls = []

    def fake_execute(job, output, progress, km=None):  # "executes" by copying, with a visible change
        calls.append(job.notebook)
        if fail_at == "second notebook" and len(calls) == 2:
            raise KeyboardInterrupt
        nb = nbformat.read(job.source, as_version=4)
        nb.metadata["re-recorded"] = True
        nbformat.write(nb, output)
        return nb

    def failing_write(claims):
        (book / "claims.md").write_text("half-written")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "execute", fake_execute)
    monkeypatch.setattr(dashboard, "write", failing_write)
    with pytest.raises(KeyboardInterrupt if fail_at == "second notebook" else OSError):
        runner.record("lora_one", progress=False, log=lambda *a: None)
    assert _snapshot(book) == before
    assert len(calls) == (2 if fail_at == "second notebook" else len(runner.notebooks("lora_one")))


def test_record_replaces_all_files_when_everything_succeeded(tmp_path, monkeypatch):
    book = _fake_book(tmp_path, monkeypatch)

    def fake_execute(job, output, progress, km=None):
        nb = nbformat.read(job.source, as_version=4)
        nb.metadata["re-recorded"] = True
        nbformat.write(nb, output)
        return nb

    monkeypatch.setattr(runner, "execute", fake_execute)
    runner.record("lora_one", progress=False, log=lambda *a: None)
    for nb in runner.notebooks("lora_one"):
        assert nbformat.read(book / f"{nb}.ipynb", as_version=4).metadata["re-recorded"]


def test_an_output_folder_is_reserved_and_stale_staging_is_removed(tmp_path):
    out = tmp_path / "run"
    logged = []
    with runner.staged(out, logged.append) as staging:
        assert (out / runner.LOCK).read_text() == str(os.getpid())
        with pytest.raises(FileExistsError, match="being written by another run"):
            with runner.staged(out):
                pass
        (staging / "x").write_text("1")
    assert (out / "x").read_text() == "1" and not (out / runner.LOCK).exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / ".old.partial-abc"
    stale.mkdir()
    (stale / runner.LOCK).write_text(dead)
    with runner.staged(tmp_path / "run2", logged.append):
        pass
    assert not stale.exists() and any("killed" in m for m in logged)
    assert {p.name for p in tmp_path.iterdir()} == {"run", "run2"}


def test_sigterm_cleans_up(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "lora_companion.cli", "run", "preliminaries", "--profile", "smoke",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".run.partial-*")):
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    # the kernel and nbclient log their own deaths above; our message is the last line
    assert proc.returncode == cli.EXIT["terminated"]
    assert err.strip().splitlines()[-1].startswith("lora-companion: error: terminated")
    assert list(tmp_path.iterdir()) == []


def test_preliminaries_executes_at_the_declared_minimum_of_every_parameter(tmp_path):
    """Accepted extremes execute (issue 13.2): every size at its minimum, τ included."""
    spec = runner.notebook_spec("preliminaries")["params"]
    lows = [(n, str(d["min"])) for n, d in spec.items() if "min" in d]
    results = runner.run(runner.plan("preliminaries", "smoke", lows), tmp_path / "run", "smoke", progress=False,
                         log=lambda *a: None)
    assert results["claims"] and all(c["verdict"] != "not reproduced" for c in results["claims"])


@pytest.mark.slow
def test_parallel_workers_give_the_serial_results(tmp_path):
    jobs = runner.plan("preliminaries", "smoke") + runner.plan("lora_one/e1_alignment", "smoke")
    quiet = {"progress": False, "log": lambda *a: None}
    serial = runner.run(jobs, tmp_path / "serial", "smoke", workers=1, **quiet)
    parallel = runner.run(jobs, tmp_path / "parallel", "smoke", workers=2, **quiet)
    assert [nb["notebook"] for nb in parallel["notebooks"]] == [job.notebook for job in jobs]
    assert parallel["claims"] == serial["claims"]
    assert [f["files"] for f in parallel["figures"]] == [f["files"] for f in serial["figures"]]
    with pytest.raises(ValueError, match="--workers"):
        runner.run(jobs, tmp_path / "none", "smoke", workers=0, **quiet)


def test_parse_seeds():
    from lora_companion.sweep import parse_seeds
    assert parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("0,3,5") == [0, 3, 5] and parse_seeds("1-2,7") == [1, 2, 7]
    for bad in ("", "3-1", "a", "1,1", "-2", "1-2-3"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


@pytest.mark.slow
def test_sweep_on_a_local_cluster_matches_serial_runs(tmp_path):
    """Two seeds of the Preliminaries as Dask tasks (LocalCluster, 2 workers): each seed's claims equal a serial
    run's at that seed; the tables have one row per claim and seed, and the agreement summary one per claim."""
    import csv

    from lora_companion import sweep
    quiet = {"log": lambda *a: None}
    results = sweep.run_seeds("preliminaries", "smoke", [1, 2], tmp_path / "sweep", workers=2, **quiet)
    per_seed = sweep.by_seed(results)
    for s in (1, 2):
        serial = runner.run(runner.plan("preliminaries", "smoke", [("seed", str(s))]), tmp_path / f"serial{s}", "smoke",
                            progress=False, **quiet)
        assert [{k: v for k, v in c.items() if k != "run"} for c in per_seed[s]] == serial["claims"]
        assert (tmp_path / "sweep" / f"seed-{s}" / "figures").is_dir()
    table, summary = sweep.write_tables(per_seed, tmp_path / "sweep")
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 2 * len(per_seed[1]) and {r["seed"] for r in rows} == {"1", "2"}
    agree = list(csv.DictReader(summary.open()))
    assert len(agree) == len(per_seed[1]) and all(r["seeds"] == "2" for r in agree)
