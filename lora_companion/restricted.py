"""Monte-Carlo estimates of the restricted strong convexity (RSC) and smoothness (RSM) constants.

Definitions (Kim, Kim, Ryu 2025, Sec. 2.2), for f: R^{m×n} → R twice differentiable, a minimizer X⋆, a rank
bound r and a radius D, over the set  𝒮 = {X : rank X ≤ r, ‖X − X⋆‖_F ≤ D}:

* RSC constant α = inf_{X∈𝒮}  ⟨∇f(X) − ∇f(X⋆), X − X⋆⟩ / ‖X − X⋆‖_F²;
* RSM constant β = sup_{X∈𝒮, U, V}  ∇²f(X)[UX + XV, UX + XV] / ‖UX + XV‖_F²   over rank-1 U ∈ R^{m×m},
  V ∈ R^{n×n} with ‖U‖_F = ‖V‖_F = 1.

Neither constant can be computed exactly for a non-convex f, so — like the paper's Table 2 (1000 samples) — we
evaluate the two quotients at random points and report the minimum and the maximum. These are **estimates**: a
Monte-Carlo minimum can only over-estimate α and a Monte-Carlo maximum can only under-estimate β, so 2α̂/β̂
over-estimates 2α/β. Conclusions drawn from 2α̂ ≤ β̂ ("generic regime") are therefore safer than from 2α̂ > β̂.

Sampling (our reading: the paper's appendix, which describes its sampler, was not available to us): a point of
𝒮 is X = Π_r(X⋆ + ρ Δ/‖Δ‖_F), the best rank-r approximation of a random perturbation of X⋆ with a Gaussian
direction Δ and radius ρ ~ D·Uniform(0, 1); samples that land outside the D-ball are discarded. U and V are
products u₁u₂ᵀ of independent uniform unit vectors. Across a grid of rank bounds the samples are nested
(:func:`estimate_constants_nested`): the set grows with r, so must the sample. Gradients come from
``torch.func.grad`` and the quadratic form ∇²f(X)[Z, Z] from a forward-over-reverse Hessian-vector product (``torch.func.jvp`` of the gradient).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch.func import grad, jvp, vmap

MatrixFn = Callable[[torch.Tensor], torch.Tensor]  # one (m, n) matrix -> scalar


def rsc_quotients(f: MatrixFn, X_star: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """⟨∇f(X) − ∇f(X⋆), X − X⋆⟩ / ‖X − X⋆‖_F² for every X in the batch (S, m, n) → (S,)."""
    g = vmap(grad(f))(X) - grad(f)(X_star)
    d = X - X_star
    return (g * d).sum((-2, -1)) / d.square().sum((-2, -1))


def hessian_form(f: MatrixFn, X: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
    """∇²f(X)[Z, Z] = ⟨Z, ∇²f(X) Z⟩ for batches X, Z (S, m, n) → (S,), by jvp of the gradient."""
    def one(x, z):
        return (jvp(grad(f), (x,), (z,))[1] * z).sum()

    return vmap(one)(X, Z)


def rsm_quotients(f: MatrixFn, X: torch.Tensor, U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """∇²f(X)[Z, Z] / ‖Z‖_F² with Z = UX + XV, for batches X (S, m, n), U (S, m, m), V (S, n, n) → (S,)."""
    Z = U @ X + X @ V
    return hessian_form(f, X, Z) / Z.square().sum((-2, -1))


def random_perturbations(X_star: torch.Tensor, D: float, n_samples: int, gen: torch.Generator) -> torch.Tensor:
    """ρ Δ/‖Δ‖_F with Gaussian Δ and ρ ~ D·Uniform(0, 1): (S, m, n), drawn on the CPU with ``gen``, moved to X⋆'s
    device."""
    m, n = X_star.shape
    delta = torch.randn(n_samples, m, n, generator=gen, dtype=X_star.dtype)
    rho = D * torch.rand(n_samples, generator=gen, dtype=X_star.dtype)
    return (delta * (rho / torch.linalg.matrix_norm(delta))[:, None, None]).to(X_star.device)


def project_to_set(X_star: torch.Tensor, delta: torch.Tensor, r: int, D: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(X, keep): X = Π_r(X⋆ + δ) for every perturbation δ (S, m, n), and the mask of those with
    0 < ‖X − X⋆‖_F ≤ D (the others are outside the restricted set, or X⋆ itself)."""
    U, s, Vh = torch.linalg.svd(X_star + delta, full_matrices=False)
    X = (U[..., :r] * s[..., None, :r]) @ Vh[..., :r, :]
    dist = torch.linalg.matrix_norm(X - X_star)
    return X, (dist <= D) & (dist > 1e-12 * max(D, 1.0))


def sample_restricted_set(X_star: torch.Tensor, r: int, D: float, n_samples: int,
                          gen: torch.Generator) -> torch.Tensor:
    """Up to ``n_samples`` points X with rank X ≤ r and 0 < ‖X − X⋆‖_F ≤ D (see the module docstring).

    Draws happen on the CPU with ``gen`` and the result moves to X⋆'s device. Samples outside the ball (or
    at X⋆ itself) are dropped, so slightly fewer than ``n_samples`` may come back.
    """
    X, keep = project_to_set(X_star, random_perturbations(X_star, D, n_samples, gen), r, D)
    return X[keep]


def random_rank_one_unit(d: int, n_samples: int, gen: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """Rank-1 d×d matrices u₁u₂ᵀ with independent uniform unit vectors u₁, u₂ (so ‖·‖_F = 1): (S, d, d)."""
    u = torch.randn(2, n_samples, d, generator=gen, dtype=dtype)
    u = u / u.norm(dim=-1, keepdim=True)
    return u[0][:, :, None] * u[1][:, None, :]


@dataclass
class RestrictedEstimate:
    """Monte-Carlo estimates α̂ = min of the RSC quotients and β̂ = max of the RSM quotients.

    α̂ ≥ α (an over-estimate) and β̂ ≤ β (an under-estimate); ``rsc`` and ``rsm`` hold every quotient.
    """

    alpha: float
    beta: float
    rsc: torch.Tensor
    rsm: torch.Tensor
    r: int
    D: float

    @property
    def ratio(self) -> float:
        """2α̂/β̂: > 1 points to the special regime, ≤ 1 to the generic one (Theorem 1)."""
        return 2 * self.alpha / self.beta


def estimate_constants(f: MatrixFn, X_star: torch.Tensor, r: int, D: float, n_samples: int,
                       gen: torch.Generator) -> RestrictedEstimate:
    """Estimate the (r, D)-RSC and RSM constants of ``f`` about ``X_star`` from ``n_samples`` random points."""
    m, n = X_star.shape
    X = sample_restricted_set(X_star, r, D, n_samples, gen)
    k = X.shape[0]
    U = random_rank_one_unit(m, k, gen, X_star.dtype).to(X_star.device)
    V = random_rank_one_unit(n, k, gen, X_star.dtype).to(X_star.device)
    rsc = rsc_quotients(f, X_star, X)
    rsm = rsm_quotients(f, X, U, V)
    return RestrictedEstimate(alpha=rsc.min().item(), beta=rsm.max().item(), rsc=rsc, rsm=rsm, r=r, D=D)


def estimate_constants_nested(f: MatrixFn, X_star: torch.Tensor, ranks: list[int], D: float, n_samples: int,
                              gen: torch.Generator) -> list[RestrictedEstimate]:
    """α̂(r), β̂(r) for a grid of rank bounds with **nested** samples, so that the comparison across r means what
    the definitions say: {rank ≤ r} ⊂ {rank ≤ r′} for r < r′, hence α(r) ≥ α(r′) and β(r) ≤ β(r′).

    One set of perturbations δ and rank-one U, V is drawn (common random numbers); for each grid rank k the
    points Π_k(X⋆ + δ) are formed, and the estimate at r takes the min (α̂) / max (β̂) over the points of *every*
    grid rank k ≤ r — all of which lie in the rank-≤r set. Independent samples per r (:func:`estimate_constants`)
    explore a different distribution of directions at each r and need not be monotone.
    """
    m, n = X_star.shape
    delta = random_perturbations(X_star, D, n_samples, gen)
    U = random_rank_one_unit(m, n_samples, gen, X_star.dtype).to(X_star.device)
    V = random_rank_one_unit(n, n_samples, gen, X_star.dtype).to(X_star.device)
    rsc, rsm, out = [], [], []
    for r in sorted(ranks):
        X, keep = project_to_set(X_star, delta, r, D)
        if keep.any():   # a projection may leave every sample outside the ball (tiny n_samples or D)
            rsc.append(rsc_quotients(f, X_star, X[keep]))
            rsm.append(rsm_quotients(f, X[keep], U[keep], V[keep]))
        a, b = (torch.cat(q) if q else X_star.new_empty(0) for q in (rsc, rsm))
        out.append(RestrictedEstimate(alpha=a.min().item() if a.numel() else float("nan"),
                                      beta=b.max().item() if b.numel() else float("nan"), rsc=a, rsm=b, r=r, D=D))
    return [out[sorted(ranks).index(r)] for r in ranks]


# ------------------------------------------------------------------------------------------------------------------
# A method that can find negative curvature: minimise the RSC quotient over the restricted set itself.
#
# The Monte-Carlo minimum above samples isotropic random directions; when ∇²f(X⋆) has a few negative directions
# among mn, random directions (almost) never see them, and α̂ comes out positive although α < 0. Here the quotient
# q(X) = ⟨∇f(X) − ∇f(X⋆), X − X⋆⟩/‖X − X⋆‖_F² is *minimised* over rank-r points X = PQᵀ (P m×r, Q n×r) by
# gradient descent on the factors, from many starts near X⋆ (batched). Every iterate with ‖X − X⋆‖_F ≤ D is a point
# of the restricted set, so the smallest quotient found is a rigorous **upper bound** on α (α is an infimum over the
# set): q_min < 0 proves that RSC fails. Near X⋆, q(X⋆ + tΔ) → ∇²f(X⋆)[Δ, Δ]/‖Δ‖² (a restricted Rayleigh quotient of
# the Hessian), which is where the negative directions are found.
# ------------------------------------------------------------------------------------------------------------------


@dataclass
class RSCUpperBound:
    """α ≤ ``alpha_upper`` (attained at the feasible point ``X``, rank ≤ r, distance ``dist`` ≤ D from X⋆)."""

    alpha_upper: float
    X: torch.Tensor
    dist: float
    r: int
    D: float


def hessian_min_eig(f: MatrixFn, X: torch.Tensor) -> float:
    """Smallest eigenvalue of the full Hessian ∇²f(X) (exact, an mn×mn matrix by ``torch.func.hessian``)."""
    m, n = X.shape
    H = torch.func.hessian(lambda v: f(v.reshape(m, n)))(X.reshape(-1))
    return torch.linalg.eigvalsh(H)[0].item()


def minimize_rsc_quotient(f: MatrixFn, X_star: torch.Tensor, r: int, D: float, gen: torch.Generator, *,
                          n_starts: int = 16, steps: int = 300, lr: float = 0.05, radius: float = 0.05,
                          n_eig_starts: int = 8) -> RSCUpperBound:
    """Smallest RSC quotient found over {rank ≤ r, 0 < ‖X − X⋆‖_F ≤ D}: a rigorous upper bound on α.

    Starts (batched): ``n_eig_starts`` points Π_r(X⋆ + ρ v_k) along the eigenvectors v_k of the smallest eigenvalues
    of the exact Hessian ∇²f(X⋆) (ρ = ``radius``·D; Π_r the truncated SVD, so each start is feasible), and
    ``n_starts`` points X⋆ + a random rank-r factor perturbation of norm ≈ ρ. Then ``steps`` normalised gradient
    steps on the factors (P, Q) of q(PQᵀ) (``torch.func.grad`` through ∇f: a Hessian-vector product). The minimum
    is taken over every iterate that lies in the set, so the result never depends on the descent converging."""
    if r < 1 or D <= 0:
        raise ValueError(f"r must be ≥ 1 and D > 0, got r={r}, D={D}")
    m, n = X_star.shape
    U, s, Vh = torch.linalg.svd(X_star, full_matrices=False)
    k = min(r, len(s))
    P0 = torch.zeros(m, r, dtype=X_star.dtype, device=X_star.device)
    Q0 = torch.zeros(n, r, dtype=X_star.dtype, device=X_star.device)
    P0[:, :k], Q0[:, :k] = U[:, :k] * s[:k].sqrt(), Vh[:k].mT * s[:k].sqrt()
    dP = torch.randn(n_starts, m, r, generator=gen, dtype=X_star.dtype).to(X_star.device)
    dQ = torch.randn(n_starts, n, r, generator=gen, dtype=X_star.dtype).to(X_star.device)
    g_star = grad(f)(X_star)
    scale = (s[0].sqrt() if s[0] > 0 else torch.ones((), dtype=s.dtype)).item()

    def q(P, Q):
        d = P @ Q.mT - X_star
        return ((grad(f)(P @ Q.mT) - g_star) * d).sum() / d.square().sum()

    # random starts: perturb the factors so that the first X lies at distance ≈ radius·D
    P, Q = P0 + dP * 1e-3, Q0 + dQ * 1e-3
    d0 = torch.linalg.matrix_norm(P @ Q.mT - X_star)
    P, Q = P0 + (P - P0) * (radius * D / d0)[:, None, None].sqrt(), Q0 + (Q - Q0) * (radius * D / d0)[:, None, None].sqrt()
    if n_eig_starts:   # Hessian starts: Π_r(X⋆ + ρ v_k), factored as U√Σ, V√Σ
        H = torch.func.hessian(lambda v: f(v.reshape(m, n)))(X_star.reshape(-1))
        V_eig = torch.linalg.eigh(H).eigenvectors[:, :n_eig_starts].mT.reshape(-1, m, n)
        Ue, se, Vhe = torch.linalg.svd(X_star + radius * D * V_eig, full_matrices=False)
        Pe = torch.zeros(len(V_eig), m, r, dtype=X_star.dtype, device=X_star.device)
        Qe = torch.zeros(len(V_eig), n, r, dtype=X_star.dtype, device=X_star.device)
        k = min(r, se.shape[-1])
        Pe[..., :k], Qe[..., :k] = Ue[..., :k] * se[:, None, :k].sqrt(), Vhe[:, :k].mT * se[:, None, :k].sqrt()
        P, Q = torch.cat([Pe, P]), torch.cat([Qe, Q])
        n_starts = P.shape[0]
    dq = vmap(grad(q, argnums=(0, 1)))
    best, best_X = torch.full((n_starts,), float("inf"), dtype=X_star.dtype), X_star.expand(n_starts, m, n).clone()
    for _ in range(steps + 1):
        X = P @ Q.mT
        dist = torch.linalg.matrix_norm(X - X_star)
        val = vmap(q)(P, Q)
        ok = (dist <= D) & (dist > 1e-10 * D) & torch.isfinite(val)
        better = ok & (val < best)
        best = torch.where(better, val, best)
        best_X = torch.where(better[:, None, None], X, best_X)
        gP, gQ = dq(P, Q)
        norm = (gP.square().sum((-2, -1)) + gQ.square().sum((-2, -1))).sqrt().clamp(min=1e-300)[:, None, None]
        P, Q = P - lr * scale * gP / norm, Q - lr * scale * gQ / norm
    i = int(torch.argmin(best))
    return RSCUpperBound(alpha_upper=best[i].item(), X=best_X[i],
                         dist=torch.linalg.matrix_norm(best_X[i] - X_star).item(), r=r, D=D)
