"""Negative and positive controls of the claims: every claim's decision function, fed constructed inputs, must say
``reproduced`` on a case where the claimed property holds and ``not reproduced`` on a counterexample.

Each chapter's ``tests/test_controls_<chapter>.py`` defines ``CONTROLS = {claim_id: (positive, negative)}``, each
case a zero-argument function returning the claims that the decision function produces, and ends with
``test_positive_control, test_negative_control = make_tests(CONTROLS)``. ``test_controls_coverage.py`` fails when a
claim of the ledger has no control.
"""
from __future__ import annotations

from typing import Callable

import pytest

from lora_companion.claims import NOT_REPRODUCED, REPRODUCED

Case = Callable[[], list]


def verdict_of(claims, claim_id: str) -> str:
    """The verdict of claim ``claim_id`` among ``claims`` (Claim objects or records)."""
    found = [c for c in claims if (c["id"] if isinstance(c, dict) else c.id) == claim_id]
    assert len(found) == 1, f"the case produced {len(found)} claims with id {claim_id!r}"
    c = found[0]
    return c["verdict"] if isinstance(c, dict) else c.verdict


def make_tests(controls: dict[str, tuple[Case, Case]]):
    """The two parametrized tests of a chapter's controls."""
    ids = sorted(controls)

    @pytest.mark.parametrize("claim_id", ids)
    def test_positive_control(claim_id):
        assert verdict_of(controls[claim_id][0](), claim_id) == REPRODUCED

    @pytest.mark.parametrize("claim_id", ids)
    def test_negative_control(claim_id):
        assert verdict_of(controls[claim_id][1](), claim_id) == NOT_REPRODUCED

    return test_positive_control, test_negative_control
