"""Landscape tools: a convex reference solver for nuclear-norm-regularized problems, optimality certificates,
and second-order-stationarity certificates for (factored) non-convex objectives.

Everything is batched over independent runs (the leading dimension ``B``) and meant for float64.

* :func:`solve_nuclear` — min_X L(X) + λ‖X‖_* by accelerated proximal gradient (FISTA, Beck & Teboulle 2009)
  with singular-value soft-thresholding (:func:`lora_companion.linalg.svt`) and adaptive restart
  (O'Donoghue & Candès 2015).
* :func:`nuclear_certificate` — the first-order optimality (dual) certificate of that problem: X is optimal iff
  −∇L(X) ∈ λ∂‖X‖_*, i.e. ‖∇L(X)‖_op ≤ λ and ⟨−∇L(X), X⟩ = λ‖X‖_* (Jang, Lee, Ryu 2024 use the first part to show
  that a rank-deficient second-order stationary point of LoRA is global).
* :func:`sosp_certificate` / :func:`is_sosp` — gradient norm and smallest Hessian eigenvalue of a per-run objective
  (exact Hessian for small problems, Lanczos with full reorthogonalization on Hessian-vector products beyond).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch.func import grad, vmap

from .checks import count, nonnegative, positive
from .linalg import nuclear_norm, svt

Params = dict[str, torch.Tensor]


# --- convex reference solver --------------------------------------------------------------------------------------

@dataclass
class ConvexSolution:
    """Result of :func:`solve_nuclear` for a batch of B problems."""

    X: torch.Tensor          # (B, m, n) minimizers
    objective: torch.Tensor  # (B,) loss(X) + lam * ||X||_*
    residual: torch.Tensor   # (B,) relative optimality residual (prox-gradient mapping), the stopping quantity
    iterations: int
    converged: torch.Tensor  # (B,) bool
    history: torch.Tensor | None = None  # (n_records, B) objective every ``record_every`` iterations, if asked


def _batched_grad(loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """∇L for every run at once: runs do not interact, so the gradient of Σ_s L_s is the stack of the ∇L_s."""
    return grad(lambda X: loss_fn(X).sum())


def prox_residual(loss_grad: Callable, X: torch.Tensor, lam: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """Relative prox-gradient residual ‖X − T(X)‖_F / max(‖X‖_F, ‖T(X)‖_F), T(X) = svt(X − s∇L(X), sλ).

    X is a minimizer of L + λ‖·‖_* iff T(X) = X (fixed point of the proximal gradient map); 0/0 (X = T(X) = 0)
    counts as 0.
    """
    T = svt(X - step[:, None, None] * loss_grad(X), step * lam)
    num = torch.linalg.matrix_norm(X - T)
    den = torch.maximum(torch.linalg.matrix_norm(X), torch.linalg.matrix_norm(T))
    return torch.where(den > 0, num / torch.where(den > 0, den, 1.0), torch.zeros_like(num))


def solve_nuclear(loss_fn, shape, lam, *, lipschitz, max_iter=5000, tol=1e-10, x0=None, accelerated=True,
                  check_every=10, record_every=0, loss_grad=None) -> ConvexSolution:
    """min_X loss_fn(X) + lam ||X||_* for a batch (loss_fn: (B,m,n)->(B,), convex and smooth; gradient
    ``loss_grad`` ((B,m,n)->(B,m,n), e.g. in closed form) or else by torch.func); accelerated proximal gradient (FISTA, Beck & Teboulle 2009, with restart) with SVT
    (lora_companion.linalg.svt); lam a float or a (B,) tensor; stops when every run's residual <= tol; float64.

    ``lipschitz`` (float or (B,)) bounds the Lipschitz constant of ∇loss; the step is 1/lipschitz. Restart: the
    momentum of a run is reset whenever ⟨Y − X⁺, X⁺ − X⟩ > 0 (gradient restart, O'Donoghue & Candès 2015).
    ``accelerated=False`` gives plain proximal gradient (ISTA). The residual (:func:`prox_residual`) is evaluated
    every ``check_every`` iterations; ``record_every > 0`` records the objective along the way.
    """
    if len(shape) != 3:
        raise ValueError(f"shape must be (B, m, n), got {shape!r}")
    B, m, n = (count(k, "shape") for k in shape)
    count(max_iter, "max_iter")
    count(check_every, "check_every")
    nonnegative(tol, "tol")
    dtype = torch.float64 if x0 is None else x0.dtype
    device = "cpu" if x0 is None else x0.device
    X = torch.zeros(B, m, n, dtype=dtype, device=device) if x0 is None else x0.detach().clone()
    lam = torch.as_tensor(lam, dtype=X.dtype, device=X.device).expand(B).clone()
    step = 1.0 / torch.as_tensor(lipschitz, dtype=X.dtype, device=X.device).expand(B)
    if (lam < 0).any() or not torch.isfinite(step).all() or (step <= 0).any():
        raise ValueError("lam must be ≥ 0 and lipschitz finite and > 0")
    g = _batched_grad(loss_fn) if loss_grad is None else loss_grad

    def objective(Z):
        return loss_fn(Z) + lam * nuclear_norm(Z)

    Y, t = X.clone(), torch.ones(B, dtype=X.dtype, device=X.device)
    residual = torch.full((B,), math.inf, dtype=X.dtype, device=X.device)
    history = []
    it = 0
    for it in range(1, max_iter + 1):
        Xn = svt(Y - step[:, None, None] * g(Y), step * lam)
        if accelerated:
            restart = ((Y - Xn) * (Xn - X)).sum((-2, -1)) > 0
            tn = torch.where(restart, torch.ones_like(t), (1 + torch.sqrt(1 + 4 * t * t)) / 2)
            beta = torch.where(restart, torch.zeros_like(t), (t - 1) / tn)
            Y, t = Xn + beta[:, None, None] * (Xn - X), tn
        else:
            Y = Xn
        X = Xn
        if record_every and (it - 1) % record_every == 0:
            history.append(objective(X).detach())
        if it % check_every == 0 or it == max_iter:
            residual = prox_residual(g, X, lam, step)
            if bool((residual <= tol).all()):
                break
    return ConvexSolution(X=X, objective=objective(X), residual=residual, iterations=it,
                          converged=residual <= tol, history=torch.stack(history) if history else None)


@dataclass
class NuclearCertificate:
    """First-order optimality of X for min L + λ‖·‖_*: −∇L(X) ∈ λ∂‖X‖_*.

    ``op_ratio`` = ‖∇L(X)‖_op / λ (≤ 1 at an optimum: the dual variable is feasible); ``alignment`` =
    |⟨−∇L(X), X⟩ − λ‖X‖_*| / max(λ‖X‖_*, tiny) (0 at an optimum: complementary slackness).
    """

    op_ratio: torch.Tensor   # (B,)
    alignment: torch.Tensor  # (B,)

    def holds(self, tol: float) -> torch.Tensor:
        """(B,) bool: both conditions hold to relative tolerance ``tol``."""
        return (self.op_ratio <= 1 + tol) & (self.alignment <= tol)


def nuclear_certificate(loss_fn, X: torch.Tensor, lam) -> NuclearCertificate:
    """The dual certificate of :class:`NuclearCertificate` at X (B, m, n) for loss_fn: (B,m,n)->(B,)."""
    positive(lam, "lam")   # the certificate's ‖∇L‖_op/λ needs λ > 0
    lam = torch.as_tensor(lam, dtype=X.dtype, device=X.device).expand(X.shape[0])
    G = _batched_grad(loss_fn)(X)
    op = torch.linalg.matrix_norm(G, ord=2)
    nuc = lam * nuclear_norm(X)
    inner = -(G * X).sum((-2, -1))
    tiny = torch.finfo(X.dtype).tiny
    return NuclearCertificate(op_ratio=op / lam, alignment=(inner - nuc).abs() / nuc.clamp(min=tiny))


# --- second-order stationarity ----------------------------------------------------------------------------------------

@dataclass
class Certificate:
    """First- and second-order stationarity measures of a per-run objective at given parameters."""

    grad_norm: torch.Tensor  # (B,)
    min_eig: torch.Tensor    # (B,) smallest eigenvalue of the Hessian of the objective
    method: str              # "exact" or "lanczos"


def _flatten(params: Params) -> tuple[torch.Tensor, Callable[[torch.Tensor], Params]]:
    """Per-run flat vectors (B, d) and the inverse map (works for any leading shape of the flat input)."""
    names = list(params)
    shapes = [params[k].shape[1:] for k in names]
    sizes = [math.prod(s) for s in shapes]
    flat = torch.cat([params[k].reshape(params[k].shape[0], -1) for k in names], dim=1)

    def unflatten(v: torch.Tensor) -> Params:
        parts = torch.split(v, sizes, dim=-1)
        return {k: p.reshape(*v.shape[:-1], *s) for k, p, s in zip(names, parts, shapes)}

    return flat, unflatten


def lanczos_min_eig(hvp: Callable[[torch.Tensor], torch.Tensor], v0: torch.Tensor, steps: int,
                    gen: torch.Generator | None = None) -> torch.Tensor:
    """Smallest eigenvalue of symmetric operators (one per run) by Lanczos with full reorthogonalization.

    ``hvp`` maps (B, d) → (B, d), applying run s's operator to row s; ``v0`` (B, d) are the start vectors.
    After ``steps`` ≤ d iterations the extreme Ritz value of the tridiagonal T_k is returned; with steps = d it is
    exact up to round-off. On breakdown (an invariant subspace found) the run continues with a fresh random vector
    orthogonal to the basis and a zero off-diagonal, so T_k stays exact.
    """
    if v0.ndim != 2:
        raise ValueError(f"v0 must be (B, d), got {tuple(v0.shape)}")
    B, d = v0.shape
    steps = min(count(steps, "steps"), d)
    Q = torch.zeros(B, steps, d, dtype=v0.dtype, device=v0.device)
    alpha = torch.zeros(B, steps, dtype=v0.dtype, device=v0.device)
    beta = torch.zeros(B, steps, dtype=v0.dtype, device=v0.device)
    q = v0 / torch.linalg.vector_norm(v0, dim=1, keepdim=True)
    scale = torch.zeros(B, dtype=v0.dtype, device=v0.device)

    def orthogonalize(w, k):
        for _ in range(2):  # twice is enough (Giraud et al. 2005)
            w = w - torch.einsum("bk,bkd->bd", torch.einsum("bkd,bd->bk", Q[:, :k], w), Q[:, :k])
        return w

    for j in range(steps):
        Q[:, j] = q
        w = hvp(q)
        alpha[:, j] = (w * q).sum(1)
        w = orthogonalize(w, j + 1)
        b = torch.linalg.vector_norm(w, dim=1)
        scale = torch.maximum(scale, alpha[:, j].abs() + b)
        if j == steps - 1:
            break
        broken = b <= 1e-10 * scale.clamp(min=torch.finfo(v0.dtype).tiny)
        fresh = torch.randn(B, d, generator=gen, dtype=v0.dtype).to(v0.device)
        fresh = orthogonalize(fresh, j + 1)
        fresh = fresh / torch.linalg.vector_norm(fresh, dim=1, keepdim=True)
        q = torch.where(broken[:, None], fresh, w / torch.where(broken, 1.0, b)[:, None])
        beta[:, j] = torch.where(broken, torch.zeros_like(b), b)
    T = torch.diag_embed(alpha) + torch.diag_embed(beta[:, :-1], 1) + torch.diag_embed(beta[:, :-1], -1)
    return torch.linalg.eigvalsh(T)[:, 0]


def sosp_certificate(objective_fn, params: dict[str, torch.Tensor], *, exact_max_dim=400, lanczos_steps=60,
                     seed: int = 0) -> Certificate:
    """objective_fn(params) -> (B,) per-run objective; params: tensors with leading run dimension B. Exact Hessian
    (torch.func Hessian-vector products with the d unit vectors, vmapped over directions; all runs at once) when the
    per-run parameter count d is <= exact_max_dim, else Lanczos (with full reorthogonalization) on the same
    Hessian-vector products.

    ``objective_fn`` must treat runs independently and be composable with ``torch.func`` (pure tensor code).
    ``seed`` fixes Lanczos' random start vectors.
    """
    count(exact_max_dim, "exact_max_dim", 0)
    count(lanczos_steps, "lanczos_steps")
    flat, unflatten = _flatten({k: v.detach() for k, v in params.items()})
    B, d = flat.shape

    def total(v):  # Σ_s F_s: its gradient and Hessian are block diagonal over runs
        return objective_fn(unflatten(v)).sum()

    g = grad(total)(flat)

    def hvp(v):  # (B, d) -> (B, d): H_s v_s for every run s (reverse-over-reverse)
        return grad(lambda x: (grad(total)(x) * v).sum())(flat)

    if d <= exact_max_dim:
        basis = torch.eye(d, dtype=flat.dtype, device=flat.device)[:, None, :].expand(d, B, d)
        H = vmap(hvp)(basis).permute(1, 0, 2)  # column j of every run's Hessian, all j at once
        min_eig, method = torch.linalg.eigvalsh((H + H.mT) / 2)[:, 0], "exact"
    else:
        gen = torch.Generator().manual_seed(seed)
        v0 = torch.randn(B, d, generator=gen, dtype=flat.dtype).to(flat.device)
        min_eig, method = lanczos_min_eig(hvp, v0, lanczos_steps, gen), "lanczos"
    return Certificate(grad_norm=torch.linalg.vector_norm(g, dim=1), min_eig=min_eig, method=method)


def is_sosp(cert: Certificate, grad_tol: float, eig_tol: float) -> torch.Tensor:
    """(B,) bool: an approximate second-order stationary point, ‖∇F‖ ≤ grad_tol and λ_min(∇²F) ≥ −eig_tol."""
    nonnegative(grad_tol, "grad_tol")
    nonnegative(eig_tol, "eig_tol")
    return (cert.grad_norm <= grad_tol) & (cert.min_eig >= -eig_tol)


def relative_gap(f: torch.Tensor, f_star: torch.Tensor) -> torch.Tensor:
    """(f − f*) / |f*|, the suboptimality measure of the NTK-landscape brief (f* > 0 for a λ > 0 problem)."""
    return (f - f_star) / f_star.abs()
