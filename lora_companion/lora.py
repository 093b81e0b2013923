"""LoRA as a factorization of the weight update.

Convention (HF PEFT, ``tuners/lora/layer.py``): for a weight W ∈ R^{out×in}, ``lora_B`` is out×r, ``lora_A`` is
r×in and the update is δ = scaling · B A. The papers use other letters; each chapter converts explicitly:

* Jang, Lee, Ryu 2024 (NTK landscape): δ = U Vᵀ, U = B (m×r), V = Aᵀ (n×r).
* Kim, Kim, Ryu 2025 (fails loudly):   X = A Bᵀ with their A m×r = our B, their B n×r = our Aᵀ.
* Zhang, Liu, Chen 2025 (LoRA-One):    W♮ + A B with W♮ ∈ R^{d×k} = (in×out) = PEFT Wᵀ, so their
  A (d×r, input side) = lora_Aᵀ and their B (r×k) = lora_Bᵀ.

Every tensor may carry leading batch dimensions (seeds, sweep points).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .checks import nonnegative
from .linalg import balanced_factors


@dataclass
class LoRAFactors:
    """A pair of LoRA factors ``B`` (..., m, r) and ``A`` (..., r, n) with update δ = scaling · B A."""

    B: torch.Tensor
    A: torch.Tensor
    scaling: float = 1.0

    def __post_init__(self):
        if self.B.shape[-1] != self.A.shape[-2]:
            raise ValueError(f"rank mismatch: B is {tuple(self.B.shape)}, A is {tuple(self.A.shape)}")
        if self.B.shape[:-2] != self.A.shape[:-2]:
            raise ValueError(f"batch mismatch: B is {tuple(self.B.shape)}, A is {tuple(self.A.shape)}")

    @property
    def rank(self) -> int:
        """The LoRA rank r (an upper bound on rank δ)."""
        return self.B.shape[-1]

    def delta(self) -> torch.Tensor:
        """The update δ = scaling · B A, shape (..., m, n)."""
        return self.scaling * self.B @ self.A

    def penalty(self) -> torch.Tensor:
        """Weight-decay term ½(‖A‖_F² + ‖B‖_F²) per batch element."""
        return 0.5 * (self.A.square().sum((-2, -1)) + self.B.square().sum((-2, -1)))

    def imbalance(self) -> torch.Tensor:
        """‖BᵀB − AAᵀ‖_F: zero exactly for balanced factors, as at every stationary point of the
        weight-decayed objective (the r×r Gram matrices of the two sides coincide)."""
        return (self.B.mT @ self.B - self.A @ self.A.mT).square().sum((-2, -1)).sqrt()

    @classmethod
    def balanced(cls, delta: torch.Tensor, r: int) -> "LoRAFactors":
        """Balanced factors of the best rank-r approximation of ``delta`` (:func:`linalg.balanced_factors`)."""
        B, A = balanced_factors(delta, r)
        return cls(B=B, A=A)

    @classmethod
    def standard_init(cls, m: int, n: int, r: int, *, batch: tuple[int, ...] = (), std: float | None = None,
                      generator: torch.Generator | None = None, dtype=torch.float64, device="cpu") -> "LoRAFactors":
        """Standard LoRA init: A ~ N(0, std²) (std = 1/√n by default), B = 0, so δ = 0 at step 0."""
        check_rank(r, m, n)
        std = n ** -0.5 if std is None else nonnegative(std, "std")
        A = std * torch.randn(*batch, r, n, generator=generator, dtype=dtype, device=device)
        B = torch.zeros(*batch, m, r, dtype=dtype, device=device)
        return cls(B=B, A=A)


def check_rank(r: int, m: int, n: int, name: str = "r") -> None:
    """Raise a clear error unless 1 ≤ r ≤ min(m, n)."""
    if not isinstance(r, int) or isinstance(r, bool):
        raise TypeError(f"{name} must be an int, got {type(r).__name__}")
    if not 1 <= r <= min(m, n):
        raise ValueError(f"{name}={r} must satisfy 1 ≤ {name} ≤ min(m, n) = {min(m, n)}")
