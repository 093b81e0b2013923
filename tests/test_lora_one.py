"""LoRA-One experiments: tasks, metrics, and claims that can fail."""
import pytest
import torch

from lora_companion.claims import REPRODUCED
from lora_companion.experiments import lora_one as E

g = torch.Generator().manual_seed(3)


def test_linear_teacher_gradient_matches_autograd():
    task = E.make_teacher("linear", 6, 5, torch.tensor([1.0, 0.5], dtype=torch.float64), 40, 2, g)
    relu = E.make_teacher("relu", 6, 5, torch.tensor([1.0, 0.5], dtype=torch.float64), 40, 2, g)
    for t in (task, relu):
        M = torch.zeros(2, 6, 5, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(t.loss(M).sum(), M)
        assert torch.allclose(t.neg_grad(), -grad, atol=1e-12)
    assert torch.allclose(task.loss(task.delta), torch.zeros(2, dtype=torch.float64), atol=1e-20)
    assert torch.linalg.matrix_rank(task.neg_grad()).tolist() == [2, 2]


def test_metrics():
    task = E.make_teacher("linear", 8, 8, torch.ones(2, dtype=torch.float64), 64, 1, g)
    U_G, V_perp = E.singular_bases(task.neg_grad(), 2)
    assert E.alignment_angle(U_G, U_G @ torch.randn(1, 2, 2, generator=g, dtype=torch.float64)).item() < 1e-6  # arccos near 1
    B_in = torch.randn(1, 3, 2, generator=g, dtype=torch.float64) @ task.neg_grad()[:, :2]  # rows in the row space
    assert E.row_space_leak(V_perp, torch.randn(1, 3, 8, generator=g, dtype=torch.float64)).item() > 0.1
    assert E.row_space_leak(V_perp, torch.zeros(1, 3, 8, dtype=torch.float64)).item() == 0
    assert E.steps_to(torch.tensor([[1.0, 1.0], [0.1, 1.0]]), 0.5).tolist() == [1.0, float("inf")]
    assert abs(E.loglog_slope([1, 4, 16], [1, 0.5, 0.25]) + 0.5) < 1e-12
    del B_in


def test_thm31_holds_and_claims_are_recorded_with_kinds():
    task = E.make_teacher("linear", 12, 12, torch.ones(2, dtype=torch.float64), 96, 3, g)
    res = E.alignment_experiment(task, 4, 2, [1e-2, 1e-4], 0.1, 60, g, every=10)
    assert res.leak.max() < E.LEAK_TOL and res.b0 == 0.0
    one = E.alignment_experiment(task, 4, 2, [1e-2], 0.1, 60, g, every=10)
    claims = {c.id: c for c in E.alignment_claims(res, {12: one, 16: one}, 4, 2, 8)}
    assert claims["loraone-b-row-space"].verdict == REPRODUCED and claims["loraone-b-row-space"].kind == "theorem"
    assert claims["loraone-a-align-dimension"].kind == "extension" and claims["loraone-a-align-dimension"].seeds == 3


def test_per_seed_slopes_and_sample_size_search():
    x = [1.0, 4.0, 16.0]
    y = torch.tensor([[1.0, 2.0], [0.5, 2.0], [0.25, 2.0]], dtype=torch.float64)
    assert torch.allclose(E.per_seed_slopes(x, y), torch.tensor([-0.5, 0.0], dtype=torch.float64), atol=1e-12)
    grid = [2.0, 8.0, 32.0, 128.0, 512.0]
    need = E.sample_size_needed(8, 2, [1.0, 8.0], grid, 3, g)
    assert need.shape == (2, 3) and bool((need[1] >= need[0]).all())   # κ = 8 never needs fewer samples
    assert set(need[torch.isfinite(need)].tolist()) <= set(grid)


def test_one_step_experiment_shapes():
    res = E.one_step_experiment(16, 2, [4, 16, 64], [1.0, 2.0], 16, 2048, [2.0, 8.0, 32.0, 128.0], 3, g)
    assert res.err_n.shape == (3, 3) and res.need.shape == (2, 3) and res.err_relu.shape == (2, 3)
    assert {c.id: c.kind for c in E.one_step_claims(res)} == {
        "loraone-one-step-rate": "theorem", "loraone-one-step-kappa": "theorem", "loraone-relu-gamma": "theorem"}


def test_kappa_and_contraction_record_per_seed_and_hypotheses():
    res = E.kappa_experiment("linear", 12, 2, 192, [1.0, 10.0], {"gd": [0.5], "precgd": [0.5]}, 40, 1e-3, 1e-3, 3,
                             g)
    assert res.seeds["gd"].shape == (2, 3) and bool((res.seeds["gd"] <= 41).all())
    rc = E.relu_contraction(12, 2, 1024, [1.0, 4.0], 0.5, [1.0], 10, 1e-3, 2, g)
    assert rc.rho.shape == (2, 2) and rc.a41.shape == (2, 2)
    thm = E.contraction_claims(rc)[0]
    assert thm.kind == "theorem" and {h["name"][:1] for h in thm.hypotheses} >= {"ρ", "A"}


def test_init_comparison_and_spectral_start():
    task = E.make_teacher("linear", 12, 12, torch.tensor([4.0, 3, 2, 1], dtype=torch.float64) / 4, 192, 2, g)
    res = E.init_experiment(task, 4, 40, 0.5, 1e-3, [0.5], 1e-2, g)
    med = {k: v.median(-1).values for k, v in res.curves.items()}
    assert med["lora_one/precgd"][0] < 0.5 < med["lora/precgd"][0]            # spectral start is near Δ
    assert med["lora_ga/precgd"][0] > 0.99                                     # subtraction: update 0 at start
    assert E.censored_steps(torch.tensor([[1.0, 1.0], [0.1, 1.0]]), 0.5).tolist() == [1.0, 2.0]


def test_digits_smoke_and_claims():
    res = E.digits_experiment(16, 2, [0.3], 12, 32, 16.0, 30, 2, [1.0], g)
    assert res.pre_acc < 20 and set(res.loss) == set(E.DIGITS_METHODS)
    assert res.loss["full"].shape == (13, 2) and res.one_step_gain.shape == (2,)
    assert {c.kind for c in E.digits_claims(res)} == {"empirical"}


def test_digits_ensemble_equals_one_ordinary_module():
    """Seeds × step sizes through torch.func (vmap of functional_call) reproduce one member trained as a plain
    nn.Module with torch.optim: pre-training (Adam), LoRA-One fine-tuning (GD) and the one-step update."""
    from torch.nn.functional import cross_entropy
    from lora_companion import inits
    from lora_companion.experiments.lora_one import digits as D
    from lora_companion.lora_linear import apply_lora
    gen = torch.Generator().manual_seed(5)
    data = E.load_digits_task(gen, 2, dtype=torch.float64)     # float64: the ensemble machinery to round-off
    net, init = D.make_ensemble(8, 2, gen, dtype=torch.float64)
    params = E.pretrain(net, init, data.X_odd, data.y_odd, 5, 1e-2)
    i, lrs, steps = 1, [0.1, 0.5], 4
    accuracy = lambda m: 100.0 * (m(data.X_test[i]).argmax(-1) == data.y_test[i]).double().mean()  # noqa: E731

    ref = D.member(net, init, i)
    opt = torch.optim.Adam(ref.parameters(), lr=1e-2)
    for _ in range(5):
        opt.zero_grad()
        cross_entropy(ref(data.X_odd), data.y_odd).backward()
        opt.step()
    assert all(torch.allclose(p, params[k][i], rtol=0, atol=1e-13) for k, p in ref.state_dict().items())

    loss, acc, _ = E.finetune(net, params, "lora_one", data, 2, lrs, steps, 16, 4.0, [0, steps])
    Xg, yg = data.X_train[i, :16], data.y_train[i, :16]
    model = apply_lora(D.member(net, params, i), 2, 2.0, init="lora_one", s=4.0,
                       loss_fn=lambda m: cross_entropy(m(Xg), yg))
    opt = torch.optim.SGD([p for n, p in model.named_parameters() if "lora_" in n], lr=lrs[1])
    ref_loss = []
    for step in range(steps + 1):
        opt.zero_grad()
        value = cross_entropy(model(data.X_train[i]), data.y_train[i])
        ref_loss.append(value.item())
        if step < steps:
            value.backward()
            opt.step()
    assert torch.allclose(loss[:, 1, i], torch.tensor(ref_loss, dtype=torch.float64), rtol=1e-12, atol=0)
    with torch.no_grad():
        assert acc[-1, 1, i] == accuracy(model)

    one = E.one_step_update(net, params, data, 2, [3.0], 16)
    W = D.member(net, params, i)
    grads = torch.autograd.grad(cross_entropy(W(Xg), yg), [W[0].weight, W[2].weight])
    with torch.no_grad():
        for layer, g in zip((W[0], W[2]), grads):
            left, right = inits.spectral_init(-g, 2)
            layer.weight.add_(3.0 * left @ right)
        assert one[0, i] == accuracy(W)


def test_closed_form_linear_gd_matches_autograd_gd():
    """E1's closed-form GD (∇_A = Σ̂E Bᵀ, ∇_B = AᵀΣ̂E) follows the autograd GD of run_method step for step."""
    task = E.make_teacher("linear", 10, 9, torch.ones(2, dtype=torch.float64), 80, 3, g)
    m = E.make_method("lora", task, 4, alpha=0.3, gen=torch.Generator().manual_seed(0))
    A, B = m.params["A"], m.params["B"] + 0.1   # B₀ ≠ 0 so that both gradients are exercised from step 0
    m.params["B"] = B
    ref = E.run_method(task, m, "gd", 0.05, 30, extra={"A": lambda p: p["A"].clone()}, every=3)
    from lora_companion.experiments.lora_one.alignment import linear_gd
    got = linear_gd(task, A, B, 0.05, 30, {"A": lambda p: p["A"]}, every=3)
    assert torch.allclose(got["risk"], ref["risk"], rtol=1e-10, atol=1e-14)
    assert torch.allclose(got["A"], ref["A"], rtol=1e-10, atol=1e-14)


# --- E8: the 2-D phase portrait (Fig. 3) ---

def test_portrait_gradients_match_autograd():
    from lora_companion.experiments.lora_one import phase_portrait as P
    g = torch.Generator().manual_seed(0)
    task = P.portrait_task([2.0, 1.0], 7, 3, g)
    a = torch.randn(3, 2, generator=g, dtype=torch.float64).requires_grad_()
    b = torch.randn(3, generator=g, dtype=torch.float64).requires_grad_()
    e = a * b[:, None] - task.beta
    loss = 0.5 * (e[:, None, :] @ task.cov @ e[..., None]).sum()
    ga, gb = torch.autograd.grad(loss, (a, b))
    ca, cb = P.gradients(task, a.detach(), b.detach())
    torch.testing.assert_close(ca, ga)
    torch.testing.assert_close(cb, gb)


def test_portrait_risk_is_the_sample_risk():
    """½ eᵀΣ̂e equals (1/2N)‖X a b − y‖² with y = Xβ: the closed form behind :func:`gradients`."""
    g = torch.Generator().manual_seed(1)
    X = torch.randn(9, 2, generator=g, dtype=torch.float64)
    beta, a, b = torch.tensor([2.0, 1.0], dtype=torch.float64), torch.tensor([0.3, -1.2], dtype=torch.float64), 0.7
    e = a * b - beta
    torch.testing.assert_close(0.5 * e @ (X.T @ X / 9) @ e, ((X @ a * b - X @ beta) ** 2).sum() / 18)


def test_distance_to_minimizers_brute_force_and_zero_on_the_curve():
    from scipy.optimize import minimize_scalar

    from lora_companion.experiments.lora_one import phase_portrait as P
    beta = torch.tensor([2.0, 1.0], dtype=torch.float64)
    pts = torch.tensor([[0.5, -1.0, 0.0], [1.0, 0.5, 1.0], [-2.0, 0.3, -0.4], [4.0, 2.0, 0.5]], dtype=torch.float64)
    got = P.distance_to_minimizers(pts, beta)
    for p, d in zip(pts.numpy(), got):
        f = lambda c: ((p[:2] - beta.numpy() / c) ** 2).sum() + (p[2] - c) ** 2   # noqa: E731
        best = min(minimize_scalar(f, bounds=bo, method="bounded", options={"xatol": 1e-12}).fun
                   for bo in [(1e-3, 50), (-50, -1e-3)])
        assert abs(d.item() - best ** 0.5) < 1e-6
    on = torch.tensor([[1.0, 0.5, 2.0], [-4.0, -2.0, -0.5]], dtype=torch.float64)
    assert P.distance_to_minimizers(on, beta).abs().max() < 1e-9


def test_portrait_spectral_init_is_one_gradient_step():
    """(Spectral-init) with γ = 1 and r = rank G♮ = 1 reproduces G♮ = Σ̂β exactly, balanced (‖a₀‖ = |b₀|)."""
    from lora_companion.experiments.lora_one import phase_portrait as P
    task = P.portrait_task([2.0, 1.0], 16, 4, torch.Generator().manual_seed(2))
    a, b = P.inits(task, 1.0, 1.0, torch.Generator().manual_seed(3))["spectral"]
    torch.testing.assert_close(a * b[:, None], (task.cov @ task.beta[:, None])[..., 0])
    torch.testing.assert_close(a.norm(dim=-1), b.abs())


def test_portrait_refuses_bad_sizes():
    from lora_companion.experiments.lora_one import phase_portrait as P
    with pytest.raises(ValueError, match="beta"):
        P.portrait_task([1.0, 2.0, 3.0], 16, 2, torch.Generator())
    with pytest.raises(ValueError, match="N"):
        P.portrait_task([1.0, 2.0], 1, 2, torch.Generator())


def test_mlp_grads_match_autograd_full_and_lora():
    """The closed-form two-layer gradients equal autograd's, for full fine-tuning and for LoRA adapters (random
    members, B ≠ 0, scaling ≠ 1), and the precomputed first-layer product gives the same result."""
    from torch.func import stack_module_state
    from lora_companion.experiments.lora_one import digits as D
    from lora_companion.lora_linear import apply_lora
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(3, 20, 64, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 10, (3, 20), generator=gen)
    net, params = D.make_ensemble(12, 3, gen, dtype=torch.float64)
    loss, grads = D.mlp_grads(params, X, y)
    w = {k: v.clone().requires_grad_() for k, v in params.items()}
    ref = torch.autograd.grad(D.losses(net, w, X, y).sum(), list(w.values()))
    assert torch.allclose(loss, D.losses(net, params, X, y), rtol=1e-13, atol=0)
    assert all(torch.allclose(grads[k], g, rtol=1e-12, atol=1e-14) for k, g in zip(w, ref))

    models = [apply_lora(D.member(net, params, i), 3, 1.7) for i in range(3)]
    stacked, _ = stack_module_state(models)
    lp = {k: v.detach() + (0.3 * torch.randn(v.shape, generator=gen, dtype=v.dtype) if "lora_B" in k else 0)
          for k, v in stacked.items()}
    template = models[0]
    first = X @ lp["0.base.weight"].mT + lp["0.base.bias"][:, None]
    loss, grads = D.mlp_grads(lp, X, y, template[0].scaling, first)
    w = {k: v.clone().requires_grad_("lora_" in k) for k, v in lp.items()}
    keys = [k for k in w if "lora_" in k]
    ref = torch.autograd.grad(D.losses(template, w, X, y).sum(), [w[k] for k in keys])
    assert sorted(grads) == sorted(keys)
    assert torch.allclose(loss, D.losses(template, lp, X, y), rtol=1e-13, atol=0)
    assert all(torch.allclose(grads[k], g, rtol=1e-12, atol=1e-14) for k, g in zip(keys, ref))
