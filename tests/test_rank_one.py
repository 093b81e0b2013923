import math

import pytest
import torch

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


def test_scaling_decision_tells_slopes_apart_and_dlogd_note():
    x = [16, 32, 64, 128, 256]
    noise = 1 + 0.05 * torch.linspace(-1, 1, 8, dtype=torch.float64)
    T = torch.tensor(x, dtype=torch.float64)[:, None] * noise
    assert R1.scaling_decision(x, T, 1.5).passed is True
    assert R1.scaling_decision(x, T ** 2, 1.5).passed is False
    lab = "relu, fine-tuning"
    res = R1.ScalingResult(xs=x, labels=[lab], T={lab: T}, fits={}, budget_per_d=300, budget=torch.tensor(x) * 300.0)
    assert "excludes d·ln d" in R1.dlogd_note(res, lab)
    res.T[lab] = T * torch.tensor(x, dtype=torch.float64).log()[:, None]
    assert "cannot tell" in R1.dlogd_note(res, lab)


def test_theorem_hypotheses_measured():
    assert all(h.holds for h in R1.theorem_hypotheses(1.0, 4, 64))
    assert [h.holds for h in R1.theorem_hypotheses(0.03, 4, 16)] == [False, False]


def test_small_experiments_run():
    gen = torch.Generator().manual_seed(2)
    res = R1.hermite_independence(["relu", "he3"], 1, 16, 2, 1.0, 0.05, 8, 100 * 16, gen)
    assert res.overlap.shape[1] == 4 and not res.failed.any()
    lr = R1.lazy_to_rich(["relu", "he3"], [0.03, 1.0], 1, 8, 2, 0.05, 8, 50 * 8, 1e-6, 200, gen)
    assert lr.kernel.shape == (2, 2, 1) and torch.isfinite(lr.kernel).all()


def test_profile_rejects_bad_values():
    with pytest.raises(ParameterError, match="'k'"):
        validate("rank_one/hermite_independence", {"k": 0}, partial=True)
    with pytest.raises(ParameterError, match="rhos"):
        full = dict(seed=0, device="cpu", n_seeds=2, d=16, k=2, rho=1.0, c=0.05, batch=8, budget_per_d=10,
                    n_test=200, rhos=[0.1, 0.3], d_lazy=8, budget_per_d_lazy=10, ridge=0.0)
        validate("rank_one/regimes", full)


def test_figures_pass_house_style_lint():
    import matplotlib
    matplotlib.use("Agg")
    from lora_companion import figures
    figures.style()
    x = [16, 32, 64]
    T = torch.tensor(x, dtype=torch.float64)[:, None] * (1 + 0.1 * torch.rand(3, 4, dtype=torch.float64))
    lab = "relu, fine-tuning"
    gen = torch.Generator().manual_seed(0)
    res = R1.ScalingResult(xs=x, labels=[lab], T={lab: T}, fits={lab: R1.loglog_fit(x, T, gen, n_boot=20)},
                           budget_per_d=300, budget=torch.tensor(x, dtype=torch.float64) * 300)
    lr = R1.LazyRichResult(acts=["relu", "he3"], rhos=[0.03, 1.0], kernel=torch.rand(2, 2, 3) * 0.5,
                           rank1=torch.rand(2, 2, 3) * 1e-3, n_samples=100, d=16, k=2)
    for fig in (R1.plot_scaling(res, "dimension $d$", "t"), R1.plot_lazy_rich(lr)):
        assert figures.lint(fig) == []


# --- B6: the drift at the equator (our derivation) ---

def test_drift_closed_forms():
    """He3 (only c₃ = 1): D = ξ²·3q₀², q₀ = 1/(1+ρ²); ReLU: c₁ = ½ gives the limit ξ²c₁² → ¼ as ρ → ∞."""
    from lora_companion.experiments.rank_one.base_strength import drift
    for rho in (0.5, 1.0, 4.0):
        q0, xi2 = 1 / (1 + rho ** 2), rho ** 2 / (1 + rho ** 2)
        assert abs(drift("he3", rho) - xi2 * 3 * q0 ** 2) < 1e-6
    assert abs(drift("relu", 1e3) - 0.25) < 1e-3
    assert drift("relu", 4.0) > drift("relu", 1.0)


def test_drift_refuses_a_nonpositive_ratio():
    import pytest

    from lora_companion.experiments.rank_one.base_strength import drift
    with pytest.raises(ValueError, match="rho"):
        drift("he3", 0.0)
