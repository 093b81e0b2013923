"""Figure export: the files the index names exist with the recorded hashes; provenance names the parameters."""
import csv
import hashlib
import json

import pytest

from lora_companion.figure_export import export

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from lora_companion import runner
    out = tmp_path_factory.mktemp("export") / "run"
    runner.run(runner.plan("preliminaries", "smoke", [("seed", "7")]), out, "smoke", progress=False, log=lambda *a: None)
    return out


def test_export_writes_what_the_index_says(run_dir, tmp_path):
    index = export(run_dir, tmp_path / "figs")
    assert {f["id"] for f in index} == {"fig-prelim-factorization", "fig-prelim-svt", "fig-prelim-linearization",
                                        "fig-prelim-angles"}
    on_disk = json.loads((tmp_path / "figs" / "index.json").read_text())
    assert on_disk == index
    for fig in index:
        assert fig["caption"] and fig["chapter"] == "preliminaries" and fig["commit"]
        assert fig["params"]["seed"] == 7 and fig["params"]["m"] == 12      # the parameters that made it
        for fmt in ("png", "pdf", "svg"):
            data = (tmp_path / "figs" / fig["files"][fmt]["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == fig["files"][fmt]["sha256"]
    rows = list(csv.DictReader(open(tmp_path / "figs" / "index.csv")))
    assert [r["id"] for r in rows] == [f["id"] for f in index]
    bib = (tmp_path / "figs" / "figures.bib").read_text()
    assert bib.count("@misc{companion:fig-") == len(index) and "seed=7" in bib


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
