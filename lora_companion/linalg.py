"""Linear-algebra helpers shared by every chapter.

All functions accept batched inputs: a tensor of shape ``(..., m, n)`` is a batch of ``m × n`` matrices.
"""
from __future__ import annotations

import math

import torch

from .checks import matrix as _matrix, rank as _rank

#: Default relative tolerance of :func:`numerical_rank`: singular values below ``RANK_RTOL · σ₁`` count as zero.
#: 1e-4 is the threshold the NTK-landscape brief uses; it sits far above float64 round-off (~1e-16 · σ₁)
#: and far below the smallest singular value that carries signal in any experiment of the book.
RANK_RTOL = 1e-4


def singular_values(M: torch.Tensor) -> torch.Tensor:
    """Singular values σ₁ ≥ σ₂ ≥ … of each matrix in the batch (``torch.linalg.svdvals``)."""
    return torch.linalg.svdvals(M)


def numerical_rank(M: torch.Tensor, rtol: float = RANK_RTOL, atol: float = 0.0) -> torch.Tensor:
    """Number of singular values with σᵢ > max(atol, rtol · σ₁); 0 for the zero matrix.

    Unlike ``torch.linalg.matrix_rank`` (whose default rtol is machine-epsilon sized) the tolerance here is
    a documented, problem-level choice: see :data:`RANK_RTOL`.
    """
    s = singular_values(M)
    tol = torch.clamp(rtol * s[..., :1], min=atol)
    return ((s > tol) & (s > 0)).sum(-1)


def nuclear_norm(M: torch.Tensor) -> torch.Tensor:
    """Nuclear norm ‖M‖_* = Σᵢ σᵢ(M)."""
    return singular_values(M).sum(-1)


def svt(M: torch.Tensor, tau: float | torch.Tensor) -> torch.Tensor:
    """Singular-value soft-thresholding, the proximal map of τ‖·‖_* (Cai, Candès, Shen 2010, Thm 2.1).

    prox_{τ‖·‖_*}(M) = argmin_X ½‖X − M‖_F² + τ‖X‖_* = U diag((σᵢ − τ)₊) Vᵀ  for M = U diag(σ) Vᵀ.
    ``tau`` may be a tensor broadcasting against the batch shape.
    """
    U, s, Vh = torch.linalg.svd(_matrix(M, "M"), full_matrices=False)
    tau = torch.as_tensor(tau, dtype=s.dtype, device=s.device)
    if not bool(torch.isfinite(tau).all()) or bool((tau < 0).any()):
        raise ValueError(f"tau must be finite and ≥ 0 (a negative threshold would inflate σ), got {tau}")
    shrunk = torch.clamp(s - tau.unsqueeze(-1), min=0.0)
    return (U * shrunk[..., None, :]) @ Vh


def balanced_factors(M: torch.Tensor, r: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Balanced rank-``r`` factors ``B = U_r √Σ_r`` (m×r) and ``A = √Σ_r V_rᵀ`` (r×n) with ``BA`` = best rank-r
    approximation of ``M``. When rank M ≤ r, BA = M and ½(‖A‖_F² + ‖B‖_F²) = ‖M‖_* (the minimum over all
    factorizations; Srebro, Rennie, Jaakkola 2005, Lemma 6). Columns beyond rank M are zero.
    """
    _rank(r, "r", min(_matrix(M, "M").shape[-2:]))
    U, s, Vh = torch.linalg.svd(M, full_matrices=False)
    root = s[..., :r].sqrt()
    return U[..., :, :r] * root[..., None, :], root[..., :, None] * Vh[..., :r, :]


def orthonormal_basis(M: torch.Tensor, k: int | None = None) -> torch.Tensor:
    """Orthonormal basis (columns) of the span of the leading ``k`` left singular vectors of ``M``."""
    if k is not None:
        _rank(k, "k", min(_matrix(M, "M").shape[-2:]))
    U, _, _ = torch.linalg.svd(_matrix(M, "M"), full_matrices=False)
    return U if k is None else U[..., :, :k]


def principal_angles(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Principal angles θ₁ ≤ θ₂ ≤ … (radians) between the column spaces of X (n×p) and Y (n×q).

    With orthonormal bases Q_X, Q_Y, cos θᵢ are the singular values of Q_Xᵀ Q_Y (Björck & Golub 1973).
    Returns min(p, q) angles, ascending. X and Y must have full column rank (bases come from QR); for a
    rank-deficient factor pass :func:`orthonormal_basis` of it instead.
    """
    if _matrix(X, "X").shape[-2] != _matrix(Y, "Y").shape[-2]:
        raise ValueError(f"X and Y must have the same number of rows, got X {tuple(X.shape)} and Y {tuple(Y.shape)}")
    Qx = torch.linalg.qr(X).Q
    Qy = torch.linalg.qr(Y).Q
    cos = torch.linalg.svdvals(Qx.mT @ Qy).clamp(-1.0, 1.0)
    return torch.arccos(cos)


def subspace_distance(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """sin of the largest principal angle between span X and span Y (equal dimensions): ‖P_X − P_Y‖_op."""
    if _matrix(X, "X").shape[-1] != _matrix(Y, "Y").shape[-1]:
        raise ValueError(f"X and Y must have the same number of columns (equal-dimensional subspaces), got "
                         f"X {tuple(X.shape)} and Y {tuple(Y.shape)}")
    return torch.sin(principal_angles(X, Y)[..., -1])


def pataki_rank_bound(n_constraints: int) -> int:
    """Largest r with r(r+1)/2 ≤ n: the Barvinok–Pataki bound on the rank of an extreme point of an SDP with
    ``n`` linear constraints (Pataki 1998). With n = KN it is r_P(KN) = ⌊(√(8KN+1) − 1)/2⌋ ≈ √(2KN)
    (Jang, Lee, Ryu 2024).
    """
    if n_constraints < 0:
        raise ValueError(f"n_constraints must be ≥ 0, got {n_constraints}")
    r = (math.isqrt(8 * n_constraints + 1) - 1) // 2
    return r
