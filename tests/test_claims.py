import math

import nbformat
import pytest

from lora_companion.claims import METADATA_KEY, Claim, ClaimSet, check, claims_from_notebook, verdict


def make(passed, measured=1.0, id="x-claim"):
    return check(id, paper="companion", statement="s", test="t", measured=measured, passed=passed)


def test_verdicts_follow_the_test():
    assert verdict(True) == "reproduced" and verdict(False) == "not reproduced" and verdict(None) == "inconclusive"
    assert make(True).verdict == "reproduced" and make(False).verdict == "not reproduced"
    assert make(True, measured=math.nan).verdict == "inconclusive"
    assert make(True, measured=0.123456789).measured == 0.1235
    with pytest.raises(ValueError, match="verdict"):
        Claim(id="a", paper="p", statement="s", test="t", measured=1, verdict="maybe")


def test_claimset_stamps_chapter_and_rejects_duplicates():
    cs = ClaimSet("ntk_landscape/e1")
    c = cs.add(make(True))
    assert (c.chapter, c.notebook) == ("ntk_landscape", "ntk_landscape/e1")
    with pytest.raises(ValueError, match="duplicate"):
        cs.add(make(False))
    assert "1 reproduced, 0 not reproduced, 0 inconclusive" in cs.text()


def test_claims_round_trip_through_notebook_metadata():
    cs = ClaimSet("preliminaries")
    cs.add(make(False, id="a"))
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": cs.text()},
                                           metadata={METADATA_KEY: cs.records()})]
    nb.cells.append(cell)
    assert claims_from_notebook(nb) == cs.records()
