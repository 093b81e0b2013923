"""Invariants of the committed book, nbval's ability to catch a changed number, and the strict HTML build."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from lora_companion.book import BOOK, ROOT, notebook_path, notebooks
from lora_companion.params import notebook_spec
from lora_companion.runner import committed_claims

ALL = notebooks()
TYPES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list[int]": "list", "list[float]": "list",
         "list[str]": "list"}


@pytest.mark.parametrize("nb", ALL)
def test_parameters_cell_matches_its_declaration(nb):
    found = papermill.inspect_notebook(str(notebook_path(nb)))
    declared = notebook_spec(nb)["params"]
    assert list(found) == list(declared), "parameters cell and profile file declare different names"
    for name, p in found.items():
        assert p["inferred_type_name"].startswith(TYPES[declared[name]["type"]]), name
        assert p["help"], f"parameter {name} has no help comment"


@pytest.mark.parametrize("nb", ALL)
def test_figure_ids_match_cell_labels(nb):
    for cell in nbformat.read(notebook_path(nb), as_version=4).cells:
        shown = re.findall(r'figures\.show\([^\n]*?"(fig-[a-z0-9-]+)"', cell.source)
        label = cell.metadata.get("mystnb", {}).get("figure", {}).get("name")
        if shown:
            assert shown == [label], f"figure {shown} shown in a cell labelled {label!r}"


def test_ids_are_unique_and_every_notebook_is_in_the_toc():
    labels = [c.metadata["mystnb"]["figure"]["name"] for nb in ALL
              for c in nbformat.read(notebook_path(nb), as_version=4).cells if "figure" in c.metadata.get("mystnb", {})]
    assert len(labels) == len(set(labels))
    ids = [c["id"] for c in committed_claims()]
    assert len(ids) == len(set(ids))
    toc = (ROOT / "_toc.yml").read_text()
    for nb in ALL:
        assert f"book/{nb}" in toc


@pytest.mark.slow
def test_nbval_fails_when_a_stored_number_changes(tmp_path):
    nb = nbformat.read(notebook_path("preliminaries"), as_version=4)
    changed = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and "planted:" in out.text:
                out.text = out.text.replace("0.45", "0.46")
                changed += 1
    assert changed == 1
    nbformat.write(nb, tmp_path / "tampered.ipynb")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
                           "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), "-o", "addopts=",
                           "-p", "no:xdist", str(tmp_path / "tampered.ipynb")], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "0.46" in proc.stdout and "1 failed" in proc.stdout


@pytest.mark.slow
def test_strict_book_build(tmp_path):
    proc = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "-W", "-n",
                           "--keep-going", "--path-output", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    html = tmp_path / "_build" / "html"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    files += [s["file"] for part in toc["parts"] for c in part["chapters"] for s in c.get("sections", [])]
    for f in files:
        assert (html / f"{f}.html").is_file(), f


def test_claims_dashboard_is_generated_from_the_record():
    from lora_companion import dashboard

    claims = committed_claims()
    page = dashboard.PAGE.read_text()
    check = dashboard.load_seed_check()
    assert page == dashboard.render(claims, check), "book/claims.md is stale: run `lora-companion record`"
    for path, text in dashboard.tallies(claims, check).items():
        assert path.read_text() == text, f"{path} is stale: run `lora-companion record`"
    assert dashboard.summary(claims) in page
    if check:
        for run in check["runs"]:
            assert set(run["claims"]) == {c["id"] for c in claims}, \
                f"book/seed_check.json (seed {run['seed']}) covers other claims than the record: rerun " \
                "`lora-companion seed-check SEED [SEED ...]`"
    for c in claims:
        assert f"**{c['id']}**" in page and f"({c['notebook']}.ipynb)" in page
        if c.get("figure"):
            assert f"{{numref}}`{c['figure']}`" in page


def test_dashboard_counts_theorem_and_empirical_claims_and_marks_seed_disagreement():
    from lora_companion import dashboard

    base = {"chapter": "preliminaries", "notebook": "preliminaries", "paper": "companion", "figure": None}
    claims = [{**base, "id": "a-1", "kind": "theorem", "source": "Thm 1",
               "statement": r"s_1 with ‖δ‖_* and $\|x\|_* + |y|$", "test": "x | y", "measured": 1.0,
               "verdict": "reproduced"},
              {**base, "id": "a-2", "kind": "empirical", "source": "Fig. 2", "statement": "s", "test": "t",
               "measured": 2.0, "verdict": "reproduced", "figure": "fig-a-b"},
              {**base, "id": "a-3", "kind": "sanity", "source": None, "statement": "s", "test": "t",
               "measured": 2.0, "verdict": "not reproduced"}]
    runs = [{"seed": s, "commit": "abc", "claims": {"a-1": {"verdict": "reproduced", "measured": 1.1},
                                                   "a-2": {"verdict": v, "measured": 9.0},
                                                   "a-3": {"verdict": "reproduced", "measured": 9.0}}}
            for s, v in ((1, "reproduced"), (2, "not reproduced"), (3, "reproduced"))]
    page = dashboard.render(claims, {"record_seed": 0, "runs": runs})
    assert ("**2 theorem and empirical claims**: {bdg-success}`2 reproduced` {bdg-danger-line}`0 not reproduced` "
            "{bdg-warning-line}`0 inconclusive`") in page                   # zero counts outlined
    assert "{bdg-danger-line}`not reproduced`" in page                  # a sanity check: outlined, not counted
    assert page.count("{dropdown}") == 3 and ":name: claim-a-2" in page  # test, measurement, evidence per claim
    assert not any(mark in page for mark in "✅❌❔")                      # text badges: the PDF has no emoji glyphs
    assert r"$\|x\|_* + \vert y\vert $" in page                           # maths kept; a bare | cannot split the row
    assert "(not counted: 1 sanity checks, 0 extensions)" in page
    assert "**1 of 2 theorem and empirical verdicts agree at every seed**; not stable: a-2" in page
    assert "| 4/4 |" in page and "3/4 (seed 2: not reproduced)" in page
    assert "s\\_1 with ‖δ‖\\_\\*" in page and "x \\| y" in page


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("xelatex") is None or shutil.which("latexmk") is None,
                    reason="no TeX here: install it with `sudo scripts/install-tex.sh` to test the PDF build")
def test_pdf_build(tmp_path):
    proc = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--builder",
                           "pdflatex", "--path-output", str(tmp_path)], capture_output=True, text=True)
    pdf = tmp_path / "_build" / "latex" / "lora-companion.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stdout[-4000:]
    assert pdf.stat().st_size > 500_000
    log = next((tmp_path / "_build" / "latex").glob("*.log")).read_text(errors="replace")
    assert "Missing character" not in log
