"""LoRA on the factored objective F(U, V) = L̂(UVᵀ) + (λ/2)(‖U‖² + ‖V‖²) (Jang, Lee, Ryu 2024), the factored form
of min L̂(δ) + λ‖δ‖_*; δ = U Vᵀ with U m×r = PEFT ``lora_B`` and V n×r = ``lora_A``ᵀ.

All runs — D datasets × P = ranks × inits — train in one batch: parameters have leading dimension D·P and ranks
are padded to r_max and masked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...train import factored_gd
from .tasks import LinearTask

INITS = ("standard", "large")


@dataclass
class LoRARuns:
    """LoRA runs on D datasets × P = len(ranks)·len(inits) runs each, in one batch (rank r padded to r_max and
    masked). ``U`` (D, P, m, r_max), ``V`` (D, P, n, r_max); ``ranks``/``inits`` (P,) label each run."""

    U: torch.Tensor
    V: torch.Tensor
    ranks: torch.Tensor
    inits: torch.Tensor
    objective: torch.Tensor  # (n_records, D, P)
    steps: torch.Tensor
    failed: torch.Tensor     # (D, P)

    @property
    def delta(self) -> torch.Tensor:
        return self.U @ self.V.mT


def rank_mask(ranks: torch.Tensor, r_max: int) -> torch.Tensor:
    """(P, 1, r_max) mask keeping the first ``ranks[p]`` columns of run p's factors."""
    return (torch.arange(r_max, device=ranks.device)[None, :] < ranks[:, None]).double()[:, None, :]


def lora_objective(task: LinearTask, lam: torch.Tensor, mask: torch.Tensor):
    """F(U, V) = L̂(UVᵀ) + (λ/2)(‖U‖² + ‖V‖²) per run, on parameters of leading shape D·P (paper's LoRA objective
    with explicit weight decay; masked columns do not enter the product)."""
    D = task.G.shape[0]

    def F(p):
        U = p["U"].reshape(D, -1, *p["U"].shape[1:]) * mask
        V = p["V"].reshape(D, -1, *p["V"].shape[1:]) * mask
        pen = 0.5 * (U.square().sum((-2, -1)) + V.square().sum((-2, -1)))
        return (task.risk(U @ V.mT) + lam[:, None] * pen).reshape(-1)
    return F


def init_factors(D: int, m: int, n: int, ranks: torch.Tensor, inits: list[str], r_max: int, gen, scale=1.0):
    """Initial (U, V) of shape (D, P, ·, r_max), P = len(ranks)·len(inits), rank-major.

    ``standard``: U = 0 (PEFT B = 0), V ~ N(0, 1/n) (PEFT A); δ = 0 but the point is not stationary.
    ``large``: U, V ~ N(0, scale/√(mn)·…) — both factors random with ‖UVᵀ‖ comparable to ‖δ*‖ (σ₁(δ*) = scale).
    """
    P = len(ranks) * len(inits)
    U = torch.randn(D, P, m, r_max, generator=gen, dtype=torch.float64)
    V = torch.randn(D, P, n, r_max, generator=gen, dtype=torch.float64)
    large = torch.tensor([i == "large" for i in inits], dtype=torch.float64).repeat(len(ranks))[:, None, None]
    s = math.sqrt(scale) / (m * n) ** 0.25
    U = U * large * s
    V = V * (large * s + (1 - large) / math.sqrt(n))
    mask = rank_mask(ranks.repeat_interleave(len(inits)), r_max)
    return U * mask, V * mask


def train_lora(task: LinearTask, lam: torch.Tensor, ranks: list[int], inits: list[str], *, steps: int, lr: float,
               gen, record_every: int = 50, scale: float = 1.0) -> LoRARuns:
    """Gradient descent on the LoRA objective for every dataset × rank × init (``train.factored_gd``: closed-form
    gradients through :meth:`LinearTask.risk_and_grad`; the masked columns start at 0 and their gradients vanish, so
    they stay 0)."""
    D, K, m, n = task.shape
    r_max = max(ranks)
    rk = torch.tensor(ranks).repeat_interleave(len(inits))
    it = torch.tensor([INITS.index(i) for i in inits]).repeat(len(ranks))
    U0, V0 = init_factors(D, m, n, torch.tensor(ranks), inits, r_max, gen, scale)
    U0, V0 = U0.to(task.G.device), V0.to(task.G.device)
    mask = rank_mask(rk, r_max).to(task.G.device)
    P = len(rk)

    def risk_and_grad(X):
        loss, g = task.risk_and_grad(X.reshape(D, P, m, n))
        return loss.reshape(-1), g.reshape(D * P, m, n)

    res = factored_gd(risk_and_grad, U0.flatten(0, 1), V0.flatten(0, 1), steps=steps, lr=lr,
                      l2=lam.repeat_interleave(P), record_every=record_every)
    return LoRARuns(U=res.params["left"].reshape(D, P, m, r_max) * mask,
                    V=res.params["right"].reshape(D, P, n, r_max) * mask,
                    ranks=rk, inits=it, objective=res.history["objective"].reshape(-1, D, P), steps=res.steps,
                    failed=res.failed.reshape(D, P))
