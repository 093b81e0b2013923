"""The Preliminaries' claim checks pass on the real objects and fail on deliberately broken ones."""
import torch

from lora_companion.experiments import preliminaries as P
from lora_companion.linalg import principal_angles


def verdicts(claims):
    return [c.verdict for c in claims]


def test_factorization_claims_pass_and_fail(gen):
    delta = P.random_low_rank(8, 6, 2, 3, gen)
    res = P.factorization_penalty(delta, 2, 16, gen)
    assert verdicts(P.factorization_claims(res)) == ["reproduced"] * 2
    assert (res.random_ratio >= 1 - 1e-12).all()
    # broken: S instead of √S on one factor (the balanced factors are then not a factorization at the right cost)
    broken = P.FactorizationResult(res.nuclear, res.balanced_ratio * 1.3, res.random_ratio * 0.5, res.reconstruction)
    assert verdicts(P.factorization_claims(broken)) == ["not reproduced"] * 2


def test_prox_claims_pass_and_fail(gen):
    M = P.random_low_rank(6, 5, 5, 2, gen)
    assert verdicts(P.prox_claims(P.prox_check(M, 0.8, 32, 1e-3, gen), 0.8)) == ["reproduced"] * 2
    # broken: claim the threshold was 0.5 while the prox used 0.8
    assert verdicts(P.prox_claims(P.prox_check(M, 0.8, 32, 1e-3, gen), 0.5))[0] == "not reproduced"


def test_linearization_claims_pass_and_fail(gen):
    ts = torch.logspace(-4, -1, 6, dtype=torch.float64)
    res = P.linearization_check(5, 4, 2, 6, ts, gen)
    assert verdicts(P.linearization_claims(res)) == ["reproduced"] * 2
    broken = P.LinearizationResult(res.t, res.error, jac_vs_jvp=1e-3, slope=1.0)   # first-order error
    assert verdicts(P.linearization_claims(broken)) == ["not reproduced"] * 2


def test_angle_claims_pass_and_fail(gen):
    planted = torch.tensor([0.3, 0.7, 1.1], dtype=torch.float64)
    X, Y = P.planted_subspaces(8, planted, gen)
    assert verdicts(P.angle_claims(planted, principal_angles(X, Y))) == ["reproduced"]
    assert verdicts(P.angle_claims(planted, principal_angles(X, X))) == ["not reproduced"]


def test_plots_return_figures(gen):
    import matplotlib
    matplotlib.use("Agg")
    delta = P.random_low_rank(6, 5, 2, 2, gen)
    fig = P.plot_factorization(P.factorization_penalty(delta, 2, 8, gen))
    assert fig.axes and fig.axes[0].get_xlabel()
