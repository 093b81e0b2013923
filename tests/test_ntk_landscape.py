"""Tests of lora_companion.experiments.ntk_landscape: the task objects against closed forms, and every claim
function failing on a deliberately broken result."""
import math
from dataclasses import replace

import torch

from lora_companion.claims import NOT_REPRODUCED, REPRODUCED
from lora_companion.experiments import ntk_landscape as E
from lora_companion.linalg import numerical_rank, svt


def gen(s=0):
    return torch.Generator().manual_seed(s)


def test_whitened_task_is_denoising_and_solver_matches_svt():
    """With N·K = m·n whitened features the squared risk is ½‖δ − M‖²·(1/N)·N: δ*_λ = svt(M, λ) (closed form)."""
    task = E.random_task([9], 1, 3, 3, 2, gen())
    assert torch.allclose(task.lipschitz(), torch.ones(2, dtype=torch.float64))
    Q = task.G[:, :, 0].reshape(2, 9, 9) / 3.0  # orthonormal rows
    M = (Q.mT @ (task.y[:, :, 0, None] / 3.0)).reshape(2, 3, 3)
    sol = E.solve_convex(task, torch.tensor([0.1, 0.2], dtype=torch.float64))
    # risk = (1/2N)‖3Qδ − y‖² = ½‖δ − M‖²  (Q square orthogonal)
    torch.testing.assert_close(sol.X, svt(M, torch.tensor([0.1, 0.2], dtype=torch.float64)), atol=1e-8, rtol=0)


def test_ridge_interpolates_with_min_norm():
    task = E.random_task([4, 6], 1, 4, 3, 2, gen(1), whiten=False)
    d = E.ridge_interpolant(task)
    pred = task.predict(d[:, None])[:, 0, :, 0] * task.w
    torch.testing.assert_close(pred, task.y[..., 0] * task.w)


def test_lora_objective_equals_convex_at_balanced_factors():
    from lora_companion.linalg import balanced_factors, nuclear_norm
    task = E.random_task([5], 1, 4, 4, 3, gen(2))
    lam = torch.full((3,), 0.3, dtype=torch.float64)
    delta = torch.randn(3, 4, 4, generator=gen(3), dtype=torch.float64)
    B, A = balanced_factors(delta, 4)
    F = E.lora_objective(task, lam, E.rank_mask(torch.tensor([4]), 4))
    got = F({"U": B, "V": A.mT})
    want = task.risk(delta[:, None])[:, 0] + lam * nuclear_norm(delta)
    torch.testing.assert_close(got, want)


def test_rank_claims_fail_on_broken_results():
    s = E.rank_sweep([4, 8], 1, 6, 6, 2, [0.3], gen(4))
    assert all(c.verdict == REPRODUCED for c in E.rank_claims([s])[:1])
    broken = replace(s, rank=s.rank + 10, ridge_rank=torch.zeros_like(s.ridge_rank))
    verdicts = {c.id: c.verdict for c in E.rank_claims([broken])}
    assert verdicts["ntk-rank-below-pataki"] == NOT_REPRODUCED
    assert verdicts["ntk-ridge-full-rank"] == NOT_REPRODUCED
    flat = replace(s, rank=torch.ones_like(s.rank))  # rank independent of N: slope 0
    assert {c.id: c.verdict for c in E.rank_claims([flat])}["ntk-rank-sqrt-growth"] == NOT_REPRODUCED


def test_landscape_and_balance_claims(tmp_path):
    res = E.landscape_experiment([4], 1, 4, 4, 2, 0.3, 1, list(E.INITS), steps=1500, lr=0.4, gen=gen(5))
    v = {c.id: c.verdict for c in E.landscape_claims(res)}
    assert v["ntk-no-spurious-above-threshold"] == REPRODUCED
    broken = replace(res, gap=torch.ones_like(res.gap))  # nothing reaches f*
    v = {c.id: c.verdict for c in E.landscape_claims(broken)}
    assert v["ntk-no-spurious-above-threshold"] == NOT_REPRODUCED
    assert v["ntk-empirical-threshold"] == NOT_REPRODUCED
    bal = E.balance(res)
    ctrl = E.zero_decay_control([4], 1, 4, 4, 2, 2, steps=300, lr=0.2, gen=gen(6))
    assert {c.id: c.verdict for c in E.balance_claims(bal, ctrl)}["ntk-weight-decay-nuclear"] == REPRODUCED
    bad = replace(bal, imbalance=bal.imbalance + 1.0)
    same = replace(ctrl, distance=torch.zeros_like(ctrl.distance))
    assert all(c.verdict == NOT_REPRODUCED for c in E.balance_claims(bad, same))


def test_generalization_and_real_claims_fail_on_broken_results():
    g = E.GeneralizationResult(Ns=[10, 20], test={k: torch.ones(2, 1) for k in ("convex", "lora", "ridge")},
                               train={k: torch.zeros(2, 1) for k in ("convex", "lora", "ridge")}, rank={}, slope=0.0)
    g.test["lora"] = 2 * g.test["lora"]
    assert all(c.verdict == NOT_REPRODUCED for c in E.generalization_claims(g))
    dr = E.DriftResult(alphas=[1, 2], drift=torch.ones(2), loss_true=None, loss_lin=None, steps=None, slope=0.0)
    cl = E.real_claims(torch.full((2, 1), 99), torch.ones(2, 1, dtype=torch.bool), [4, 8], 2, dr)
    assert all(c.verdict == NOT_REPRODUCED for c in cl)


def test_jacobian_task_features_are_rank_one_and_match_autograd():
    net = E.pretrain_mlp(4, 5, 2, 20, 5, gen(7))
    task, X = E.jacobian_task(net, [3], 1, gen(8))
    assert numerical_rank(task.G[0, 0, 0]).item() == 1  # (a_k ⊙ tanh′(W0x)) xᵀ
    x = X[0, 0]
    W = net.W0.clone().requires_grad_(True)
    out = net.a @ torch.tanh(W @ x)
    g, = torch.autograd.grad(out[1], W)
    torch.testing.assert_close(task.G[0, 0, 1], g)
    assert math.isclose(E.loglog_slope([1, 2, 4], [1, 0.5, 0.25]), -1.0)
