"""Every claim in the committed ledger has a positive and a negative control (see ``controls.py``)."""
import importlib
from pathlib import Path

from lora_companion.runner import committed_claims


def _all_controls() -> dict:
    found = {}
    for path in sorted(Path(__file__).parent.glob("test_controls_*.py")):
        if path.stem == "test_controls_coverage":
            continue
        module = importlib.import_module(path.stem)
        overlap = set(found) & set(module.CONTROLS)
        assert not overlap, f"{path.name} repeats controls of {sorted(overlap)}"
        found.update(module.CONTROLS)
    return found


def test_every_ledger_claim_has_a_control():
    ledger = {c["id"] for c in committed_claims()}
    missing = sorted(ledger - set(_all_controls()))
    assert not missing, f"claims without a negative control: {missing}"


def test_every_control_names_a_ledger_claim():
    stale = sorted(set(_all_controls()) - {c["id"] for c in committed_claims()})
    assert not stale, f"controls of claims that are not in the ledger: {stale}"
