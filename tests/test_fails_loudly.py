"""Fails-loudly chapter: tasks, claims that can fail, Corollary 1."""
import math

import torch

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


def test_zero_init_reaches_global_end_point():
    task = FL.teacher_student(6, 4, 64, 50, 1, 1.0, 0.01, _gen(2))
    lam = 0.01
    path = FL.regularized_path(task, torch.tensor([lam], dtype=torch.float64), max_iter=3000)
    r_star = int(path.rank[0])
    e = FL.run_sweep(task, lam, 3, torch.zeros(2, dtype=torch.float64), _gen(3), steps=500, lr=0.2,
                     newton_iters=20, f_ref=path.objective[0].item())
    assert e.sosp.all() and (e.gap < FL.A2_GAP).all() and (e.rank == r_star).all()


def test_theorem1_bounds_match_hand_computation():
    """σ_r = 1.5, σ_r* = 2, κ = 0.2: denominator 1 − 0.2·2/1.5, tail 1.5², distance² = 1 + 1 + 1.5²."""
    X_star = torch.diag(torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64))
    X = torch.diag(torch.tensor([2.0, 2.0, 1.5, 0.0], dtype=torch.float64))
    e = FL.EndPoints(scales=torch.zeros(1), X=X[None], objective=torch.ones(1), gap=torch.ones(1),
                     rank=torch.tensor([3]), norm=X.norm()[None], sv=torch.linalg.svdvals(X)[None],
                     test=torch.ones(1), imbalance=torch.zeros(1), cert=None, sosp=torch.tensor([True]),
                     failed=torch.tensor([False]), f_star=1.0, r=3)
    b = FL.theorem1_bounds(e, X_star, 2, 0.2, torch.tensor([0]))
    assert b["rank"].item() and b["sigma"].item() and b["distance"].item() and b["norm"].item()
    assert math.isclose(b["dist"].item() ** 2, 4.25)
    # the same point against κ = 0.9: σ_r = 1.5 < 0.9·2 violates the σ bound
    assert not FL.theorem1_bounds(e, X_star, 2, 0.9, torch.tensor([0]))["sigma"].item()


def test_rsc_profile_on_teacher_student_finds_negative_curvature():
    """On the chapter's task (small instance) the minimised quotient is below the Monte-Carlo estimate and the
    upper bounds are non-increasing in r (cumulative over the grid)."""
    task = FL.teacher_student(8, 4, 64, 10, 2, 1.0, 0.01, _gen(30))
    path = FL.regularized_path(task, torch.tensor([0.01], dtype=torch.float64), max_iter=3000)
    p = FL.constants_vs_rank(task, path.X[0], [2, 3], 1.0, 100, _gen(31))
    assert all(up <= mc for up, mc in zip(p.alpha_upper, p.alpha_mc))
    assert p.alpha_upper[1] <= p.alpha_upper[0]


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


def test_sgd_lemma1_runs_within_bound():
    task = FL.teacher_student(8, 6, 64, 10, 6, 1.0, 0.01, _gen(24))
    b = torch.tensor([1, 1, 4, 4, 1, 4])
    ml = torch.tensor([0.6, 0.6, 0.6, 0.6, 0.0, 0.0], dtype=torch.float64)
    runs = FL.sgd_weight_decay(task, b, ml, 1e-2, 300, _gen(25), window=20)
    assert runs.X.shape == (6, 8, 6) and torch.isfinite(runs.X).all()
    assert (runs.eps_rank[:2] <= 3).all()                  # bound ⌊log(0.05)/log(0.4)⌋ = 3 at b = 1


def test_figures_pass_the_house_lint():
    import matplotlib

    matplotlib.use("Agg")
    from test_controls_fails_loudly import D64, _path, diag, ends

    from lora_companion import figures
    from lora_companion.restricted import RestrictedEstimate
    figures.style()
    X = [diag(0.3, 0.1)] * 6 + [diag(2.0, 1.0, 0.8, 0.5)] * 2
    e = ends(X, [0.0] * 6 + [1.0, 2.0], 4, scales=[0.0, 0.0, 1.0, 1.0, 3.0, 3.0, 10.0, 10.0],
             test=[1e-3] * 6 + [0.05, 0.08])
    mc = [RestrictedEstimate(0.03, 1.2 + 0.1 * i, None, None, r, 1.0) for i, r in enumerate([2, 4, 6, 8])]
    b, ml = torch.tensor([1, 1, 4, 4, 1, 4]), torch.tensor([0.5, 0.5, 0.5, 0.5, 0.0, 0.0], dtype=D64)
    runs = FL.SGDRuns(b=b, mu_lam=ml, X=torch.zeros(6, 8, 8, dtype=D64), norm_hist=torch.ones(5, 6, dtype=D64),
                      eps_rank=torch.tensor([2, 2, 3, 3, 8, 8]), bound=FL.lemma1_bound(b, ml, 0.2), eps=0.2)
    for fig in (FL.plot_dichotomy(e), FL.plot_corollary(e, 2, 0.02), FL.plot_success([1, 2, 4], [e, e, e], 2),
                FL.plot_regularized(_path([3, 2, 1], [5.0, 2.0, 1.0]), 2),
                FL.plot_constants(FL.RSCProfile([2, 4, 6, 8], mc, [-0.004, -0.008, -0.008, -0.009], -0.0089)),
                FL.plot_lemma1(runs, 8)):
        assert figures.lint(fig) == []


def test_closed_form_loss_gradients_match_autograd():
    gen = torch.Generator().manual_seed(3)
    for task in (FL.teacher_student(5, 4, 30, 10, 2, 1.0, 0.1, gen), FL.matrix_sensing(4, 3, 40, 2, 1.0, 0.1, gen)):
        m, n = task.shape
        X = torch.randn(3, m, n, generator=gen, dtype=torch.float64).requires_grad_(True)
        loss, g = task.loss_and_grad(X.detach())
        auto_loss = FL.batched_loss(task)(X)
        auto, = torch.autograd.grad(auto_loss.sum(), X)
        assert torch.allclose(loss, auto_loss.detach(), atol=1e-12) and torch.allclose(g, auto, atol=1e-12)


def test_closed_form_lora_derivatives_match_torch_func():
    from torch.func import grad, hessian

    gen = torch.Generator().manual_seed(4)
    lam = 0.03
    for task in (FL.teacher_student(5, 4, 30, 10, 2, 1.0, 0.1, gen), FL.matrix_sensing(4, 3, 40, 2, 1.0, 0.1, gen)):
        m, n = task.shape
        A = torch.randn(3, m, 2, generator=gen, dtype=torch.float64)
        B = torch.randn(3, n, 2, generator=gen, dtype=torch.float64)
        f, g, H = FL.factored_derivatives(task, A, B, lam)
        obj = FL.lora_objective(task, lam)

        def single(v):
            return obj({"A": v[:2 * m].reshape(1, m, 2), "B": v[2 * m:].reshape(1, n, 2)})[0]

        v = torch.cat([A.flatten(1), B.flatten(1)], 1)
        assert torch.allclose(f, torch.stack([single(x) for x in v]), atol=1e-12)
        assert torch.allclose(g, torch.stack([grad(single)(x) for x in v]), atol=1e-10)
        assert torch.allclose(H, torch.stack([hessian(single)(x) for x in v]), atol=1e-10)
