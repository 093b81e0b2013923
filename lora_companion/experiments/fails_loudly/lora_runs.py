"""LoRA training and end-point analysis (A2, A3): GD on the LoRA objective with weight decay as an explicit L2
term (Sec. 1.3),

    L_λ^lora(A, B) = L_full(ABᵀ) + (λ/2)(‖A‖_F² + ‖B‖_F²),

Newton refinement, and every end point measured against F* with its SOSP certificate. Batched over runs."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from ...landscape import Certificate, is_sosp, sosp_certificate
from ...linalg import nuclear_norm, numerical_rank, singular_values
from ...lora import LoRAFactors, check_rank
from ...train import TrainResult, factored_gd
from .tasks import batched_loss, hessian_max_at_zero
from .thresholds import EIG_TOL, GLOBAL_GAP, GRAD_TOL, NEWTON_TOL


def init_factors(m: int, n: int, r: int, scales: torch.Tensor, gen: torch.Generator, dtype=torch.float64,
                 device="cpu") -> dict[str, torch.Tensor]:
    """One run per entry of ``scales`` (B,): s > 0 draws both A and B i.i.d. N(0, s²/n) (the paper's large
    random initialization, Fig. 2); s = 0 is the standard LoRA init of the paper (Sec. 1.3): A ~ N(0, 1/n), B = 0,
    so X = 0 at step 0."""
    check_rank(r, m, n)
    scales = torch.as_tensor(scales, dtype=dtype)
    B_runs = scales.shape[0]
    A = torch.randn(B_runs, m, r, generator=gen, dtype=dtype) / math.sqrt(n)
    Bf = torch.randn(B_runs, n, r, generator=gen, dtype=dtype) / math.sqrt(n)
    zero = (scales == 0)[:, None, None]
    s = scales[:, None, None]
    A = torch.where(zero, A, s * A)
    Bf = torch.where(zero, torch.zeros_like(Bf), s * Bf)
    return {"A": A.to(device), "B": Bf.to(device)}


def lora_loss(task):
    """params {A (B,m,r), B (B,n,r)} → (B,) L_full(ABᵀ); :func:`train.train` adds (λ/2)(‖A‖² + ‖B‖²)."""
    f = batched_loss(task)
    return lambda p: f(p["A"] @ p["B"].mT)


def lora_objective(task, lam: float):
    """L_λ^lora(A, B) per run (the function whose SOSPs Theorem 1 classifies)."""
    f = lora_loss(task)
    return lambda p: f(p) + 0.5 * lam * (p["A"].square().sum((-2, -1)) + p["B"].square().sum((-2, -1)))


def train_lora(task, params, lam: float, *, steps: int, lr: float, lr_per_run: torch.Tensor | None = None) -> TrainResult:
    """Full-batch gradient descent on L_λ^lora with weight decay as the explicit L2 term ``l2 = λ`` (never AdamW),
    gradients in closed form (``train.factored_gd`` with the task's ``loss_and_grad``); ``lr_per_run`` (B,)
    multiplies ``lr`` run by run (to keep very large initializations stable)."""
    rate = lr if lr_per_run is None else lr * lr_per_run
    res = factored_gd(task.loss_and_grad, params["A"], params["B"], steps=steps, lr=rate, l2=lam,
                      record_every=max(1, steps // 50))
    return replace(res, params={"A": res.params["left"], "B": res.params["right"]})


def factored_derivatives(task, A: torch.Tensor, B: torch.Tensor, lam: float):
    """(objective, gradient, Hessian) of L_λ^lora(A, B) = L_full(ABᵀ) + (λ/2)(‖A‖² + ‖B‖²) for every run, in closed
    form from the task's ``loss_and_grad`` and ``hessian`` (G = ∇L_full, H_L = ∇²L_full at X = ABᵀ), over
    θ = (vec A, vec B):

        ∇F = Jᵀ vec G + λθ,    ∇²F = Jᵀ H_L J + C + λI,

    with J = ∂vec X/∂θ (∂X_jk/∂A_lp = δ_jl B_kp, ∂X_jk/∂B_lp = δ_kl A_jp) and C the curvature of the product,
    C[A_lp, B_qs] = G_lq δ_ps (tested against torch.func)."""
    Bn, m, r = A.shape
    n = B.shape[1]
    X = A @ B.mT
    loss, G = task.loss_and_grad(X)
    eye = lambda k: torch.eye(k, dtype=A.dtype, device=A.device)  # noqa: E731
    J = torch.cat([torch.einsum("jl,bkp->bjklp", eye(m), B).reshape(Bn, m * n, m * r),
                   torch.einsum("kl,bjp->bjklp", eye(n), A).reshape(Bn, m * n, n * r)], -1)
    theta = torch.cat([A.flatten(1), B.flatten(1)], 1)
    g = (J.mT @ G.reshape(Bn, m * n, 1))[..., 0] + lam * theta
    H = J.mT @ task.hessian(X) @ J + lam * eye(theta.shape[1])
    C = torch.einsum("blq,ps->blpqs", G, eye(r)).reshape(Bn, m * r, n * r)
    H[:, :m * r, m * r:] += C
    H[:, m * r:, :m * r] += C.mT
    return loss + 0.5 * lam * theta.square().sum(1), g, H


def newton_polish(task, params, lam: float, iters: int, tol: float = 0.0) -> dict[str, torch.Tensor]:
    """Refine GD end points by damped Newton steps on L_λ^lora (per run, exact Hessian in closed form:
    :func:`factored_derivatives`) so that the SOSP certificate can be checked at a tight gradient tolerance.

    Step d = −(H + μI)⁻¹∇ with μ = max(0, −λ_min(H)) + 10⁻⁸·‖H‖ (Levenberg–Marquardt: a descent direction even
    where H is indefinite), accepted only where it lowers the objective (else μ grows tenfold for that run). The
    refinement is local: it converges to the stationary point in whose basin GD stopped, it does not change
    which basin that is (a step that increases the objective is never taken). It stops early once every run's
    gradient norm is ≤ ``tol``.
    """
    A, B = params["A"], params["B"]
    k_A = A[0].numel()
    shapes = (A.shape[1:], B.shape[1:])

    def split(v):
        return v[:, :k_A].reshape(-1, *shapes[0]), v[:, k_A:].reshape(-1, *shapes[1])

    v = torch.cat([A.flatten(1), B.flatten(1)], 1)
    boost = torch.ones(v.shape[0], dtype=v.dtype, device=v.device)
    eye = torch.eye(v.shape[1], dtype=v.dtype, device=v.device)
    for _ in range(iters):
        f0, g, H = factored_derivatives(task, *split(v), lam)
        if bool((g.norm(dim=1) <= tol).all()):
            break
        ev = torch.linalg.eigvalsh(H)
        mu = (torch.clamp(-ev[:, 0], min=0) + 1e-8 * ev.abs().max(1).values) * boost
        d = -torch.linalg.solve(H + mu[:, None, None] * eye, g)
        A1, B1 = split(v + d)
        f1 = task.loss_and_grad(A1 @ B1.mT)[0] + 0.5 * lam * (v + d).square().sum(1)
        ok = torch.isfinite(f1) & (f1 <= f0)
        v = torch.where(ok[:, None], v + d, v)
        boost = torch.where(ok, torch.clamp(boost / 10, min=1.0), boost * 10)
    A, B = split(v)
    return {"A": A, "B": B}


def stable_lr(params, hess_scale: float, lr: float) -> torch.Tensor:
    """Per-run multipliers min(1, 1/(lr·h·(‖A₀‖₂² + ‖B₀‖₂²))) with h the loss curvature scale: the curvature of
    L(ABᵀ) in (A, B) grows like h(‖A‖₂² + ‖B‖₂²), so large initializations need proportionally smaller steps."""
    size = torch.linalg.matrix_norm(params["A"], ord=2) ** 2 + torch.linalg.matrix_norm(params["B"], ord=2) ** 2
    return torch.clamp(1.0 / (lr * hess_scale * size), max=1.0)


@dataclass
class EndPoints:
    """Where a batch of LoRA runs ended, measured against the global objective F* = min L_full + λ‖·‖_*."""

    scales: torch.Tensor     # (B,) initialization scale
    X: torch.Tensor          # (B, m, n)
    objective: torch.Tensor  # (B,) F(X) = L_full(X) + λ‖X‖_*
    gap: torch.Tensor        # (B,) (F − F*)/F*
    rank: torch.Tensor       # (B,) numerical rank
    norm: torch.Tensor       # (B,) ‖X‖_F
    sv: torch.Tensor         # (B, min(m, n)) singular values
    test: torch.Tensor       # (B,) held-out loss
    imbalance: torch.Tensor  # (B,) ‖AᵀA − BᵀB‖_F / ‖X‖_F
    cert: Certificate
    sosp: torch.Tensor       # (B,) approximate SOSP (certified)
    failed: torch.Tensor     # (B,) diverged
    f_star: float
    r: int

    @property
    def is_global(self) -> torch.Tensor:
        return self.sosp & (self.gap <= GLOBAL_GAP)

    @property
    def spurious(self) -> torch.Tensor:
        return self.sosp & (self.gap > GLOBAL_GAP)


def end_points(task, P: dict[str, torch.Tensor], failed: torch.Tensor, lam: float, scales: torch.Tensor,
               f_ref: float) -> EndPoints:
    """Measure every run with parameters ``P`` (``failed``: runs that diverged): objective gap to F* = min(f_ref,
    best end point), rank, norm, test loss, balance, and the SOSP certificate of L_λ^lora (exact Hessian;
    :func:`landscape.sosp_certificate`)."""
    X = P["A"] @ P["B"].mT
    F = batched_loss(task)(X) + lam * nuclear_norm(X)
    ok = ~failed
    f_star = min(f_ref, F[ok].min().item()) if ok.any() else f_ref
    cert = sosp_certificate(lora_objective(task, lam), P)
    norm = torch.linalg.matrix_norm(X)
    imb = LoRAFactors(B=P["A"], A=P["B"].mT).imbalance() / norm.clamp(min=torch.finfo(X.dtype).tiny)
    return EndPoints(scales=torch.as_tensor(scales), X=X, objective=F, gap=(F - f_star) / abs(f_star),
                     rank=numerical_rank(X), norm=norm, sv=singular_values(X), test=task.test_loss(X),
                     imbalance=imb, cert=cert, sosp=is_sosp(cert, GRAD_TOL, EIG_TOL) & ok, failed=failed,
                     f_star=f_star, r=P["A"].shape[-1])


def run_sweep(task, lam: float, r: int, scales: torch.Tensor, gen: torch.Generator, *, steps: int, lr: float,
              newton_iters: int, f_ref: float, stabilize: bool = False) -> EndPoints:
    """One LoRA run per entry of ``scales``: init (:func:`init_factors`), GD on L_λ^lora (:func:`train_lora`),
    Newton refinement (:func:`newton_polish`), measurement and certificate (:func:`end_points`). ``stabilize``
    gives large initializations proportionally smaller steps (:func:`stable_lr`; for the quartic matrix-sensing
    objective, where plain GD from s ≫ 1 diverges)."""
    m, n = task.shape
    dev = task.X_true.device
    params = init_factors(m, n, r, scales, gen, task.X_true.dtype, dev)
    lr_run = stable_lr(params, hessian_max_at_zero(task), lr) if stabilize else None
    res = train_lora(task, params, lam, steps=steps, lr=lr, lr_per_run=lr_run)
    P = newton_polish(task, res.params, lam, newton_iters, tol=NEWTON_TOL)
    return end_points(task, P, res.failed, lam, scales, f_ref)
