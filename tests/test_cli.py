"""The CLI as a user meets it: fast start, pipe-safe, filters, CI exit statuses, and one-line errors with documented
exit codes and no traceback (issues 12.7 and 13.3)."""
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lora_companion import __version__, cli

EXE = str(Path(sys.executable).with_name("lora-companion"))


def lc(*args, **kw):
    return subprocess.run([EXE, *args], capture_output=True, text=True, **kw)


def test_version_and_fast_help():
    assert lc("--version").stdout.strip() == f"lora-companion {__version__}"
    lc("--help")  # warm the file cache
    t0 = time.perf_counter()
    proc = lc("--help")
    assert proc.returncode == 0 and "exit status" in proc.stdout
    assert time.perf_counter() - t0 < 1.0


def test_list_and_claims_do_not_import_torch():
    code = "import sys; from lora_companion import cli; cli.main(['claims', '--kind', 'sanity']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_claims_into_a_closed_pipe_exits_0():
    proc = subprocess.run(f"'{EXE}' claims | head -1", shell=True, capture_output=True, text=True,
                          executable="/bin/bash")
    assert len(proc.stdout.splitlines()) == 1 and "Traceback" not in proc.stderr and proc.stderr == ""
    proc = subprocess.run(f"'{EXE}' claims | head -1; exit ${{PIPESTATUS[0]}}", shell=True, capture_output=True,
                          executable="/bin/bash")
    assert proc.returncode == 0


def test_claims_filters_and_fail_on(capsys):
    assert cli.main(["claims", "--json"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert cli.main(["claims", "--chapter", "preliminaries", "--kind", "sanity", "--json"]) == 0
    some = json.loads(capsys.readouterr().out)
    assert some == [c for c in every if c["chapter"] == "preliminaries" and c["kind"] == "sanity"] and some
    for verdict in ("reproduced", "not reproduced", "inconclusive"):
        code = cli.main(["claims", "--verdict", verdict, "--fail-on", verdict])
        out, err = capsys.readouterr()
        chosen = [c for c in every if c["verdict"] == verdict]
        assert out.strip().endswith(f"{len(chosen)} claims")
        assert code == (cli.EXIT["fail-on"] if chosen else 0)
        assert bool(chosen) == err.startswith("lora-companion: error:")


def test_list_json(capsys):
    assert cli.main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [ch["chapter"] for ch in listing] == list(cli.CHAPTERS)
    prelim = listing[0]["notebooks"][0]
    assert prelim["id"] == "preliminaries" and {p["name"] for p in prelim["parameters"]} >= {"seed", "m", "tau"}


def test_dry_run_validates_and_estimates(capsys):
    assert cli.main(["run", "preliminaries", "--profile", "paper", "--dry-run"]) == 0
    assert "preliminaries: valid at the paper profile, ~" in capsys.readouterr().out
    assert cli.main(["run", "preliminaries", "-p", "m", "4096", "-p", "n", "4096", "--dry-run"]) == cli.EXIT["usage"]
    assert "--allow-large" in capsys.readouterr().err
    assert cli.main(["run", "preliminaries", "-p", "m", "4096", "-p", "n", "4096", "--dry-run", "--allow-large"]) == 0


@pytest.mark.parametrize("args, code, message", [
    (["run", "preliminaries", "--out", "/proc/forbidden/run"], "output", "cannot create --out /proc/forbidden/run"),
    (["run", "preliminaries", "--out", "/tmp/" + "x" * 300], "output", "File name too long"),
    (["run", "preliminaries", "-p", "seed", str(2**70)], "usage", "parameter 'seed' must be ≤"),
    (["run", "nowhere"], "usage", "unknown target 'nowhere'"),
    (["figures", "export", "--from", "/nonexistent-run", "--out", "/tmp/never-made-x"], None, "/nonexistent-run"),
])
def test_errors_are_one_line_with_documented_codes(args, code, message):
    proc = lc(*args)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lora-companion: error:") and message in lines[0], proc.stderr
    assert proc.returncode == (cli.EXIT[code] if code else proc.returncode) and proc.returncode != 0


def test_debug_shows_the_traceback():
    proc = lc("--debug", "run", "preliminaries", "--out", "/proc/forbidden/run")
    assert "Traceback" in proc.stderr


def test_figures_export_and_build_refuse_a_tampered_record(tmp_path, monkeypatch):
    """A forged verdict in a committed notebook stops `figures export` and `build` with one line naming it."""
    import nbformat

    from lora_companion import cli, runner
    from lora_companion.claims import METADATA_KEY

    book = tmp_path / "book"
    shutil.copytree(runner.BOOK, book, ignore=shutil.ignore_patterns("_build"))
    path = book / "preliminaries.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for claim in out.get("metadata", {}).get(METADATA_KEY, []):
                claim["verdict"] = "banana"
    nbformat.write(nb, path)
    monkeypatch.setattr(runner, "BOOK", book)
    for argv in (["figures", "export", "--out", str(tmp_path / "figs")], ["build"]):
        assert cli.main(argv) == 5
    assert not (tmp_path / "figs").exists()
