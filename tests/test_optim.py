"""Preconditioned optimizers (Eq. 9 of Zhang, Liu, Chen 2025)."""
import torch

from lora_companion.optim import GD, PreconditionedAdam, PreconditionedGD, factory, precondition
from lora_companion.train import train

g = torch.Generator().manual_seed(1)


def rand(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def test_precondition_matches_explicit_inverse():
    A, B, gA, gB = rand(3, 7, 2), rand(3, 2, 5), rand(3, 7, 2), rand(3, 2, 5)
    pA, pB = precondition(A, B, gA, gB, 1e-3)
    I = torch.eye(2, dtype=torch.float64)
    assert torch.allclose(pA, gA @ torch.linalg.inv(B @ B.mT + 1e-3 * I), atol=1e-10)
    assert torch.allclose(pB, torch.linalg.inv(A.mT @ A + 1e-3 * I) @ gB, atol=1e-10)


def _problem(kappa):
    """Batched matrix factorization ½‖AB − M‖² with M of condition number κ, started near the solution."""
    U = torch.linalg.qr(rand(2, 10, 3)).Q
    V = torch.linalg.qr(rand(2, 8, 3)).Q
    M = U * torch.logspace(0, -torch.log10(torch.tensor(kappa)).item(), 3, dtype=torch.float64) @ V.mT
    A0, B0 = U * 1.0, V.mT * torch.logspace(0, -torch.log10(torch.tensor(kappa)).item(), 3, dtype=torch.float64)[:, None]
    A0 = A0 + 0.05 * rand(2, 10, 3)
    return M, {"A": A0, "B": B0}


def test_preconditioned_gd_is_kappa_free_and_gd_is_not():
    out = {}
    for kappa in (1.0, 100.0):
        M, p = _problem(kappa)
        loss = lambda q: 0.5 * (q["A"] @ q["B"] - M).square().sum((-2, -1))  # noqa: E731
        pre = train(loss, p, steps=40, lr=0.5, optimizer=factory(PreconditionedGD, damping=0.0))
        gd = train(loss, p, steps=40, lr=0.5, optimizer=factory(GD))
        out[kappa] = (pre.history["loss"][-1].max().item(), gd.history["loss"][-1].max().item())
    assert out[1.0][0] < 1e-12 and out[100.0][0] < 1e-12
    assert out[100.0][1] > 1e-8   # plain GD still far from the solution at κ = 100


def test_per_run_step_sizes():
    p = {"A": torch.ones(2, 1, 1), "B": torch.ones(2, 1, 1)}
    res = train(lambda q: (q["A"] * q["B"]).sum((-2, -1)), p, steps=1, lr=1.0,
                optimizer=factory(GD, torch.tensor([0.0, 1.0])))
    assert res.params["A"][0].item() == 1.0 and res.params["A"][1].item() == 0.0


def test_preconditioned_adam_decreases_loss():
    M, p = _problem(10.0)
    loss = lambda q: 0.5 * (q["A"] @ q["B"] - M).square().sum((-2, -1))  # noqa: E731
    for pre in (True, False):
        res = train(loss, p, steps=100, lr=0.01, optimizer=factory(PreconditionedAdam, precondition=pre))
        assert (res.history["loss"][-1] < 0.1 * res.history["loss"][0]).all()
