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
