"""Controls of the Preliminaries' claims (all sanity checks of our machinery): each decision function says
``reproduced`` on the real objects and ``not reproduced`` on deliberately broken ones."""
import torch
from controls import make_tests

from lora_companion.experiments import preliminaries as P
from lora_companion.linalg import principal_angles


def gen():
    return torch.Generator().manual_seed(1234)


def _factorization(broken: bool):
    g = gen()
    res = P.factorization_penalty(P.random_low_rank(8, 6, 2, 3, g), 2, 16, g)
    if broken:   # a "balanced" pair off by 30 % and random factorizations below the nuclear norm
        res = P.FactorizationResult(res.nuclear, res.balanced_ratio * 1.3, res.random_ratio * 0.5, res.reconstruction)
    return P.factorization_claims(res)


def _prox(claimed_tau: float):
    g = gen()
    M = P.random_low_rank(6, 5, 5, 2, g)
    return P.prox_claims(P.prox_check(M, 0.8, 32, 1e-3, g), claimed_tau)   # the prox used τ = 0.8


def _prox_not_minimal():
    """A 'prox' that is not the minimizer: random perturbations lower the objective and the subgradient is too big."""
    g = gen()
    res = P.prox_check(P.random_low_rank(6, 5, 5, 2, g), 0.8, 32, 1e-3, g)
    return P.prox_claims(P.ProxResult(res.sv_in, res.sv_out, res.excess - 1.0, res.subgradient_excess + 0.5), 0.8)


def _linearization(broken: bool):
    res = P.linearization_check(5, 4, 2, 6, torch.logspace(-4, -1, 6, dtype=torch.float64), gen())
    if broken:   # features that disagree with jvp, and an error that is first order in t
        res = P.LinearizationResult(res.t, res.error, jac_vs_jvp=1e-3, slope=1.0)
    return P.linearization_claims(res)


def _angles(broken: bool):
    planted = torch.tensor([0.3, 0.7, 1.1], dtype=torch.float64)
    X, Y = P.planted_subspaces(8, planted, gen())
    return P.angle_claims(planted, principal_angles(X, X if broken else Y))


CONTROLS = {
    "prelim-balanced-nuclear": (lambda: _factorization(False), lambda: _factorization(True)),
    "prelim-nuclear-lower-bound": (lambda: _factorization(False), lambda: _factorization(True)),
    "prelim-svt-shrinks": (lambda: _prox(0.8), lambda: _prox(0.5)),
    "prelim-svt-prox": (lambda: _prox(0.8), _prox_not_minimal),
    "prelim-ntk-jvp": (lambda: _linearization(False), lambda: _linearization(True)),
    "prelim-ntk-second-order": (lambda: _linearization(False), lambda: _linearization(True)),
    "prelim-principal-angles": (lambda: _angles(False), lambda: _angles(True)),
}

test_positive_control, test_negative_control = make_tests(CONTROLS)


def test_plots_return_figures():
    import matplotlib
    matplotlib.use("Agg")
    g = gen()
    fig = P.plot_factorization(P.factorization_penalty(P.random_low_rank(6, 5, 2, 2, g), 2, 8, g))
    assert fig.axes and fig.axes[0].get_xlabel()
