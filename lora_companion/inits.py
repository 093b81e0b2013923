"""LoRA initializations compared by Zhang, Liu, Chen 2025 (LoRA-One, ICML), all batched over leading dimensions.

Convention. Every function here works on a matrix ``M`` of shape (..., m, n) and returns a *left* factor
(..., m, r) and a *right* factor (..., r, n) whose product is the initial update:

* the paper's convention: W♮ ∈ R^{d×k} (input × output), G♮ = −∇_W L(W♮) ∈ R^{d×k}; left = the paper's A
  (d×r, input side), right = the paper's B (r×k);
* the PEFT convention: weight (out×in), gradient (out×in); left = ``lora_B`` (out×r), right = ``lora_A`` (r×in).

The two agree because the paper's matrices are the transposes of PEFT's (see :mod:`lora_companion.lora`).
Where an init changes the frozen base weight (LoRA-GA, PiSSA) the function also returns that new base weight.
"""
from __future__ import annotations

import torch

from .checks import matrix, nonnegative, nonzero_matrices, positive
from .lora import check_rank


def _svd(M: torch.Tensor):
    return torch.linalg.svd(M, full_matrices=False)


def spectral_init(G: torch.Tensor, r: int, gamma: float = 1.0, normalize: bool = False):
    """(Spectral-init) of the paper: A₀ = √γ U_G[:, :r] S_G[:r]^{1/2},  B₀ = √γ S_G[:r]^{1/2} V_G[:, :r]ᵀ.

    ``G`` is the *negative* gradient G♮ = −∇_W L(W♮) (paper Eq. 5), so A₀B₀ = γ P_r(G♮), a truncated one-step
    gradient-descent step with step size γ. The theory uses γ = 1 (linear model, Thm 3.3) and γ = 2 (ReLU model,
    Thm 4.2). ``normalize=True`` divides S by σ₁ first (Algorithm 1, line 3). The base weight is unchanged.
    Returns (left, right) = (A₀, B₀) in the paper's convention or (lora_B, lora_A) in PEFT's.
    """
    check_rank(r, matrix(G, "G").shape[-2], G.shape[-1])
    positive(gamma, "gamma")
    nonzero_matrices(G, "G", "its top-r singular subspace is undefined and the init would be A₀ = B₀ = 0, a saddle "
                             "gradient descent never leaves")
    U, S, Vh = _svd(G)
    if normalize:
        S = S / S[..., :1]
    root = (gamma * S[..., :r]).sqrt()
    return U[..., :, :r] * root[..., None, :], root[..., :, None] * Vh[..., :r, :]


def lora_one_init(grad: torch.Tensor, r: int, s: float = 128.0):
    """Algorithm 1, lines 1–5: SVD of −∇_W L(W♮), S ← S/S[0,0], γ ← 1/s, √S on both factors.

    ``grad`` is the gradient ∇_W L(W♮) itself (the sign flip happens here). Returns (left, right) as
    :func:`spectral_init`; the product is P_r(−∇L)/(s σ₁), and the base weight is not modified.
    """
    positive(s, "s")
    return spectral_init(-matrix(grad, "grad"), r, gamma=1.0 / s, normalize=True)


def vanilla_init(m: int, n: int, r: int, alpha: float, *, batch: tuple[int, ...] = (),
                 generator: torch.Generator | None = None, dtype=torch.float64):
    """(LoRA-init): the paper's A₀ (m×r, input side) with i.i.d. N(0, α²) entries, B₀ = 0 (r×n).

    In PEFT's convention the Gaussian factor is ``lora_A`` (r×in): pass (m, n) = (in, out) and transpose.
    """
    check_rank(r, m, n)
    nonnegative(alpha, "alpha")
    A = alpha * torch.randn(*batch, m, r, generator=generator, dtype=dtype)
    return A, torch.zeros(*batch, r, n, dtype=dtype)


def lora_ga_init(G: torch.Tensor, W: torch.Tensor, r: int, scale: float = 1.0):
    """LoRA-GA (Wang et al. 2024) as the paper describes it (Section 5): A₀ = −√c U_G[:, 1:r],
    B₀ = √c V_G[:, r+1:2r]ᵀ, and the frozen weight becomes W♮ − A₀B₀ so the model is unchanged at step 0.

    ``G`` = G♮ (paper's convention, d×k), ``W`` the base weight of the same shape; ``scale`` = c (LoRA-GA's
    own "stable scale" factor is omitted in the paper; c = 1 is our reading). Needs 2r ≤ min(d, k).
    Returns (A₀, B₀, W♮ − A₀B₀).
    """
    check_rank(2 * r, matrix(G, "G").shape[-2], G.shape[-1], name="2r")
    if matrix(W, "W").shape != G.shape:
        raise ValueError(f"W must have the shape of G, got W {tuple(W.shape)} and G {tuple(G.shape)}")
    positive(scale, "scale")
    U, _, Vh = _svd(G)
    A = -(scale ** 0.5) * U[..., :, :r]
    B = (scale ** 0.5) * Vh[..., r:2 * r, :]
    return A, B, W - A @ B


def lora_sb_init(G: torch.Tensor, r: int):
    """LoRA-SB (Ponkshe et al. 2024) as the paper describes it: frozen U = U_G[:, :r], V = V_G[:, :r] from the
    SVD of G♮ and a trainable r×r core R₀ = diag(S_G[:r]); the update is U R Vᵀ (so U R₀ Vᵀ = P_r(G♮)).

    Returns (U, R₀, Vᵀ); only R is trained, so the update can never leave span U ⊗ span V.
    """
    check_rank(r, matrix(G, "G").shape[-2], G.shape[-1])
    U, S, Vh = _svd(G)
    return U[..., :, :r], torch.diag_embed(S[..., :r]), Vh[..., :r, :]


def pissa_init(W: torch.Tensor, r: int):
    """PiSSA-like (Meng et al. 2024): balanced factors of the top-r SVD of the *weight*,
    A₀ = U_W[:, :r] S^{1/2}, B₀ = S^{1/2} V_W[:, :r]ᵀ, and the frozen residual W − A₀B₀.

    Returns (A₀, B₀, W − A₀B₀); the subspace comes from W♮, not from the task.
    """
    A, B = spectral_init(matrix(W, "W"), r)
    return A, B, W - A @ B
