"""The two tasks of the fails-loudly chapter, each a single fine-tuned matrix (Theorem 1's setting):

* :class:`TeacherStudent` — non-linear: f(W; x) = aᵀ tanh(W x) with frozen a, pre-trained W₀, labels from the
  teacher W₀ + X_true (rank X_true = ``rank_true``) plus noise, squared loss. L_full is non-convex.
* :class:`MatrixSensing` — L(X) = (1/2N) Σ (⟨M_k, X⟩ − y_k)², Gaussian M_k: convex quadratic whose Hessian
  H = (1/N) Σ vec M_k vec M_kᵀ gives *rigorous* bounds α ≥ λ_min(H), β ≤ λ_max(H); with N ≫ mn measurements
  2λ_min(H) > λ_max(H) and the instance is certifiably in the special regime.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.func import vmap

from ...lora import check_rank


def _planted(m: int, n: int, k: int, norm: float, gen: torch.Generator, dtype) -> torch.Tensor:
    """U Vᵀ · norm/√k with random orthonormal U (m×k), V (n×k): rank k, equal singular values, ‖·‖_F = norm."""
    U = torch.linalg.qr(torch.randn(m, k, generator=gen, dtype=dtype)).Q
    V = torch.linalg.qr(torch.randn(n, k, generator=gen, dtype=dtype)).Q
    return U @ V.mT * (norm / math.sqrt(k))


@dataclass
class TeacherStudent:
    """Non-linear fine-tuning of one matrix: f(W; x) = aᵀ tanh(W x), W = W₀ + X (m hidden units, n inputs)."""

    W0: torch.Tensor       # (m, n) pre-trained weight
    a: torch.Tensor        # (m,) frozen output layer
    x: torch.Tensor        # (N, n) training inputs
    y: torch.Tensor        # (N,) training labels
    x_test: torch.Tensor
    y_test: torch.Tensor   # noiseless teacher outputs
    X_true: torch.Tensor   # (m, n) the teacher's update, rank ``rank_true``

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.W0.shape)

    def predict(self, X: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """f(W₀ + X; xᵢ) for every row of x: (N,)."""
        return torch.tanh(x @ (self.W0 + X).mT) @ self.a

    def loss(self, X: torch.Tensor) -> torch.Tensor:
        """L_full(X) = (1/2N) Σ (f(W₀ + X; xᵢ) − yᵢ)² for one matrix X (m, n)."""
        return 0.5 * (self.predict(X, self.x) - self.y).square().mean()

    def loss_and_grad(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(L_full, ∇L_full) for a batch X (B, m, n), in closed form: with h = tanh(x(W₀ + X)ᵀ) and e = h a − y,
        ∇L_full = (1/N) ((e ⊗ a) ⊙ (1 − h²))ᵀ x. The runs share the inputs x, so each direction is one matrix
        product with x for the whole batch (runs side by side in an (N, B·m) layout), not B small ones."""
        B, m, n = X.shape
        N = len(self.y)
        h = torch.tanh(self.x @ (self.W0 + X).reshape(B * m, n).mT).view(N, B, m)
        e = h @ self.a - self.y[:, None]                                   # (N, B)
        d = h.square().neg_().add_(1).mul_(self.a).mul_(e[..., None])      # (e ⊗ a) ⊙ (1 − h²)
        g = (self.x.mT @ d.view(N, B * m)).view(n, B, m).permute(1, 2, 0) / N
        return 0.5 * e.square().mean(0), g

    def hessian(self, X: torch.Tensor) -> torch.Tensor:
        """∇²L_full for a batch X (B, m, n), in closed form as (B, mn, mn): with s' = 1 − h², s'' = −2h(1 − h²),

            ∂²L/∂X_jk∂X_lq = (1/N) Σ_i [a_j s'_ij x_ik · a_l s'_il x_iq + δ_jl e_i a_j s''_ij x_ik x_iq]."""
        h = torch.tanh(self.x @ (self.W0 + X).mT)                          # (B, N, m)
        e = h @ self.a - self.y                                            # (B, N)
        s1 = 1 - h.square()
        J = (self.a * s1)[..., None] * self.x[:, None, :]                  # (B, N, m, n): ∂f_i/∂X
        B_, N, m, n = J.shape
        J = J.reshape(B_, N, m * n)
        H = J.mT @ J / N
        curv = e[..., None] * self.a * (-2 * h * s1)                       # (B, N, m)
        blocks = torch.einsum("bij,ik,iq->bjkq", curv, self.x, self.x) / N  # (B, m, n, n)
        H = H.reshape(B_, m, n, m, n)
        H = H + torch.diag_embed(blocks.permute(0, 2, 3, 1)).permute(0, 3, 1, 4, 2)
        return H.reshape(B_, m * n, m * n)

    def test_loss(self, X: torch.Tensor) -> torch.Tensor:
        """Held-out squared loss against the noiseless teacher, batched: (B, m, n) → (B,)."""
        return vmap(lambda Z: 0.5 * (self.predict(Z, self.x_test) - self.y_test).square().mean())(X)


def teacher_student(m: int, n: int, n_train: int, n_test: int, rank_true: int, norm_true: float, noise: float,
                    gen: torch.Generator, dtype=torch.float64, device="cpu") -> TeacherStudent:
    """A random instance: W₀ rows ~ N(0, I/n) (so W₀x is O(1)), a ~ N(0, I), x ~ N(0, I_n), X_true = UVᵀ with
    orthonormal U, V and equal singular values, ‖X_true‖_F = ``norm_true``, labels = teacher outputs + N(0, noise²)."""
    check_rank(rank_true, m, n, "rank_true")
    W0 = torch.randn(m, n, generator=gen, dtype=dtype) / math.sqrt(n)
    a = torch.randn(m, generator=gen, dtype=dtype)
    Xt = _planted(m, n, rank_true, norm_true, gen, dtype)
    x = torch.randn(n_train, n, generator=gen, dtype=dtype)
    x_test = torch.randn(n_test, n, generator=gen, dtype=dtype)
    eps = noise * torch.randn(n_train, generator=gen, dtype=dtype)
    to = dict(device=device)
    task = TeacherStudent(W0=W0.to(**to), a=a.to(**to), x=x.to(**to), y=eps.to(**to), x_test=x_test.to(**to),
                          y_test=torch.zeros(n_test, dtype=dtype, device=device), X_true=Xt.to(**to))
    task.y = task.predict(task.X_true, task.x) + task.y
    task.y_test = task.predict(task.X_true, task.x_test)
    return task


@dataclass
class MatrixSensing:
    """L(X) = (1/2N) Σ_k (⟨M_k, X⟩ − y_k)² with Gaussian sensing matrices M_k, stored in its exact quadratic form
    ½ xᵀHx − bᵀx + c (x = vec X, H = (1/N) Σ vec M_k vec M_kᵀ, b = (1/N) Σ y_k vec M_k, c = (1/2N) Σ y_k²), so a
    loss evaluation costs O((mn)²) whatever the number of measurements."""

    H: torch.Tensor        # (mn, mn)
    b: torch.Tensor        # (mn,)
    c: torch.Tensor        # ()
    X_true: torch.Tensor   # (m, n)
    n_meas: int

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.X_true.shape)

    def loss(self, X: torch.Tensor) -> torch.Tensor:
        x = X.reshape(-1)
        return 0.5 * x @ (self.H @ x) - self.b @ x + self.c

    def loss_and_grad(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(L, ∇L = Hx − b) for a batch X (B, m, n)."""
        x = X.flatten(-2)
        Hx = x @ self.H
        return 0.5 * (x * Hx).sum(-1) - x @ self.b + self.c, (Hx - self.b).reshape(X.shape)

    def hessian(self, X: torch.Tensor) -> torch.Tensor:
        """∇²L = H for every X of the batch: (B, mn, mn)."""
        return self.H.expand(X.shape[0], -1, -1)

    def test_loss(self, X: torch.Tensor) -> torch.Tensor:
        """Recovery error ‖X − X_true‖_F² / ‖X_true‖_F², batched."""
        return (X - self.X_true).square().sum((-2, -1)) / self.X_true.square().sum()

    def hessian_extremes(self) -> tuple[float, float]:
        """(λ_min, λ_max) of H: rigorous bounds α ≥ λ_min, β ≤ λ_max for every r and D."""
        ev = torch.linalg.eigvalsh(self.H)
        return ev[0].item(), ev[-1].item()


def matrix_sensing(m: int, n: int, n_meas: int, rank_true: int, norm_true: float, noise: float,
                   gen: torch.Generator, dtype=torch.float64, device="cpu") -> MatrixSensing:
    """A random instance with i.i.d. N(0, 1) sensing entries and a rank-``rank_true`` target of norm ``norm_true``."""
    check_rank(rank_true, m, n, "rank_true")
    Xt = _planted(m, n, rank_true, norm_true, gen, dtype)
    M = torch.randn(n_meas, m * n, generator=gen, dtype=dtype)
    y = M @ Xt.reshape(-1) + noise * torch.randn(n_meas, generator=gen, dtype=dtype)
    return MatrixSensing(H=(M.mT @ M / n_meas).to(device), b=(M.mT @ y / n_meas).to(device),
                         c=(0.5 * y.square().mean()).to(device), X_true=Xt.to(device), n_meas=n_meas)


def batched_loss(task):
    """(B, m, n) → (B,) version of ``task.loss``."""
    return vmap(task.loss)


def hessian_max_at_zero(task) -> float:
    """Largest eigenvalue of ∇²L_full at X = 0 (exact, mn×mn): the step-size scale of the proximal gradient."""
    m, n = task.shape
    zero = torch.zeros(m * n, dtype=task.X_true.dtype, device=task.X_true.device)
    H = torch.func.hessian(lambda v: task.loss(v.reshape(m, n)))(zero)
    return torch.linalg.eigvalsh(H)[-1].item()
