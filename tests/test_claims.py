import math

import nbformat
import pytest

from lora_companion.claims import METADATA_KEY, Claim, ClaimSet, Hypothesis, check, claims_from_notebook, verdict
from lora_companion.stats import decide


def make(passed, measured=1.0, id="x-claim", **kw):
    return check(id, paper="companion", kind=kw.pop("kind", "sanity"), statement="s", test="t", measured=measured,
                 passed=passed, **kw)


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
    assert "theorem/empirical: 0 reproduced, 0 not reproduced, 0 inconclusive; 1 sanity/extension" in cs.text()


def test_claims_round_trip_through_notebook_metadata():
    cs = ClaimSet("preliminaries")
    cs.add(make(False, id="a"))
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": cs.text()},
                                           metadata={METADATA_KEY: cs.records()})]
    nb.cells.append(cell)
    assert claims_from_notebook(nb) == cs.records()


def test_kinds_sources_and_hypotheses_are_required_where_they_matter():
    with pytest.raises(ValueError, match="kind"):
        make(True, kind="lemma")
    with pytest.raises(ValueError, match="source"):
        make(True, kind="empirical")
    with pytest.raises(ValueError, match="hypotheses"):
        make(True, kind="theorem", source="Thm 1")
    with pytest.raises(ValueError, match="passed= or decision="):
        check("x", paper="p", kind="sanity", statement="s", test="t", measured=1.0)
    assert make(True, kind="empirical", source="Fig. 2").verdict == "reproduced"


def test_a_theorem_outside_its_hypotheses_is_inconclusive_never_not_reproduced():
    inside = [Hypothesis("RSC α > 0", 0.1, True)]
    outside = [Hypothesis("RSC α > 0", -0.01, False), Hypothesis("distance ≤ D", 0.5, True)]
    assert make(False, kind="theorem", source="Thm 1", hypotheses=inside).verdict == "not reproduced"
    c = make(False, kind="theorem", source="Thm 1", hypotheses=outside)
    assert c.verdict == "inconclusive" and c.outside == ["RSC α > 0"]
    cs = ClaimSet("ch/nb")
    cs.add(c)
    assert "outside the theorem's hypotheses: RSC α > 0" in cs.text()


def test_a_decision_over_seeds_is_recorded_with_its_interval():
    d = decide([1.0, 1.1, 0.9, 1.05, 0.95], 0.5, ">")
    c = check("x", paper="p", kind="empirical", source="Fig. 1", statement="s", test="t", measured=d.estimate,
              decision=d)
    assert c.verdict == "reproduced" and c.seeds == 5 and c.interval[0] <= 1.0 <= c.interval[1]
    assert make(False, decision=d).verdict == "not reproduced"          # passed= overrides the decision


def test_a_non_finite_interval_is_inconclusive():
    """A degenerate instance (NaN) or all-censored runs (inf) cannot decide a claim, whatever ``passed`` says."""
    from lora_companion.stats import Decision
    for bad in ((float("nan"), float("nan")), (float("inf"), float("inf"))):
        c = check("x", paper="p", kind="extension", statement="s", test="t", measured="m",
                  decision=Decision(True, 1.0, bad, 4, "bootstrap"))
        assert c.verdict == "inconclusive" and c.interval is None and c.seeds == 4
