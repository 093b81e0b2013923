import pytest
import torch

from lora_companion.train import l2_penalty, train


def quadratic(targets):
    """Per-run loss ½‖x_s − t_s‖²."""
    return lambda p: 0.5 * (p["x"] - targets).square().sum(1)


def test_gd_matches_closed_form_iterates():
    t = torch.tensor([[1.0, 2.0], [-3.0, 0.5]], dtype=torch.float64)
    res = train(quadratic(t), {"x": torch.zeros(2, 2, dtype=torch.float64)}, steps=5, lr=0.1, l2=0.5)
    # x_{k+1} = x_k − lr((1 + l2) x_k − t)  ⇒  x_k = t/(1+l2) · (1 − (1 − lr(1+l2))^k)
    expected = t / 1.5 * (1 - (1 - 0.15) ** 5)
    assert torch.allclose(res.params["x"], expected)
    assert res.history["objective"].shape == (6, 2) and res.steps.tolist() == list(range(6))
    obj = 0.5 * (expected - t).square().sum(1) + 0.5 * l2_penalty({"x": expected})
    assert torch.allclose(res.history["objective"][-1], obj)


def test_divergent_run_is_marked_failed_without_touching_the_others():
    t = torch.ones(2, 3, dtype=torch.float64)
    scale = torch.tensor([1.0, 1e3], dtype=torch.float64)[:, None]
    loss = lambda p: 0.5 * (scale * (p["x"] - t)).square().sum(1)  # noqa: E731
    res = train(loss, {"x": torch.zeros(2, 3, dtype=torch.float64)}, steps=200, lr=0.5)
    assert res.failed.tolist() == [False, True]
    assert torch.allclose(res.params["x"][0], t)


def test_early_stop_on_gradient_tolerance_and_adam():
    t = torch.ones(3, 2, dtype=torch.float64)
    res = train(quadratic(t), {"x": torch.zeros(3, 2, dtype=torch.float64)}, steps=10_000, lr=0.5, tol=1e-8)
    assert res.steps[-1] < 100 and (res.history["grad_norm"][-1] <= 1e-8).all()
    res = train(quadratic(t), {"x": torch.zeros(3, 2, dtype=torch.float64)}, steps=500, lr=0.05, optimizer="adam")
    assert torch.allclose(res.params["x"], t, atol=1e-3)


def test_input_errors():
    p = {"x": torch.zeros(2, 2)}
    with pytest.raises(ValueError, match="lr"):
        train(quadratic(torch.ones(2, 2)), p, steps=1, lr=0.0)
    with pytest.raises(ValueError, match="steps"):
        train(quadratic(torch.ones(2, 2)), p, steps=-1, lr=0.1)
    with pytest.raises(ValueError, match="leading"):
        train(quadratic(torch.ones(2, 2)), {"x": torch.zeros(2, 2), "y": torch.zeros(3, 2)}, steps=1, lr=0.1)


def test_factored_gd_matches_autograd_training():
    from lora_companion.train import factored_gd

    gen = torch.Generator().manual_seed(0)
    target = torch.randn(3, 4, 5, generator=gen, dtype=torch.float64)
    L0 = torch.randn(3, 4, 2, generator=gen, dtype=torch.float64)
    R0 = torch.randn(3, 5, 2, generator=gen, dtype=torch.float64)
    lam = torch.tensor([0.0, 0.1, 0.3], dtype=torch.float64)

    def loss_and_grad(X):
        return 0.5 * (X - target).square().sum((-2, -1)), X - target

    fast = factored_gd(loss_and_grad, L0, R0, steps=40, lr=0.05, l2=lam, record_every=7)
    slow = [train(lambda p, t=target[i:i + 1]: 0.5 * (p["L"] @ p["R"].mT - t).square().sum((-2, -1)),
                  {"L": L0[i:i + 1], "R": R0[i:i + 1]}, steps=40, lr=0.05, l2=float(lam[i]), record_every=7)
            for i in range(3)]
    assert torch.allclose(fast.params["left"], torch.cat([s.params["L"] for s in slow]), atol=1e-12)
    assert torch.allclose(fast.params["right"], torch.cat([s.params["R"] for s in slow]), atol=1e-12)
    for k in ("objective", "loss", "grad_norm"):
        assert torch.allclose(fast.history[k], torch.cat([s.history[k] for s in slow], 1), atol=1e-12)
    assert torch.equal(fast.steps, slow[0].steps) and not fast.failed.any()
    boom = factored_gd(lambda X: (X.square().sum((-2, -1)), 1e6 * X), L0, R0, steps=30, lr=1.0)
    assert boom.failed.all()
