"""Figures of the NTK-landscape chapter (E1–E6), one function per figure; matplotlib is imported on first use."""
from __future__ import annotations

import math

import torch

from ...landscape import relative_gap
from ...linalg import pataki_rank_bound
from .generalization import GeneralizationResult
from .low_rank import RankSweep
from .no_spurious import BalanceResult, ControlResult, LandscapeResult
from .real_features import DriftResult
from .tasks import solve_convex
from .thresholds import BALANCE_TOL, GAP_TOL, INIT_DEPENDENCE_MIN


def _plt():
    import matplotlib.pyplot as plt
    return plt


def plot_rank_vs_n(sweeps: list[RankSweep]):
    """E1: rank(δ*_λ) against N for each K and λ, with r_P(KN), √(2KN) and the ridge rank."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(sweeps), figsize=(3.6 * len(sweeps), 3.4), squeeze=False)
    for ax, s in zip(axes[0], sweeps):
        Ns = torch.tensor(s.Ns, dtype=torch.float64)
        for i, rel in enumerate(s.lam_rels):
            r = s.rank[i].double()
            ax.errorbar(Ns, r.mean(-1), yerr=r.std(-1), fmt="o-", capsize=2, label=f"rank δ*, λ = {rel:g}·λmax")
        ax.plot(Ns, s.pataki, "k--", label="r_P(KN)")
        ax.plot(Ns, (2 * s.K * Ns).sqrt(), "k:", label="√(2KN)")
        ax.plot(Ns, s.ridge_rank.double().mean(-1), "s-", color="C3", label="ridge (min-Frobenius)")
        ax.set(xscale="log", yscale="log", xlabel="N", ylabel="rank", title=f"K = {s.K}")
    axes[0, 0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_thresholds(res: LandscapeResult):
    """E2: fraction of runs reaching f* per (N, r), and both thresholds against N."""
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    ok = res.reached().reshape(len(res.Ns), res.n_seeds, -1).double().mean(1)
    ranks = sorted(set(res.runs.ranks.tolist()))
    for i, N in enumerate(res.Ns):
        frac = [ok[i][res.runs.ranks == r].mean().item() for r in ranks]
        ax1.plot(ranks, frac, "o-", label=f"N = {N}")
        ax1.axvline(pataki_rank_bound(res.K * N) + 1, color=f"C{i}", ls=":", lw=1)
    ax1.set(xlabel="LoRA rank r", ylabel="fraction reaching f*", title="dotted: theorem rank r_P(KN)+1")
    ax1.legend(fontsize="small")
    Ns = res.Ns
    ax2.plot(Ns, [pataki_rank_bound(res.K * N) + 1 for N in Ns], "k--o", label="theorem: r_P(KN)+1")
    ax2.plot(Ns, res.empirical_threshold(), "C0-s", label="empirical: every run reaches f*")
    ax2.plot(Ns, res.rank_star.reshape(len(Ns), -1).max(1).values, "C2-^", label="max rank δ*")
    ax2.set(xscale="log", xlabel="N", ylabel="rank", title="Thresholds against N")
    ax2.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_curves(res: LandscapeResult, dataset: int = -1, steps: int | None = None):
    """E6: objective gap vs step for each LoRA rank (standard init) on one dataset, against the full fine-tuning
    baseline (proximal gradient with SVT on the same objective, same step size 1/L)."""
    plt = _plt()
    fig, ax = plt.subplots()
    d = dataset % res.f_star.shape[0]
    fs = res.f_star[d]
    steps = steps or int(res.runs.steps[-1])
    one = res.task.subset(torch.tensor([d]))
    base = solve_convex(one, res.lam[d:d + 1], max_iter=steps, tol=0.0, accelerated=False, record_every=1)
    ax.semilogy(torch.arange(base.history.shape[0]), (relative_gap(base.history[:, 0].cpu(), fs)).clamp(min=1e-16),
                "k-", lw=2, label="full FT: proximal gradient")
    for r in sorted(set(res.runs.ranks.tolist())):
        p = ((res.runs.ranks == r) & (res.runs.inits == 0)).nonzero()[0, 0]
        gap = relative_gap(res.runs.objective[:, d, p].cpu(), fs).clamp(min=1e-16)
        ax.semilogy(res.runs.steps, gap, "-", lw=1, label=f"LoRA r = {r}")
    ax.axhline(GAP_TOL, color="grey", ls=":")
    ax.set(xlabel="step", ylabel="(F − f*)/f*", title=f"N = {int(one.N[0])}, rank δ* = {int(res.rank_star[d])}")
    ax.legend(fontsize="x-small", ncol=2)
    return fig


def plot_balance(b: BalanceResult, ctrl: ControlResult):
    """E3: weight decay ⇔ nuclear norm at converged runs, and the λ = 0 control."""
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    vals = [b.recon, b.imbalance, b.penalty_ratio.abs(), b.extra]
    ax1.boxplot([v.clamp(min=1e-16).log10().numpy() for v in vals])
    ax1.set_xticks([1, 2, 3, 4], ["‖UVᵀ−δ*‖", "‖UᵀU−VᵀV‖", "|pen/‖δ*‖_*−1|", "extra cols"], fontsize="small")
    ax1.axhline(math.log10(BALANCE_TOL), color="C3", ls="--", label="tolerance")
    ax1.set(ylabel="log₁₀ relative error", title="λ > 0: runs that reached f*")
    ax1.legend(fontsize="small")
    ax2.hist(ctrl.distance.numpy(), bins=12, color="C1")
    ax2.axvline(INIT_DEPENDENCE_MIN, color="C3", ls="--")
    ax2.set(xlabel="‖δ_standard − δ_large‖/‖δ_standard‖", ylabel="datasets", title="λ = 0: solutions depend on init")
    fig.tight_layout()
    return fig


def plot_real_rank(ranks: torch.Tensor, Ns, K: int):
    """E4: rank of δ* on real Jacobian features against N, with r_P(KN)."""
    plt = _plt()
    fig, ax = plt.subplots()
    r = ranks.double()
    ax.errorbar(Ns, r.mean(1), yerr=r.std(1), fmt="o-", capsize=2, label="rank δ* (Jacobian features)")
    ax.plot(Ns, [pataki_rank_bound(K * N) for N in Ns], "k--", label="r_P(KN)")
    ax.set(xscale="log", xlabel="N", ylabel="rank", title=f"Real NTK features, K = {K}")
    ax.legend()
    return fig


def plot_drift(dr: DriftResult):
    """E4: training objective of the true network at several scales α vs the linearized model; final drift vs α."""
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for i, a in enumerate(dr.alphas):
        ax1.plot(dr.steps, dr.loss_true[:, i], label=f"true, α = {a:g}")
    ax1.plot(dr.steps, dr.loss_lin, "k--", label="linearized")
    ax1.set(xlabel="step", ylabel="objective", yscale="log", title="LoRA training")
    ax1.legend(fontsize="small")
    ax2.loglog(dr.alphas, dr.drift, "o-", label=f"fitted slope {dr.slope:.2f}")
    ax2.loglog(dr.alphas, dr.drift[0] / torch.tensor(dr.alphas), "k:", label="∝ 1/α")
    ax2.set(xlabel="scale α", ylabel="relative drift of predictions", title="True vs linearized at the end")
    ax2.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_generalization(g: GeneralizationResult):
    """E5: held-out loss of the three solutions and the convex generalization gap against N."""
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for k, style in (("convex", "o-"), ("lora", "x--"), ("ridge", "s-")):
        ax1.plot(g.Ns, g.test[k].mean(1), style, label=k)
    ax1.set(xscale="log", yscale="log", xlabel="N", ylabel="held-out loss", title="Held-out loss")
    ax1.legend(fontsize="small")
    gap = (g.test["convex"] - g.train["convex"]).mean(1)
    Ns = torch.tensor(g.Ns, dtype=torch.float64)
    ax2.loglog(Ns, gap, "o-", label=f"convex gap, slope {g.slope:.2f}")
    ax2.loglog(Ns, gap[0] * (Ns / Ns[0]) ** -0.5, "k:", label="∝ 1/√N")
    ax2.set(xlabel="N", ylabel="test − train loss", title="Generalization gap")
    ax2.legend(fontsize="small")
    fig.tight_layout()
    return fig
