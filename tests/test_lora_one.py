"""LoRA-One experiments: tasks, metrics, and claims that can fail."""
import torch

from lora_companion.claims import NOT_REPRODUCED, REPRODUCED
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


def test_thm31_holds_and_claim_fails_when_broken():
    task = E.make_teacher("linear", 12, 12, torch.ones(2, dtype=torch.float64), 96, 2, g)
    res = E.alignment_experiment(task, 4, 2, [1e-2, 1e-4], 0.1, 60, g, every=10)
    by_d = {12: res, 16: res}
    assert res.leak.max() < E.LEAK_TOL
    broken = E.AlignmentResult(res.alpha2, res.angle, res.leak + 0.5, res.risk, res.every)
    flipped = {12: res, 16: E.AlignmentResult(res.alpha2, res.angle - 0.5, res.leak, res.risk, res.every)}
    assert {c.id: c.verdict for c in E.alignment_claims(res, flipped)}["loraone-a-align-dimension"] == NOT_REPRODUCED
    verdicts = {c.id: c.verdict for c in E.alignment_claims(broken, by_d)}
    assert verdicts["loraone-b-row-space"] == NOT_REPRODUCED
    assert verdicts["loraone-a-align-dimension"] == "inconclusive"   # identical d results: no ordering


def test_one_step_claims_fail_on_broken_results():
    res = E.one_step_experiment(16, 2, [4, 16, 64], [1.0, 10.0], 16, 2048, 16, 3, g)
    assert {c.id: c.verdict for c in E.one_step_claims(res)}["loraone-relu-gamma"] == REPRODUCED
    res.slope_n, res.slope_kappa = 0.0, 0.0
    res.err_relu = res.err_relu.flip(0)
    assert all(c.verdict == NOT_REPRODUCED for c in E.one_step_claims(res))


def test_kappa_and_contraction_claims_fail_on_broken_results():
    flat = E.KappaResult([1, 100], {}, {"gd": torch.tensor([10.0, 12.0]), "precgd": torch.tensor([10.0, 50.0])},
                         {}, {}, 1e-3)
    assert E.kappa_claims(flat)[0].verdict == NOT_REPRODUCED
    slow = torch.ones(1, 5, 1) * 0.5
    res = E.ContractionResult([1.0], 0.5, slow, slow, slow, [1.0])
    assert E.contraction_claims(res)[0].verdict == NOT_REPRODUCED


def test_init_comparison_and_spectral_start():
    task = E.make_teacher("linear", 12, 12, torch.tensor([4.0, 3, 2, 1], dtype=torch.float64) / 4, 192, 2, g)
    res = E.init_experiment(task, 4, 40, 0.5, 1e-3, [0.5], 1e-2, g)
    med = {k: v.median(-1).values for k, v in res.curves.items()}
    assert med["lora_one/precgd"][0] < 0.5 < med["lora/precgd"][0]            # spectral start is near Δ
    assert med["lora_ga/precgd"][0] > 0.99                                     # subtraction: update 0 at start
    broken = E.InitResult({**res.curves, "lora_ga/precgd": res.curves["lora_one/precgd"]}, res.lrs)
    assert E.init_claims(broken)[0].verdict == NOT_REPRODUCED


def test_digits_smoke_and_claims():
    res = E.digits_experiment(16, 2, [0.3], 12, 32, 16.0, 30, 1, [1.0], g)
    assert res.pre_acc < 20 and set(res.loss) == set(E.DIGITS_METHODS)
    assert res.loss["full"].shape == (13, 1)
    res.one_step_acc = [res.pre_acc]
    assert E.digits_claims(res)[0].verdict == NOT_REPRODUCED


def test_digits_ensemble_equals_one_ordinary_module():
    """Seeds × step sizes through torch.func (vmap of functional_call) reproduce one member trained as a plain
    nn.Module with torch.optim: pre-training (Adam), LoRA-One fine-tuning (GD) and the one-step update."""
    from torch.nn.functional import cross_entropy
    from lora_companion import inits
    from lora_companion.experiments.lora_one import digits as D
    from lora_companion.peft import apply_lora
    gen = torch.Generator().manual_seed(5)
    data = E.load_digits_task(gen, 2)
    net, init = D.make_ensemble(8, 2, gen)
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
