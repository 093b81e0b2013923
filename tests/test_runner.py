"""The runner and CLI: a smoke run end to end, determinism, and bad inputs refused before any kernel starts."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lora_companion import cli, runner
from lora_companion.params import ParameterError

pytestmark = pytest.mark.slow


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
    assert set(results["claims"][0]) == {"id", "chapter", "notebook", "paper", "statement", "test", "measured",
                                         "verdict", "figure"}
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
    assert proc.returncode == 2 and "not empty" in proc.stderr
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
    jobs = runner.plan(None, profile)
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
