"""Optimizers for factored (LoRA) parameters, batched over runs (the leading dimension of every tensor).

Parameters come in consecutive pairs (left, right) with update left @ right: the paper's (A d×r, B r×k) or PEFT's
(lora_B out×r, lora_A r×in). Step sizes may be a float or a tensor of shape (n_runs,) (one step size per run, so
a step-size sweep is one batched run). All classes are ``torch.optim.Optimizer`` subclasses; :func:`factory`
wraps them for :func:`lora_companion.train.train`.
"""
from __future__ import annotations

from typing import Callable

import torch

from .checks import nonnegative, positive


def _per_run(lr, p: torch.Tensor) -> torch.Tensor:
    """Broadcast a float or an (n_runs,) tensor of step sizes against parameter ``p`` (n_runs, ...)."""
    lr = torch.as_tensor(lr, dtype=p.dtype, device=p.device)
    return lr.reshape(lr.shape + (1,) * (p.dim() - lr.dim()))


def precondition(left: torch.Tensor, right: torch.Tensor, g_left: torch.Tensor, g_right: torch.Tensor,
                 damping: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. (9) of Zhang, Liu, Chen 2025 with damping λ ≥ 0 (ScaledGD, Tong et al. 2021; Zhang & Pilanci 2024):

        ∇_A L · (B Bᵀ + λI)⁻¹   and   (Aᵀ A + λI)⁻¹ · ∇_B L     for left = A (…, m, r), right = B (…, r, n).

    λ = 0 is the exact inverse of the theorem (valid when A, B have full rank r); in over-ranked settings
    BBᵀ is near-singular and λ > 0 is needed.
    """
    eye = torch.eye(left.shape[-1], dtype=left.dtype, device=left.device)
    P_right = right @ right.mT + damping * eye
    P_left = left.mT @ left + damping * eye
    # both matrices are symmetric: g (BBᵀ+λI)⁻¹ = ((BBᵀ+λI)⁻¹ gᵀ)ᵀ
    return torch.linalg.solve(P_right, g_left.mT).mT, torch.linalg.solve(P_left, g_right)


def _pairs(params: list[torch.Tensor]):
    if len(params) % 2:
        raise ValueError(f"factored optimizers need parameters in (left, right) pairs, got {len(params)} tensors")
    return [(params[i], params[i + 1]) for i in range(0, len(params), 2)]


class PreconditionedGD(torch.optim.Optimizer):
    """Preconditioned gradient descent, Eq. (9): A ← A − η ∇_A L (BBᵀ+λI)⁻¹,  B ← B − η (AᵀA+λI)⁻¹ ∇_B L.

    Both factors are updated from the same iterate (simultaneous update, as in Eq. 9).
    """

    def __init__(self, params, lr: float | torch.Tensor, damping: float = 1e-3):
        nonnegative(lr, "lr")
        nonnegative(damping, "damping")
        super().__init__(params, {"lr": lr, "damping": damping})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for A, B in _pairs(group["params"]):
                gA, gB = precondition(A, B, A.grad, B.grad, group["damping"])
                A.sub_(_per_run(group["lr"], A) * gA)
                B.sub_(_per_run(group["lr"], B) * gB)


class GD(torch.optim.Optimizer):
    """Plain gradient descent θ ← θ − η ∇θ with a per-run step size (Eq. 4 for LoRA factors)."""

    def __init__(self, params, lr: float | torch.Tensor):
        super().__init__(params, {"lr": nonnegative(lr, "lr")})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.sub_(_per_run(group["lr"], p) * p.grad)


class PreconditionedAdam(torch.optim.Optimizer):
    """Adam (Kingma & Ba 2015, bias-corrected) on the preconditioned gradients of Eq. (9).

    This is our reading of the "Scaled AdamW" once in the official LoRA-One repository (since withdrawn): first
    and second moments are taken of ∇_A L (BBᵀ+λI)⁻¹ and (AᵀA+λI)⁻¹ ∇_B L (default λ = 1e-6, as there).
    ``precondition=False`` gives plain Adam with a per-run step size.
    """

    def __init__(self, params, lr: float | torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-8,
                 damping: float = 1e-6, precondition: bool = True):
        nonnegative(lr, "lr")
        positive(eps, "eps")
        nonnegative(damping, "damping")
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "damping": damping,
                                  "precondition": precondition})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for A, B in _pairs(group["params"]):
                gA, gB = A.grad, B.grad
                if group["precondition"]:
                    gA, gB = precondition(A, B, gA, gB, group["damping"])
                for p, g in ((A, gA), (B, gB)):
                    st = self.state[p]
                    if not st:
                        st["t"], st["m"], st["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                    st["t"] += 1
                    st["m"].mul_(b1).add_(g, alpha=1 - b1)
                    st["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                    m_hat = st["m"] / (1 - b1 ** st["t"])
                    v_hat = st["v"] / (1 - b2 ** st["t"])
                    p.sub_(_per_run(group["lr"], p) * m_hat / (v_hat.sqrt() + group["eps"]))


def factory(cls: type[torch.optim.Optimizer], lr_per_run: torch.Tensor | None = None,
            **kwargs) -> Callable[[list[torch.Tensor], float], torch.optim.Optimizer]:
    """A ``(tensors, lr) -> Optimizer`` for :func:`lora_companion.train.train`; ``lr_per_run`` (n_runs,)
    multiplies ``train``'s scalar lr (pass lr=1 to ``train`` to give each run its own step size)."""
    def make(tensors, lr):
        return cls(tensors, lr if lr_per_run is None else lr * lr_per_run, **kwargs)
    return make
