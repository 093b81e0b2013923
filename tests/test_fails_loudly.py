"""Fails-loudly chapter: tasks, claims that can fail, Corollary 1."""
import math

import torch

from lora_companion.claims import NOT_REPRODUCED, REPRODUCED
from lora_companion.experiments import fails_loudly as FL


def _gen(s=0):
    return torch.Generator().manual_seed(s)


def test_matrix_sensing_quadratic_form_matches_sum():
    g = _gen()
    task = FL.matrix_sensing(4, 3, 50, 1, 1.0, 0.1, g)
    X = torch.randn(4, 3, dtype=torch.float64)
    # recompute from scratch with the same draws
    g = _gen()
    Xt = FL._planted(4, 3, 1, 1.0, g, torch.float64)
    M = torch.randn(50, 12, generator=g, dtype=torch.float64)
    y = M @ Xt.reshape(-1) + 0.1 * torch.randn(50, generator=g, dtype=torch.float64)
    assert torch.allclose(task.loss(X), 0.5 * (M @ X.reshape(-1) - y).square().mean())


def test_regularized_path_on_convex_task_is_optimal_and_within_bound():
    task = FL.matrix_sensing(5, 4, 400, 2, 2.0, 0.01, _gen(1))
    path = FL.regularized_path(task, torch.tensor([0.01, 0.1, 1.0], dtype=torch.float64), max_iter=2000)
    assert (path.residual <= FL.PROX_TOL).all()
    assert (path.nuclear_bound_ratio <= 1).all()
    assert path.rank.tolist() == sorted(path.rank.tolist(), reverse=True)


def test_zero_init_reaches_global_and_claims_fail_on_broken_input():
    task = FL.teacher_student(6, 4, 64, 50, 1, 1.0, 0.01, _gen(2))
    lam = 0.01
    path = FL.regularized_path(task, torch.tensor([lam], dtype=torch.float64), max_iter=3000)
    r_star = int(path.rank[0])
    e = FL.run_sweep(task, lam, 3, torch.zeros(2, dtype=torch.float64), _gen(3), steps=500, lr=0.2,
                     newton_iters=20, f_ref=path.objective[0].item())
    assert e.sosp.all()
    [c] = FL.success_claims([3], [e], r_star)
    assert c.verdict == REPRODUCED
    e.gap = e.gap + 1e-3  # broken: a gap the theory forbids
    [c] = FL.success_claims([3], [e], r_star)
    assert c.verdict == NOT_REPRODUCED


def test_dichotomy_claims_detect_quiet_failure_and_corollary():
    task = FL.teacher_student(6, 4, 64, 50, 1, 1.0, 0.01, _gen(4))
    lam = 0.01
    path = FL.regularized_path(task, torch.tensor([lam], dtype=torch.float64), max_iter=3000)
    e = FL.run_sweep(task, lam, 3, torch.zeros(3, dtype=torch.float64), _gen(5), steps=500, lr=0.2,
                     newton_iters=20, f_ref=path.objective[0].item())
    claims = {c.id: c for c in FL.dichotomy_claims(e, path.X[0])}
    assert claims["loud-small-init-global"].verdict == REPRODUCED
    assert claims["loud-fails-loudly" if "loud-fails-loudly" in claims else "loud-spurious-large"].verdict == "inconclusive"
    # broken: pretend run 0 is a spurious point of low rank and small norm (a quiet failure)
    e.gap[0] = 1.0
    claims = {c.id: c for c in FL.dichotomy_claims(e, path.X[0])}
    assert claims["loud-spurious-large"].verdict == NOT_REPRODUCED
    assert claims["loud-spurious-full-rank"].verdict == NOT_REPRODUCED


def test_corollary_and_special_regime_claims():
    task = FL.matrix_sensing(4, 4, 1000, 1, 2.0, 0.01, _gen(6))
    lam = 0.01
    path = FL.regularized_path(task, torch.tensor([lam], dtype=torch.float64), max_iter=2000)
    est = FL.estimate_constants(task.loss, path.X[0], 2, 1.0, 100, _gen(7))
    e = FL.run_sweep(task, lam, 2, torch.tensor([0.0, 1.0], dtype=torch.float64), _gen(8), steps=300, lr=0.2,
                     newton_iters=20, f_ref=path.objective[0].item(), stabilize=True)
    [c] = FL.special_regime_claims(task, est, e)
    assert c.verdict == REPRODUCED
    cc = FL.corollary_check(e, est, path.X[0], 1, 1.0)
    assert cc.says_global.all() and math.isfinite(cc.threshold)
    e.gap[:] = 1.0  # broken: nothing global
    [c] = FL.special_regime_claims(task, est, e)
    assert c.verdict == NOT_REPRODUCED


def test_eps_rank_on_known_spectra():
    U = torch.linalg.qr(torch.randn(6, 6, generator=_gen(20), dtype=torch.float64)).Q
    V = torch.linalg.qr(torch.randn(4, 4, generator=_gen(21), dtype=torch.float64)).Q
    def mat(s):
        return U[:, :4] @ torch.diag(torch.tensor(s, dtype=torch.float64)) @ V.mT
    X = torch.stack([mat([1.0, 1.0, 1.0, 1.0]), mat([3.0, 0.0, 0.0, 0.0]), mat([1.0, 0.1, 0.01, 0.0])])
    # equal spectrum: tail after k of 4 is √((4−k)/4); ε = 0.5 needs √((4−k)/4) < 0.5, i.e. k = 4 (k = 3 gives 0.5)
    assert FL.eps_rank(X, 0.5).tolist() == [4, 1, 1]
    assert FL.eps_rank(X, 0.6).tolist() == [3, 1, 1]
    assert FL.eps_rank(X, 0.05).tolist() == [4, 1, 2]   # tail after 1: √(0.0101)/√1.0101 ≈ 0.0995
    assert FL.eps_rank(X, 0.009).tolist() == [4, 1, 3]
    # agrees with brute force: distance of the normalized matrix to its truncated SVD
    s = torch.linalg.svdvals(X[2] / X[2].norm())
    assert all((s[k:].norm() < 0.05) == (k >= 2) for k in range(4))


def test_lemma1_bound_formula():
    b = torch.tensor([1, 2, 4])
    got = FL.lemma1_bound(b, torch.tensor([0.5, 0.5, 0.75]), 0.2)
    want = torch.tensor([1, 2, 4]) * math.log(0.05) / torch.log(torch.tensor([0.5, 0.5, 0.25]))
    assert torch.allclose(got, want.double())
    assert abs(got[0].item() - 4.3219) < 1e-3          # log2(20)
    assert math.isinf(FL.lemma1_bound(3, 0.0, 0.2).item())


def test_minibatch_grad_matches_autograd_and_is_rank_b():
    task = FL.teacher_student(5, 4, 20, 10, 2, 1.0, 0.01, _gen(22))
    X = 0.1 * torch.randn(2, 5, 4, generator=_gen(23), dtype=torch.float64)
    idx = torch.tensor([[3, 7, 11], [0, 0, 5]])
    w = torch.tensor([[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]], dtype=torch.float64)
    G = FL.minibatch_grad(task, X, idx, w)
    for k in range(2):
        Xk = X[k].clone().requires_grad_(True)
        pred = torch.tanh(task.x[idx[k]] @ (task.W0 + Xk).mT) @ task.a
        (0.5 * (w[k] * (pred - task.y[idx[k]]).square()).sum()).backward()
        assert torch.allclose(G[k], Xk.grad)
    assert torch.linalg.matrix_rank(G).tolist() == [2, 2]   # b = 2 effective samples in each run


def test_sgd_lemma1_runs_and_claims_fail_on_broken_input():
    from lora_companion.claims import INCONCLUSIVE
    task = FL.teacher_student(8, 6, 64, 10, 6, 1.0, 0.01, _gen(24))
    b = torch.tensor([1, 1, 4, 4, 1, 4])
    ml = torch.tensor([0.6, 0.6, 0.6, 0.6, 0.0, 0.0], dtype=torch.float64)
    runs = FL.sgd_weight_decay(task, b, ml, 1e-2, 300, _gen(25), window=20)
    assert runs.X.shape == (6, 8, 6) and torch.isfinite(runs.X).all()
    assert (runs.eps_rank[:2] <= 3).all()                  # bound ⌊log(0.05)/log(0.4)⌋ = 3 at b = 1
    bound, trend = FL.lemma1_claims(runs, 6)
    assert bound.verdict == REPRODUCED
    runs.eps_rank[0] = 6                                   # broken: a full-rank limit at b = 1, μλ = 0.6
    bound, trend = FL.lemma1_claims(runs, 6)
    assert bound.verdict == NOT_REPRODUCED and trend.verdict == NOT_REPRODUCED
    runs.bound[:] = math.inf                               # no informative bound: nothing to test
    assert FL.lemma1_claims(runs, 6)[0].verdict == INCONCLUSIVE


def test_rsc_trend_claim_needs_a_strict_change():
    """Nested estimates are monotone by construction: flat is inconclusive, a strict change decides."""
    from types import SimpleNamespace

    import torch

    from lora_companion.experiments import fails_loudly as F

    def verdict(alphas, betas):
        ests = [SimpleNamespace(alpha=a, beta=b) for a, b in zip(alphas, betas)]
        empty = torch.zeros(1, dtype=torch.bool)
        cc = SimpleNamespace(in_ball=empty, consistent=empty, threshold=0.1)
        return F.constants_claims(ests, cc, SimpleNamespace(sosp=empty))[0].verdict

    assert verdict([0.1, 0.05], [1.0, 2.0]) == "reproduced"
    assert verdict([0.1, 0.1], [1.0, 2.0]) == "inconclusive"
    assert verdict([-0.1, -0.2], [1.0, 2.0]) == "not reproduced"
