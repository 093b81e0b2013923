"""The validated ledger: tampered, forged, truncated or incomplete claim records are refused with one line naming
the notebook (issue 13.1)."""
import copy
import json
import shutil

import nbformat
import pytest

from lora_companion import cli, dashboard, ledger, runner
from lora_companion.book import BOOK, notebooks
from lora_companion.claims import METADATA_KEY

NB = "preliminaries"


@pytest.fixture
def committed():
    return nbformat.read(BOOK / f"{NB}.ipynb", as_version=4)


def _claims_output(nb):
    return next(o for c in nb.cells for o in c.get("outputs", []) if METADATA_KEY in o.get("metadata", {}))


def test_the_committed_record_validates():
    claims = runner.committed_claims()
    assert len(claims) == len({c["id"] for c in claims}) > 0
    for c in claims:
        ledger.validate_claim(c, "record")


def test_manifest_is_computed_from_code(committed):
    ids, _, reports = ledger.declared(committed, NB)
    assert reports and "prelim-balanced-nuclear" in ids
    assert {c["id"] for c in ledger.notebook_claims(committed, NB)} >= ids


@pytest.mark.parametrize("field, value, message", [
    ("verdict", "banana", "verdict"),
    ("measured", [1, 2], "measured"),
    ("kind", "opinion", "kind"),
    ("id", "Not Kebab", "id"),
    ("hypotheses", "none", "hypotheses"),
])
def test_forged_fields_are_refused(committed, field, value, message):
    _claims_output(committed)["metadata"][METADATA_KEY][0][field] = value
    with pytest.raises(ledger.LedgerError, match=f"notebook {NB}: .*{message}"):
        ledger.notebook_claims(committed, NB)


def test_theorem_needs_source_and_hypotheses():
    record = {**runner.committed_claims()[0], "kind": "theorem", "source": None,
              "hypotheses": [{"name": "h", "measured": 1.0, "holds": True}]}
    with pytest.raises(ledger.LedgerError, match="source"):
        ledger.validate_claim(record, "x")
    record["hypotheses"] = []
    with pytest.raises(ledger.LedgerError, match="hypotheses"):
        ledger.validate_claim({**record, "source": "Thm 1"}, "x")


def test_an_undeclared_or_duplicated_id_is_refused(committed):
    records = _claims_output(committed)["metadata"][METADATA_KEY]
    records.append({**copy.deepcopy(records[0]), "id": "prelim-invented-claim"})
    with pytest.raises(ledger.LedgerError, match="'prelim-invented-claim' is declared by none of its code"):
        ledger.notebook_claims(committed, NB)
    records[-1]["id"] = records[0]["id"]
    with pytest.raises(ledger.LedgerError, match="appears twice"):
        ledger.notebook_claims(committed, NB)


def test_a_deleted_claims_output_is_refused(committed):
    for cell in committed.cells:
        cell["outputs"] = [o for o in cell.get("outputs", []) if METADATA_KEY not in o.get("metadata", {})]
    with pytest.raises(ledger.LedgerError, match=f"notebook {NB}: its code reports claims but the record holds none"):
        ledger.notebook_claims(committed, NB)


def test_a_deleted_claim_is_refused_in_the_book(committed, tmp_path):
    records = _claims_output(committed)["metadata"][METADATA_KEY]
    records[:] = [r for r in records if r["id"] != "prelim-balanced-nuclear"]
    nbformat.write(committed, tmp_path / "p.ipynb")
    path_of = lambda nb: tmp_path / "p.ipynb" if nb == NB else BOOK / f"{nb}.ipynb"  # noqa: E731
    with pytest.raises(ledger.LedgerError, match="'prelim-balanced-nuclear' is declared by its code but missing"):
        ledger.book_claims(notebooks(), path_of)


@pytest.mark.parametrize("damage", ["truncate", "delete", "garbage"])
def test_unreadable_notebooks_name_the_file(tmp_path, damage):
    path = tmp_path / "nb.ipynb"
    text = (BOOK / f"{NB}.ipynb").read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_text('{"cells": 3}')
    with pytest.raises(ledger.LedgerError, match=f"notebook {NB}: .*nb.ipynb"):
        ledger.read_notebook(path, NB)


def test_tampered_book_fails_the_cli_with_one_line(tmp_path, monkeypatch, capsys):
    shutil.copytree(BOOK, tmp_path / "book", ignore=shutil.ignore_patterns("_build"))
    path = tmp_path / "book" / f"{NB}.ipynb"
    nb = nbformat.read(path, as_version=4)
    _claims_output(nb)["metadata"][METADATA_KEY][0]["verdict"] = "banana"
    nbformat.write(nb, path)
    monkeypatch.setattr(runner, "BOOK", tmp_path / "book")
    assert cli.main(["claims"]) == cli.EXIT["record"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lora-companion: error: corrupted record: notebook preliminaries")
    assert cli.main(["claims", "--json"]) == cli.EXIT["record"]


def test_results_json_is_validated(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"profile": "smoke", "notebooks": [], "figures": [],
                                                       "claims": [{"id": "x", "verdict": "banana"}]}))
    with pytest.raises(ledger.LedgerError, match="results.json"):
        ledger.load_results(tmp_path / "results.json")
    (tmp_path / "results.json").write_text("{")
    with pytest.raises(ledger.LedgerError, match="not readable JSON"):
        ledger.load_results(tmp_path / "results.json")
    with pytest.raises(ledger.LedgerError, match="not a run folder"):
        ledger.load_results(tmp_path / "nope.json")
