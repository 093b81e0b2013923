"""Figure export: from a run folder and from executed notebooks (the record), the same files and provenance; the
committed record exports in seconds without executing anything."""
import csv
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from lora_companion import runner
from lora_companion.book import BOOK, notebook_path, notebooks
from lora_companion.figure_export import export, export_notebooks
from lora_companion.figures import EMBED_ENV, EMBED_KEY
from lora_companion.provenance import PROVENANCE_KEY, RUN_DIR_ENV

pytestmark = pytest.mark.slow
PRELIM_FIGURES = {"fig-prelim-factorization", "fig-prelim-svt", "fig-prelim-linearization", "fig-prelim-angles"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    runner.run(runner.plan("preliminaries", "smoke", [("seed", "7")]), out, "smoke", progress=False,
               log=lambda *a: None)
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The preliminaries notebook executed as ``record`` executes it (no run folder, figures embedded), at the
    same parameters as ``run_dir``."""
    [job] = runner.plan("preliminaries", "smoke", [("seed", "7")])
    out = tmp_path_factory.mktemp("record") / "preliminaries.ipynb"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(RUN_DIR_ENV, raising=False)
        mp.setenv(EMBED_ENV, "1")
        papermill.execute_notebook(str(job.source), str(out), parameters=job.parameters, cwd=str(BOOK),
                                   kernel_name="python3", progress_bar=False)
    return out


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_export_writes_what_the_index_says(run_dir, tmp_path):
    index = export(run_dir, tmp_path / "figs")
    assert {f["id"] for f in index} == PRELIM_FIGURES
    on_disk = json.loads((tmp_path / "figs" / "index.json").read_text())
    assert on_disk == index
    for fig in index:
        assert fig["caption"] and fig["chapter"] == "preliminaries" and fig["commit"]
        assert fig["params"]["seed"] == 7 and fig["params"]["m"] == 12      # the parameters that made it
        for fmt in ("png", "pdf", "svg"):
            data = (tmp_path / "figs" / fig["files"][fmt]["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == fig["files"][fmt]["sha256"]
        assert ((tmp_path / "figs" / f"{fig['id']}.json").read_bytes()
                == (run_dir / "figures" / f"{fig['id']}.json").read_bytes())
    rows = list(csv.DictReader(open(tmp_path / "figs" / "index.csv")))
    assert [r["id"] for r in rows] == [f["id"] for f in index]
    bib = (tmp_path / "figs" / "figures.bib").read_text()
    assert bib.count("@misc{companion:fig-") == len(index) and "seed=7" in bib


def test_the_runs_notebook_and_a_record_export_exactly_the_runs_files(run_dir, recorded, tmp_path):
    export(run_dir, tmp_path / "files")
    from_files = _tree(tmp_path / "files")
    export_notebooks([run_dir / "preliminaries.ipynb"], tmp_path / "run-nb")
    assert _tree(tmp_path / "run-nb") == from_files                       # every file, index and BibTeX
    export_notebooks([recorded], tmp_path / "record")
    assert _tree(tmp_path / "record") == from_files                       # record mode: no run folder, same bytes
    assert len(from_files) == 4 * len(PRELIM_FIGURES) + 3


def test_export_refuses_a_tampered_run_and_leaves_nothing(run_dir, tmp_path):
    png = run_dir / "figures" / "fig-prelim-svt.png"
    original = png.read_bytes()
    png.write_bytes(original + b"tampered")
    try:
        with pytest.raises(ValueError, match="sha256"):
            export(run_dir, tmp_path / "figs")
    finally:
        png.write_bytes(original)
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_a_notebook_recorded_without_its_files(recorded, tmp_path):
    nb = nbformat.read(recorded, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            out.get("metadata", {}).pop(EMBED_KEY, None)
    stripped = tmp_path / "stripped.ipynb"
    nbformat.write(nb, stripped)
    with pytest.raises(ValueError, match="recorded without its files"):
        export_notebooks([stripped], tmp_path / "figs")
    assert not (tmp_path / "figs").exists()


def test_the_committed_record_exports_in_seconds_with_its_own_provenance(tmp_path):
    """Acceptance (issue 14 item 1): the CLI exports the committed book's figures in ≤ 15 s, executing nothing,
    three formats each, with the parameters and commit each notebook recorded."""
    cli = Path(sys.executable).with_name("lora-companion")
    t0 = time.perf_counter()
    done = subprocess.run([str(cli), "figures", "export", "--out", str(tmp_path / "figs")], capture_output=True,
                          text=True)
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr[-1000:]
    assert elapsed <= 15, f"export took {elapsed:.1f} s"
    index = json.loads((tmp_path / "figs" / "index.json").read_text())
    expected = []
    for nb_id in notebooks():
        nb = nbformat.read(notebook_path(nb_id), as_version=4)
        prov = next(o["metadata"][PROVENANCE_KEY] for c in nb.cells for o in c.get("outputs", [])
                    if PROVENANCE_KEY in o.get("metadata", {}))
        for cell in nb.cells:
            if "figure" in cell.metadata.get("mystnb", {}):
                expected.append((cell.metadata.mystnb.figure.name, nb_id, prov["params"], prov["commit"]))
    assert [(f["id"], f["notebook"], f["params"], f["commit"]) for f in index] == expected
    for f in index:
        for fmt in ("png", "pdf", "svg"):
            assert (tmp_path / "figs" / f"{f['id']}.{fmt}").stat().st_size > 0
        assert json.loads((tmp_path / "figs" / f"{f['id']}.json").read_text())["files"] == f["files"]


def test_the_book_stays_light():
    """The record carries its figure files; the whole book/ folder stays under 20 MB (issue 14)."""
    size = sum(p.stat().st_size for p in BOOK.rglob("*") if p.is_file())
    assert size < 20e6, f"book/ holds {size / 1e6:.1f} MB"
