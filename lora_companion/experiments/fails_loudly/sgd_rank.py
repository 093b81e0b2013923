"""A5: Lemma 1 (Sec. 3.4, after Galanti et al. 2024): the limit of SGD with batch b, step μ and weight decay λ > 0
is ε-close (after normalization) to a matrix of rank ≤ b·log(ε/4)/log(1 − μλ)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...linalg import singular_values
from .tasks import TeacherStudent
from .thresholds import EPS_RANK


def eps_rank(X: torch.Tensor, eps: float) -> torch.Tensor:
    """Smallest k such that some W with rank W ≤ k has ‖X/‖X‖_F − W‖_F < ε (Lemma 1's notion, Frobenius norm):
    by Eckart–Young the best W is the truncated SVD, so k = #{j : √(Σ_{i>j} σ_i²)/‖X‖_F ≥ ε} counted over
    j = 0, 1, … — the number of leading singular values needed before the tail drops below ε. Batched (…, m, n)."""
    s2 = singular_values(X).square()
    tail = (s2.flip(-1).cumsum(-1).flip(-1) / s2.sum(-1, keepdim=True)).sqrt()  # tail[j] = ‖σ_{j+1:}‖/‖σ‖
    return (tail >= eps).sum(-1)


def lemma1_bound(b, mu_lam, eps: float) -> torch.Tensor:
    """Lemma 1 (Kim, Kim, Ryu 2025, Sec. 3.4, after Galanti et al. 2024): rank ≤ b·log(ε/4)/log(1 − μλ), as a real
    number (an integer rank satisfies it iff rank ≤ its floor); +∞ at μλ = 0, where the bound is vacuous."""
    b = torch.as_tensor(b, dtype=torch.float64)
    mu_lam = torch.as_tensor(mu_lam, dtype=torch.float64)
    return b * math.log(eps / 4) / torch.log1p(-mu_lam)


def minibatch_grad(task: TeacherStudent, X: torch.Tensor, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Σ_j w_j ∇_X ½(f(W₀ + X; x_{idx_j}) − y_{idx_j})² per run, X (R, m, n), idx and weights w (R, k).

    Closed form: each sample contributes the rank-one matrix δ xᵀ with δ = (f − y)·a ⊙ tanh′((W₀ + X)x), the
    structure behind Lemma 1 (a batch of b samples gives a gradient of rank ≤ b)."""
    x, y = task.x[idx], task.y[idx]                              # (R, k, n), (R, k)
    h = torch.tanh(x @ (task.W0 + X).mT)                         # (R, k, m)
    res = h @ task.a - y                                         # (R, k)
    delta = (w * res)[..., None] * task.a * (1 - h.square())     # (R, k, m)
    return delta.mT @ x


@dataclass
class SGDRuns:
    """End points of SGD with weight decay, one run per (b, μλ, seed) entry."""

    b: torch.Tensor          # (R,) batch size
    mu_lam: torch.Tensor     # (R,) step × decay
    X: torch.Tensor          # (R, m, n) last iterate X̃
    norm_hist: torch.Tensor  # (T', R) ‖X_t‖_F over the last ``window`` steps
    eps_rank: torch.Tensor   # (R,) ε-rank of X̃/‖X̃‖_F
    bound: torch.Tensor      # (R,) Lemma 1's bound (real; +∞ at λ = 0)
    eps: float

    @property
    def norm_drift(self) -> torch.Tensor:
        """max/min of ‖X_t‖_F over the window (≈ 1 in a stationary regime; Lemma 1 assumes convergence)."""
        return self.norm_hist.max(0).values / self.norm_hist.min(0).values


def sgd_weight_decay(task: TeacherStudent, b: torch.Tensor, mu_lam: torch.Tensor, lr: float, steps: int,
                     gen: torch.Generator, *, eps: float = EPS_RANK, window: int = 100) -> SGDRuns:
    """Full fine-tuning of X by mini-batch SGD with coupled weight decay (an explicit L2 term):

        X_{t+1} = (1 − μλ) X_t − μ · (1/b) Σ_{i∈batch_t} ∇_X ½(f(W₀ + X_t; x_i) − y_i)²,   X_0 = 0,

    all runs at once (R = len(b) = len(mu_lam)); run r uses batch size b_r and decay λ_r = mu_lam_r/μ. Batches are
    drawn with replacement on the CPU with ``gen`` (samples beyond b_r get weight 0). Lemma 1 is stated for the
    LoRA factors; its proof (after Galanti et al.) rests on the rank-≤b mini-batch gradient of a linear layer,
    which this full-matrix update exhibits directly (our reading; the appendix with the proof was not available).
    """
    b = torch.as_tensor(b, dtype=torch.long)
    mu_lam = torch.as_tensor(mu_lam, dtype=task.x.dtype)
    R, k = len(b), int(b.max())
    m, n = task.shape
    dev = task.x.device
    w = ((torch.arange(k)[None] < b[:, None]) / b[:, None]).to(task.x.dtype).to(dev)
    decay = (1 - mu_lam).to(dev)[:, None, None]
    X = torch.zeros(R, m, n, dtype=task.x.dtype, device=dev)
    hist = []
    for t in range(steps):
        idx = torch.randint(task.x.shape[0], (R, k), generator=gen).to(dev)
        X = decay * X - lr * minibatch_grad(task, X, idx, w)
        if t >= steps - window:
            hist.append(torch.linalg.matrix_norm(X))
    return SGDRuns(b=b, mu_lam=mu_lam.cpu(), X=X, norm_hist=torch.stack(hist), eps_rank=eps_rank(X, eps).cpu(),
                   bound=lemma1_bound(b, mu_lam.cpu(), eps), eps=eps)
