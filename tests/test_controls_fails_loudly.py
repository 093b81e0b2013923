"""Controls of the fails-loudly claims: each decision function says ``reproduced`` on a constructed case where the
claimed property holds and ``not reproduced`` on a counterexample (a quiet spurious point, a rank that rises with
λ, a failing success rate, a wrong certificate, …)."""
import math

import torch
from controls import make_tests

from lora_companion.experiments import fails_loudly as FL
from lora_companion.linalg import numerical_rank

D64 = torch.float64


def diag(*v, size=4):
    X = torch.zeros(size, size, dtype=D64)
    X[range(len(v)), range(len(v))] = torch.tensor(v, dtype=D64)
    return X


def ends(Xs, gaps, r, scales=None, test=None, sosp=None):
    """EndPoints built from matrices and gaps (everything else derived or neutral)."""
    X = torch.stack(Xs)
    k = len(Xs)
    gap = torch.tensor(gaps, dtype=D64)
    return FL.EndPoints(scales=torch.zeros(k, dtype=D64) if scales is None else torch.tensor(scales, dtype=D64),
                        X=X, objective=1 + gap, gap=gap, rank=numerical_rank(X), norm=torch.linalg.matrix_norm(X),
                        sv=torch.linalg.svdvals(X), test=torch.ones(k, dtype=D64) if test is None else
                        torch.tensor(test, dtype=D64), imbalance=torch.zeros(k, dtype=D64), cert=None,
                        sosp=torch.ones(k, dtype=torch.bool) if sosp is None else torch.tensor(sosp),
                        failed=torch.zeros(k, dtype=torch.bool), f_star=1.0, r=r)


def _path(ranks, nuclear):
    lams = torch.tensor([1e-3, 1e-2, 1e-1], dtype=D64)
    return FL.RegularizedPath(lams=lams, X=torch.zeros(3, 4, 4, dtype=D64), objective=torch.ones(3, dtype=D64),
                              residual=torch.zeros(3, dtype=D64), rank=torch.tensor(ranks),
                              nuclear=torch.tensor(nuclear, dtype=D64), loss0=1.0)


def _regularized(good):
    path = _path([3, 2, 1], [5.0, 2.0, 1.0]) if good else _path([1, 2, 3], [5.0, 200.0, 100.0])
    return FL.regularized_claims(path, r=2, lam=1e-2)


def _success(good):
    X = diag(1.0, 0.5)
    e = [ends([X] * 6, [0.0 if good else 1.0] * 6, r) for r in (2, 4)]
    under = ends([diag(1.0)] * 6, [0.5 if good else 0.0] * 6, 1)
    return FL.success_claims([1, 2, 4], [under] + e, r_star=2)


def _dichotomy(good):
    small = [diag(0.3, 0.1)] * 30
    gaps = [0.0] * 30 if good else [0.0] * 10 + [1.0] * 20
    spur = [diag(2.0, 1.0, 0.8, 0.5), diag(1.5, 1.2, 0.9, 0.3)]
    sp_test = [0.05, 0.08] if good else [0.0005, 0.08]
    if not good:
        spur[0] = diag(0.31, 0.1, 0.05)                    # a quiet spurious point: small, generalizes well
    return FL.dichotomy_claims(ends(small + spur, gaps + [1.0, 2.0], 4, scales=[0.0] * 30 + [10.0, 10.0],
                                    test=[0.001] * 30 + sp_test))


def _theorem1(claim_id, good):
    X_star = diag(1.0, 1.0)
    X = diag(2.0, 2.0, 1.5) if good else diag(1.5, 1.2)     # bad: a spurious SOSP of rank 2 < r = 3 near X⋆
    e = ends([X_star, X], [0.0, 1.0], 3)
    return FL.theorem1_claims(claim_id, e, X_star, 2, 5.0, alpha_lower=0.1, alpha_upper=0.1, beta_upper=1.0,
                              where="control")


def _corollary(good):
    X_star = diag(1.0, 1.0)
    e = ends([diag(1.0, 1.0, 0.01)], [0.0 if good else 1.0], 3)   # the certificate says global (0.01 ≤ 0.2)
    return FL.corollary_claims(e, X_star, 2, 5.0, alpha_lower=0.1, beta_upper=1.0)


def _special(good):
    e = ends([diag(1.0)] * 4, [0.0, 0.0, 0.0, 0.0 if good else 1.0], 2, scales=[0.0, 0.0, 10.0, 10.0])
    return FL.special_regime_claims(1.0, 1.5, e)


def _rsc(good):
    return FL.rsc_claims([2, 4], [0.1, 0.05] if good else [-0.01, -0.02], [0.2, 0.1], 4, alpha_lower=0.05)


def _mc(good):
    return FL.rsc_claims([2, 4], [0.05, 0.04] if good else [-0.01, -0.02], [0.2, 0.1], 4)


def _sgd(good_bound, good_trend):
    b = torch.tensor([1, 1, 4, 4, 1, 4])
    ml = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.0, 0.0], dtype=D64)
    bound = FL.lemma1_bound(b, ml, 0.2)                      # 4.3 at b = 1, 17.3 at b = 4, ∞ at λ = 0
    er = torch.tensor([2, 2, 3, 3, 8, 8]) if good_trend else torch.tensor([6, 6, 3, 3, 2, 2])
    if not good_bound:
        er = torch.tensor([7, 7, 3, 3, 8, 8])
    runs = FL.SGDRuns(b=b, mu_lam=ml, X=torch.zeros(6, 8, 8, dtype=D64), norm_hist=torch.ones(5, 6, dtype=D64),
                      eps_rank=er, bound=bound, eps=0.2)
    return FL.lemma1_claims(runs, 8)


def _theorem2(special, good):
    """Two layers, run i of each forming one end point. Special: every certified pair global (bad: one is not).
    Generic (layer 2 generic, 2α/β = 0.2): a non-global pair whose generic layer is rank r = 3 and far from X⋆
    (bad: rank 2 < r near X⋆, which Theorem 2 excludes)."""
    X_star = diag(1.0, 1.0)
    if special:
        l1 = ends([X_star] * 3, [0.0, 0.0, 0.0], 3)
        l2 = ends([X_star] * 3, [0.0, 0.0, 0.0 if good else 1.0], 3)
        return FL.theorem2_claims("loud-thm2-special", [l1, l2], [X_star] * 2, [2, 2], [1.0, 1.0], [1.5, 1.5], "control")
    spur = diag(2.0, 2.0, 1.5) if good else diag(1.5, 1.2)
    l1 = ends([X_star, X_star], [0.0, 0.0], 3)
    l2 = ends([X_star, spur], [0.0, 1.0], 3)
    return FL.theorem2_claims("loud-thm2-generic", [l1, l2], [X_star] * 2, [2, 2], [1.0, 0.1], [1.5, 1.0], "control")


CONTROLS = {
    "loud-thm2-special": (lambda: _theorem2(True, True), lambda: _theorem2(True, False)),
    "loud-thm2-generic": (lambda: _theorem2(False, True), lambda: _theorem2(False, False)),
    "loud-regularized-rank": (lambda: _regularized(True), lambda: _regularized(False)),
    "loud-nuclear-bound": (lambda: _regularized(True), lambda: _regularized(False)),
    "loud-zero-init-global": (lambda: _success(True), lambda: _success(False)),
    "loud-underrank-gap": (lambda: _success(True), lambda: _success(False)),
    "loud-small-init-global": (lambda: _dichotomy(True), lambda: _dichotomy(False)),
    "loud-spurious-large": (lambda: _dichotomy(True), lambda: _dichotomy(False)),
    "loud-ts-thm1": (lambda: _theorem1("loud-ts-thm1", True), lambda: _theorem1("loud-ts-thm1", False)),
    "loud-ms-thm1": (lambda: _theorem1("loud-ms-thm1", True), lambda: _theorem1("loud-ms-thm1", False)),
    "loud-corollary-certificate": (lambda: _corollary(True), lambda: _corollary(False)),
    "loud-special-regime": (lambda: _special(True), lambda: _special(False)),
    "loud-rsc-positive": (lambda: _rsc(True), lambda: _rsc(False)),
    "loud-mc-sign": (lambda: _mc(True), lambda: _mc(False)),
    "loud-sgd-rank-bound": (lambda: _sgd(True, True), lambda: _sgd(False, True)),
    "loud-sgd-rank-trend": (lambda: _sgd(True, True), lambda: _sgd(True, False)),
}

test_positive_control, test_negative_control = make_tests(CONTROLS)


def test_theorem1_outside_hypotheses_is_inconclusive():
    X_star = diag(1.0, 1.0)
    e = ends([X_star, diag(1.5, 1.2)], [0.0, 1.0], 3)
    [c] = FL.theorem1_claims("loud-ts-thm1", e, X_star, 2, 5.0, alpha_lower=0.0, alpha_upper=-0.01, beta_upper=1.0,
                             where="control")
    assert c.verdict == "inconclusive" and c.outside


def test_distinct_counts_points_not_runs():
    X = torch.stack([diag(1.0), diag(1.0) + 1e-8, diag(2.0), diag(1.0)])
    assert FL.distinct(X) == [0, 2]
    assert math.isclose(FL.DISTINCT_TOL, 1e-4)


def test_take_pairs_runs():
    e = ends([diag(1.0), diag(2.0), diag(3.0)], [0.0, 0.5, 1.0], 2)
    t = FL.take(e, torch.tensor([2, 0, 1]))
    assert t.gap.tolist() == [1.0, 0.0, 0.5] and t.norm.tolist() == [3.0, 1.0, 2.0] and t.r == 2


def test_theorem2_generic_without_spurious_points_is_inconclusive():
    X_star = diag(1.0, 1.0)
    l = ends([X_star], [0.0], 3)
    c = FL.theorem2_claims("loud-thm2-generic", [l, l], [X_star] * 2, [2, 2], [1.0, 0.1], [1.5, 1.0], "x")[0]
    assert c.verdict == "inconclusive"
