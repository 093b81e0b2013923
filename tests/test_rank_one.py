import math

import pytest
import torch

from lora_companion.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from lora_companion.experiments import rank_one as R1
from lora_companion.params import ParameterError, validate


def test_loglog_fit_recovers_slope_and_censoring():
    gen = torch.Generator().manual_seed(0)
    x = [16, 32, 64, 128]
    T = torch.tensor(x, dtype=torch.float64)[:, None] ** 1.5 * (1 + 0.05 * torch.rand(4, 6, generator=gen, dtype=torch.float64))
    f = R1.loglog_fit(x, T, gen)
    assert abs(f.slope - 1.5) < 0.05 and f.lo <= f.slope <= f.hi
    T[-1, :4] = float("inf")
    assert math.isnan(R1.loglog_fit(x, T, gen).slope)


def _scaling(slope):
    gen = torch.Generator().manual_seed(1)
    x = [32, 64, 128]
    T = torch.tensor(x, dtype=torch.float64)[:, None] ** slope * torch.ones(3, 4, dtype=torch.float64)
    lab = "relu, fine-tuning"
    return R1.ScalingResult(xs=x, labels=[lab], T={lab: T}, fits={lab: R1.loglog_fit(x, T, gen)}, budget_per_d=300,
                            budget=torch.tensor(x) * 300.0)


def test_d_claim_can_fail():
    assert R1.d_claims(_scaling(1.0))[0].verdict == REPRODUCED
    assert R1.d_claims(_scaling(2.0))[0].verdict == NOT_REPRODUCED
    assert R1.k_claims(_scaling(4.0))[0].verdict == NOT_REPRODUCED


def test_b1_claims_fail_on_broken_results():
    acts = ["relu", "he3"]
    glm = torch.tensor([False, False, True, True])
    base = dict(acts=acts * 2, glm=glm, samples=torch.tensor([0.0, 100.0]), failed=torch.zeros(4, dtype=torch.bool), d=16)
    good = R1.RecoveryResult(overlap=torch.tensor([[0.0] * 4, [1.0, 1.0, 1.0, 0.05]]),
                             T_strong=torch.tensor([50.0, 80.0, 60.0, float("inf")]), **base)
    assert [c.verdict for c in R1.b1_claims(good, acts, hard=("he3",))] == [REPRODUCED, REPRODUCED]
    bad = R1.RecoveryResult(overlap=torch.tensor([[0.0] * 4, [1.0, 0.1, 1.0, 1.0]]),
                            T_strong=torch.tensor([50.0, float("inf"), 60.0, 70.0]), **base)
    assert [c.verdict for c in R1.b1_claims(bad, acts, hard=("he3",))] == [INCONCLUSIVE, NOT_REPRODUCED]


def test_lazy_rich_claims_fail_on_lazy_everywhere():
    lazy = R1.LazyRichResult(rhos=[0.03, 1.0], kernel=torch.full((2, 3), 0.01), lora=torch.zeros(2, 3), n_samples=10)
    assert [c.verdict for c in R1.lazy_rich_claims(lazy)] == [REPRODUCED, NOT_REPRODUCED]


def test_small_experiments_run():
    gen = torch.Generator().manual_seed(2)
    res = R1.hermite_independence(["relu", "he3"], 1, 16, 2, 1.0, 0.05, 8, 100 * 16, gen)
    assert res.overlap.shape[1] == 4 and not res.failed.any()
    lr = R1.lazy_to_rich([0.03, 1.0], 1, 8, 2, "relu", 0.05, 8, 50 * 8, 1e-6, 200, gen)
    assert lr.kernel.shape == (2, 1) and torch.isfinite(lr.kernel).all()


def test_profile_rejects_bad_values():
    with pytest.raises(ParameterError, match="'k'"):
        validate("rank_one/hermite_independence", {"k": 0}, partial=True)
    with pytest.raises(ParameterError, match="rhos"):
        full = dict(seed=0, device="cpu", n_seeds=2, d=16, k=2, rho=1.0, c=0.05, batch=8, budget_per_d=10,
                    n_test=200, rhos=[0.1, 0.3], d_lazy=8, budget_per_d_lazy=10, ridge=0.0)
        validate("rank_one/regimes", full)
