"""Preliminaries: the four facts the paper chapters stand on, each as an experiment whose check can fail.

Every function takes explicit sizes and a ``torch.Generator`` and returns plain tensors/floats; thresholds are
module constants fixed before any run.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..claims import Claim, check
from ..stats import loglog_slope
from ..linalg import balanced_factors, nuclear_norm, principal_angles, svt
from ..linearize import jacobian_features, jvp_predict, linear_predict

#: relative tolerance for identities that hold exactly in exact arithmetic (float64 round-off is ~1e-15)
EXACT_RTOL = 1e-10
#: accepted range for the log-log slope of the linearization error (Taylor: exactly 2)
SLOPE_RANGE = (1.9, 2.1)


def random_low_rank(m: int, n: int, rank: int, batch: int, gen: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """A batch of m×n matrices of rank ``rank``: product of Gaussian m×rank and rank×n factors."""
    return (torch.randn(batch, m, rank, generator=gen, dtype=dtype)
            @ torch.randn(batch, rank, n, generator=gen, dtype=dtype)) / rank ** 0.5


# --- 1. weight decay on factors = nuclear norm -------------------------------------------------------------------

@dataclass
class FactorizationResult:
    nuclear: torch.Tensor          # ‖δ‖_* per matrix (batch,)
    balanced_ratio: torch.Tensor   # ½(‖A‖²+‖B‖²)/‖δ‖_* for the SVD-balanced factors (batch,)
    random_ratio: torch.Tensor     # the same for n_random random factorizations of each δ (batch, n_random)
    reconstruction: torch.Tensor   # ‖BA − δ‖_F/‖δ‖_F for the balanced factors (batch,)


def factorization_penalty(delta: torch.Tensor, r: int, n_random: int, gen: torch.Generator) -> FactorizationResult:
    """Compare ½(‖A‖² + ‖B‖²) over factorizations δ = BA (inner dimension r ≥ rank δ) with ‖δ‖_*.

    Random factorizations: B = B₀M, A = M⁻¹A₀ for the balanced pair (B₀, A₀) and M = exp(S) with S a random
    r×r Gaussian matrix — every invertible M with det > 0 in reach, and all give the same product.
    The identity min_{BA=δ} ½(‖A‖²+‖B‖²) = ‖δ‖_* (Srebro et al. 2005) says ratio ≥ 1, equality when balanced.
    """
    B0, A0 = balanced_factors(delta, r)
    nuc = nuclear_norm(delta)
    pen0 = 0.5 * (A0.square().sum((-2, -1)) + B0.square().sum((-2, -1)))
    S = torch.randn(delta.shape[0], n_random, r, r, generator=gen, dtype=delta.dtype) / r ** 0.5
    M = torch.linalg.matrix_exp(S)
    B = B0[:, None] @ M
    A = torch.linalg.solve(M, A0[:, None].expand(-1, n_random, -1, -1))
    pen = 0.5 * (A.square().sum((-2, -1)) + B.square().sum((-2, -1)))
    recon = torch.linalg.matrix_norm(B0 @ A0 - delta) / torch.linalg.matrix_norm(delta)
    return FactorizationResult(nuclear=nuc, balanced_ratio=pen0 / nuc, random_ratio=pen / nuc[:, None],
                               reconstruction=recon)


def factorization_claims(res: FactorizationResult) -> list[Claim]:
    gap = (res.balanced_ratio - 1).abs().max().item()
    worst = (res.random_ratio.min() - 1).item()
    return [
        check("prelim-balanced-nuclear", kind="sanity", paper="srebro2005maximum",
              statement="The balanced factorization from the SVD attains ½(‖A‖²+‖B‖²) = ‖δ‖_*.",
              test=f"max |½(‖A‖²+‖B‖²)/‖δ‖_* − 1| over matrices < {EXACT_RTOL:g}, and BA = δ to the same tolerance",
              measured=max(gap, res.reconstruction.max().item()), passed=max(gap, res.reconstruction.max().item()) < EXACT_RTOL,
              figure="fig-prelim-factorization"),
        check("prelim-nuclear-lower-bound", kind="sanity", paper="srebro2005maximum",
              statement="No factorization δ = BA has ½(‖A‖²+‖B‖²) below ‖δ‖_*.",
              test=f"min over random factorizations of ½(‖A‖²+‖B‖²)/‖δ‖_* − 1 > −{EXACT_RTOL:g}",
              measured=worst, passed=worst > -EXACT_RTOL, figure="fig-prelim-factorization"),
    ]


# --- 2. singular-value soft-thresholding is the prox of the nuclear norm ----------------------------------------------

@dataclass
class ProxResult:
    sv_in: torch.Tensor            # singular values of M (batch, min(m,n))
    sv_out: torch.Tensor           # singular values of svt(M, τ)
    excess: torch.Tensor           # h(X + εE) − h(X) for random perturbations, h = ½‖·−M‖² + τ‖·‖_* (batch, n_random)
    subgradient_excess: torch.Tensor  # ‖(M − X)/τ‖_op − 1 (≤ 0 required by optimality) (batch,)


def prox_check(M: torch.Tensor, tau: float, n_random: int, eps: float, gen: torch.Generator) -> ProxResult:
    """Test X = svt(M, τ) as the minimizer of h(X) = ½‖X − M‖_F² + τ‖X‖_* (Cai, Candès, Shen 2010, Thm 2.1).

    Two checks: h(X + εE) ≥ h(X) for random unit-norm directions E, and the optimality condition
    (M − X)/τ ∈ ∂‖X‖_*, whose necessary part ‖(M − X)/τ‖_op ≤ 1 is measured.
    """
    X = svt(M, tau)

    def h(Y):
        return 0.5 * (Y - M[:, None]).square().sum((-2, -1)) + tau * nuclear_norm(Y)

    E = torch.randn(M.shape[0], n_random, *M.shape[1:], generator=gen, dtype=M.dtype)
    E = E / torch.linalg.matrix_norm(E)[..., None, None]
    excess = h(X[:, None] + eps * E) - h(X[:, None])
    sub = torch.linalg.matrix_norm((M - X) / tau, ord=2) - 1
    return ProxResult(sv_in=torch.linalg.svdvals(M), sv_out=torch.linalg.svdvals(X), excess=excess,
                      subgradient_excess=sub)


def prox_claims(res: ProxResult, tau: float) -> list[Claim]:
    shift = (res.sv_out - (res.sv_in - tau).clamp(min=0)).abs().max().item()
    worst = res.excess.min().item()
    sub = res.subgradient_excess.max().item()
    return [
        check("prelim-svt-shrinks", kind="sanity", paper="cai2010singular",
              statement="svt(M, τ) keeps the singular vectors of M and maps σᵢ to max(σᵢ − τ, 0).",
              test=f"max |σᵢ(svt(M, τ)) − (σᵢ(M) − τ)₊| < {EXACT_RTOL:g}·σ₁", measured=shift,
              passed=shift < EXACT_RTOL * res.sv_in.max().item(), figure="fig-prelim-svt"),
        check("prelim-svt-prox", kind="sanity", paper="cai2010singular",
              statement="svt(M, τ) minimizes ½‖X − M‖² + τ‖X‖_*.",
              test="no random perturbation lowers the objective (min excess ≥ 0) and ‖(M − X)/τ‖_op ≤ 1 + 1e-10",
              measured=worst, passed=worst >= 0 and sub <= EXACT_RTOL, figure="fig-prelim-svt"),
    ]


# --- 3. the linearized (NTK) model -------------------------------------------------------------------------------------

def mlp(W: torch.Tensor, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Two-layer network f(W; x) = a tanh(W x) with output weights a (K×m), hidden weight W (m×n)."""
    return a @ torch.tanh(W @ x)


@dataclass
class LinearizationResult:
    t: torch.Tensor                # perturbation sizes
    error: torch.Tensor            # ‖f(W0 + tδ) − f_lin(tδ)‖ / ‖f(W0 + tδ) − f(W0)‖ per t
    jac_vs_jvp: float              # max |⟨G, δ⟩ − J·δ| (features from jacrev vs forward-mode jvp)
    slope: float                   # fitted log-log slope of the absolute error vs t


def linearization_check(m: int, n: int, K: int, N: int, ts: torch.Tensor, gen: torch.Generator) -> LinearizationResult:
    """f(W0 + tδ) − f_lin(tδ) = O(t²) (Taylor), and ``jacrev`` features agree with ``jvp``."""
    W0 = torch.randn(m, n, generator=gen, dtype=torch.float64) / n ** 0.5
    a = torch.randn(K, m, generator=gen, dtype=torch.float64) / m ** 0.5
    X = torch.randn(N, n, generator=gen, dtype=torch.float64)
    delta = torch.randn(m, n, generator=gen, dtype=torch.float64) / n ** 0.5
    f = lambda W, x: mlp(W, x, a)  # noqa: E731
    G = jacobian_features(f, W0, X)
    f0 = torch.vmap(f, in_dims=(None, 0))(W0, X)
    lin_G = linear_predict(G, f0, delta)
    lin_jvp = jvp_predict(f, W0, X, delta)
    true = torch.vmap(lambda W: torch.vmap(f, in_dims=(None, 0))(W, X))(W0 + ts[:, None, None] * delta)
    lin = linear_predict(G, f0, ts[:, None, None] * delta)
    abs_err = torch.linalg.vector_norm(true - lin, dim=(-2, -1))
    rel = abs_err / torch.linalg.vector_norm(true - f0, dim=(-2, -1))
    return LinearizationResult(t=ts, error=rel, jac_vs_jvp=(lin_G - lin_jvp).abs().max().item(),
                               slope=loglog_slope(ts, abs_err))


def linearization_claims(res: LinearizationResult) -> list[Claim]:
    return [
        check("prelim-ntk-jvp", kind="sanity", paper="jang2024lora",
              statement="The linearized model f(W0) + ⟨G(x), δ⟩ with G = ∂f/∂W is the forward-mode derivative J_W f·δ.",
              test=f"max |⟨G, δ⟩ (vmap∘jacrev) − J·δ (jvp)| < {EXACT_RTOL:g}", measured=res.jac_vs_jvp,
              passed=res.jac_vs_jvp < EXACT_RTOL, figure="fig-prelim-linearization"),
        check("prelim-ntk-second-order", kind="sanity", paper="jang2024lora",
              statement="The linearization error of a smooth network is second order in the perturbation size t.",
              test=f"log-log slope of ‖f(W0+tδ) − f_lin(tδ)‖ vs t in [{SLOPE_RANGE[0]}, {SLOPE_RANGE[1]}]",
              measured=res.slope, passed=SLOPE_RANGE[0] <= res.slope <= SLOPE_RANGE[1],
              figure="fig-prelim-linearization"),
    ]


# --- 4. principal angles -----------------------------------------------------------------------------------------------

def planted_subspaces(n: int, angles: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two p-dimensional subspaces of R^n (n ≥ 2p) with prescribed principal angles, in random non-orthonormal
    bases: span X = span(e₁…e_p), span Y = span(cos θᵢ eᵢ + sin θᵢ e_{p+i}), then a random rotation of R^n."""
    p = angles.shape[0]
    if n < 2 * p:
        raise ValueError(f"n={n} must be ≥ 2p={2 * p}")
    I = torch.eye(n, dtype=torch.float64)
    X = I[:, :p]
    Y = I[:, :p] * torch.cos(angles) + I[:, p:2 * p] * torch.sin(angles)
    Q = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64)).Q
    mix = lambda: torch.randn(p, p, generator=gen, dtype=torch.float64) + p * torch.eye(p, dtype=torch.float64)  # noqa: E731
    return Q @ X @ mix(), Q @ Y @ mix()


def angle_claims(planted: torch.Tensor, recovered: torch.Tensor) -> list[Claim]:
    err = (planted.sort().values - recovered).abs().max().item()
    return [check("prelim-principal-angles", kind="sanity", paper="bjorck1973numerical",
                  statement="Principal angles are the arccosines of the singular values of Q_Xᵀ Q_Y.",
                  test="planted angles recovered from random non-orthonormal bases, max error < 1e-8 rad",
                  measured=err, passed=err < 1e-8, figure="fig-prelim-angles")]


# --- figures -----------------------------------------------------------------------------------------------------------

def plot_factorization(res: FactorizationResult):
    """Histogram of ½(‖A‖²+‖B‖²)/‖δ‖_* over random factorizations, the balanced one marked."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ratios = res.random_ratio.flatten().log10()
    ax.hist(ratios.numpy(), bins=60, color="C0", alpha=0.8, label="random factorizations BM, M⁻¹A")
    ax.axvline(res.balanced_ratio.max().log10().item(), color="C3", lw=2, label="balanced (SVD) factors")
    ax.set(xlabel="log₁₀ [½(‖A‖²+‖B‖²) / ‖BA‖_*]", ylabel="count",
           title="Weight decay on the factors is never below the nuclear norm")
    ax.legend()
    return fig


def plot_svt(res: ProxResult, tau: float):
    """Singular values of M and of svt(M, τ) for the first matrix of the batch."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    i = torch.arange(1, res.sv_in.shape[-1] + 1)
    ax.plot(i, res.sv_in[0], "o-", label="σᵢ(M)")
    ax.plot(i, res.sv_out[0], "s-", label="σᵢ(svt(M, τ))")
    ax.axhline(tau, color="grey", ls=":", label=f"τ = {tau:g}")
    ax.set(xlabel="index i", ylabel="singular value", title="Soft-thresholding shifts every σᵢ down by τ")
    ax.legend()
    return fig


def plot_linearization(res: LinearizationResult):
    """Relative linearization error vs perturbation size, log-log, with a slope-1 guide (relative error ~ t)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.loglog(res.t, res.error, "o-", label="‖f(W₀+tδ) − f_lin(tδ)‖ / ‖f(W₀+tδ) − f(W₀)‖")
    ax.loglog(res.t, res.error[0] * res.t / res.t[0], "k--", lw=1, label="∝ t (absolute error ∝ t²)")
    ax.set(xlabel="perturbation size t", ylabel="relative error",
           title=f"Linearization error, fitted absolute slope {res.slope:.2f}")
    ax.legend()
    return fig


def plot_angles(planted: torch.Tensor, recovered: torch.Tensor):
    """Recovered principal angles against the planted ones."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.plot(planted.sort().values, recovered, "o")
    ax.plot([0, 1.6], [0, 1.6], "k--", lw=1)
    ax.set(xlabel="planted angle (rad)", ylabel="recovered angle (rad)", title="Principal angles")
    return fig
