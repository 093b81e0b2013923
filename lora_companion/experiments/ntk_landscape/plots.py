"""Figures of the NTK-landscape chapter (E1–E6), one function per figure, in the book's house style
(:mod:`lora_companion.figures`: column-wide, legends outside the data, swept values as ticks, mathtext labels)."""
from __future__ import annotations

import torch

from ... import figures
from ...landscape import relative_gap
from ...linalg import pataki_rank_bound
from .generalization import GeneralizationResult
from .low_rank import RankSweep
from .no_spurious import BalanceResult, ControlResult, LandscapeResult
from .real_features import DriftResult
from .tasks import solve_convex
from .thresholds import INIT_DEPENDENCE_MIN, REACH_TOL


def _plain_log_y(ax) -> None:
    """A log y-axis with labels on its decades only (minor ticks unlabelled, so labels never collide)."""
    from matplotlib import ticker
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def plot_rank_vs_n(sweeps: list[RankSweep]):
    """E1: rank(δ*_λ) against N for each K and λ, with r_P(KN), √(2KN) and the ridge rank."""
    fig, axes = figures.subplots(1, len(sweeps), squeeze=False, sharey=True)
    for ax, s in zip(axes[0], sweeps):
        Ns = torch.tensor(s.Ns, dtype=torch.float64)
        for i, rel in enumerate(s.lam_rels):
            r = s.rank[i].double()
            ax.errorbar(Ns, r.mean(-1), yerr=r.std(-1), fmt="o-", capsize=2,
                        label=rf"rank $\delta^*_\lambda$, $\lambda = {rel:g}\,\lambda_{{\max}}$")
        ax.plot(Ns, s.pataki, "k--", label=r"$r_P(KN)$")
        ax.plot(Ns, (2 * s.K * Ns).sqrt(), "k:", label=r"$\sqrt{2KN}$")
        ax.plot(Ns, s.ridge_rank.double().mean(-1), "s-", color="C3", label="ridge (min-Frobenius)")
        ax.set(xscale="log", yscale="log", xlabel="$N$", title=f"$K = {s.K}$")
        figures.swept_ticks(ax, s.Ns, "x")
        ticks = sorted({int(v) for v in s.pataki} | {1, s.min_mn})
        figures.swept_ticks(ax, ticks, "y", max_labels=6)
    axes[0, 0].set_ylabel("rank")
    figures.legend_below(fig, ncol=3)
    return fig


def plot_thresholds(res: LandscapeResult):
    """E2: fraction of runs reaching f* per (N, r), and both thresholds against N."""
    fig, (ax1, ax2) = figures.subplots(1, 2)
    ok = res.reached().reshape(len(res.Ns), res.n_seeds, -1).double().mean(1)
    ranks = sorted(set(res.runs.ranks.tolist()))
    for i, N in enumerate(res.Ns):
        frac = [ok[i][res.runs.ranks == r].mean().item() for r in ranks]
        ax1.plot(ranks, frac, "o-", color=f"C{i}", label=f"$N = {N}$")
        ax1.axvline(pataki_rank_bound(res.K * N) + 1, color=f"C{i}", ls=":", lw=1)
    ax1.set(xlabel="LoRA rank $r$", ylabel=r"fraction reaching $f^*$", title=r"dotted: theorem's $r_P(KN)+1$",
            ylim=(-0.05, 1.05))
    figures.swept_ticks(ax1, ranks, "x")
    Ns = res.Ns
    ax2.plot(Ns, [pataki_rank_bound(res.K * N) + 1 for N in Ns], "k--o", label=r"theorem: $r_P(KN)+1$")
    ax2.plot(Ns, res.rank_star.reshape(len(Ns), -1).max(1).values, "C2-^", label=r"max rank $\delta^*$")
    ax2.set(xscale="log", xlabel="$N$", ylabel="rank", title="Thresholds against $N$")
    figures.swept_ticks(ax2, Ns, "x")
    figures.legend_below(fig, ncol=3)
    return fig


def plot_curves(res: LandscapeResult, dataset: int = -1, steps: int | None = None):
    """E6: objective gap vs step for each LoRA rank (standard init) on one dataset, against the full fine-tuning
    baseline (proximal gradient with SVT on the same objective, same step size 1/L)."""
    fig, ax = figures.subplots()
    d = dataset % res.f_star.shape[0]
    fs = res.f_star[d]
    steps = steps or int(res.runs.steps[-1])
    one = res.task.subset(torch.tensor([d]))
    base = solve_convex(one, res.lam[d:d + 1], max_iter=steps, tol=0.0, accelerated=False, record_every=1)
    ax.semilogy(torch.arange(base.history.shape[0]), (relative_gap(base.history[:, 0].cpu(), fs)).clamp(min=1e-16),
                "k-", lw=2, label="full FT: proximal gradient")
    ranks = sorted(set(res.runs.ranks.tolist()))
    for c, r in zip(figures.ordered_colors(len(ranks)), ranks):
        p = ((res.runs.ranks == r) & (res.runs.inits == 0)).nonzero()[0, 0]
        gap = relative_gap(res.runs.objective[:, d, p].cpu(), fs).clamp(min=1e-16)
        ax.semilogy(res.runs.steps, gap, "-", lw=1, color=c, label=f"LoRA $r = {r}$")
    ax.axhline(REACH_TOL, color="grey", ls=":", label="reach tolerance")
    ax.set(xlabel="step", ylabel=r"$(F - f^*)/f^*$", title=rf"$N = {int(one.N[0])}$, rank $\delta^* = {int(res.rank_star[d])}$")
    figures.legend_right(ax, fontsize="small")
    return fig


def plot_balance(b: BalanceResult, ctrl: ControlResult):
    """E3: both defects against their bound F − f* on every run, and the λ = 0 control."""
    fig, (ax1, ax2) = figures.subplots(1, 2)
    lo = 1e-18
    ax1.loglog(b.bound.flatten().clamp(min=lo), b.balance_defect.flatten().clamp(min=lo), "o", ms=3, alpha=0.4,
               label=r"$\lambda(\frac{1}{2}\|U\|^2+\frac{1}{2}\|V\|^2-\|UV^\top\|_*)$")
    ax1.loglog(b.bound.flatten().clamp(min=lo), b.prediction_defect.flatten().clamp(min=lo), "x", ms=3, alpha=0.4,
               label=r"$\frac{1}{2}\,\mathrm{mean}\,\|\langle G, UV^\top-\delta^*\rangle\|^2$")
    if b.bound.numel():   # no run reached f* (e.g. a one-step budget): nothing to bound
        lim = [b.bound.clamp(min=lo).min().item(), b.bound.max().item()]
        ax1.loglog(lim, lim, "k--", label="bound $F - f^*$")
    ax1.set(xlabel=r"$F - f^*$ (+ slack)", ylabel="defect", title=r"$\lambda > 0$: every run")
    ax2.hist(ctrl.distance.numpy(), bins=12, color="C1", label=r"$\lambda = 0$ runs")
    ax2.axvline(INIT_DEPENDENCE_MIN, color="C3", ls="--", label="threshold")
    ax2.set(xlabel=r"$\|\delta_{\rm std} - \delta_{\rm large}\| / \|\delta_{\rm std}\|$", ylabel="datasets",
            title=r"$\lambda = 0$: depends on init")
    figures.legend_below(fig, ncol=2)
    return fig


def plot_real_rank(ranks: torch.Tensor, Ns, K: int):
    """E4: rank of δ* on real Jacobian features against N, with r_P(KN)."""
    fig, ax = figures.subplots()
    r = ranks.double()
    ax.errorbar(Ns, r.mean(1), yerr=r.std(1), fmt="o-", capsize=2, label=r"rank $\delta^*$ (Jacobian features)")
    ax.plot(Ns, [pataki_rank_bound(K * N) for N in Ns], "k--", label=r"$r_P(KN)$")
    ax.set(xscale="log", xlabel="$N$", ylabel="rank", title=f"Real NTK features, $K = {K}$")
    figures.swept_ticks(ax, Ns, "x")
    figures.legend_right(ax)
    return fig


def plot_drift(dr: DriftResult):
    """E4: training objective of the true network at several scales α vs the linearized model; final drift vs α."""
    fig, (ax1, ax2) = figures.subplots(1, 2)
    for c, (i, a) in zip(figures.ordered_colors(len(dr.alphas)), enumerate(dr.alphas)):
        ax1.plot(dr.steps, dr.loss_true[:, i], color=c, label=rf"true, $\alpha = {a:g}$")
    ax1.plot(dr.steps, dr.loss_lin, "k--", label="linearized")
    ax1.set(xlabel="step", ylabel="objective", yscale="log", title="LoRA training (first draw)")
    _plain_log_y(ax1)
    d = dr.drift
    ax2.errorbar(dr.alphas, d.mean(0), yerr=d.std(0), fmt="o-", capsize=2, label="drift (mean over draws)")
    ax2.plot(dr.alphas, d.mean(0)[0] / torch.tensor(dr.alphas), "k:", label=r"$\propto 1/\alpha$")
    ax2.set(xscale="log", yscale="log", xlabel=r"scale $\alpha$", ylabel="relative drift",
            title="True vs linearized at the end")
    figures.swept_ticks(ax2, dr.alphas, "x")
    _plain_log_y(ax2)
    figures.legend_below(fig, ncol=3)
    return fig


def plot_generalization(g: GeneralizationResult):
    """E5: held-out loss of the three solutions and the convex generalization gap against N."""
    fig, (ax1, ax2) = figures.subplots(1, 2)
    for k, style in (("convex", "o-"), ("lora", "x--"), ("ridge", "s-")):
        ax1.plot(g.Ns, g.test[k].mean(1), style, label=k)
    ax1.set(xscale="log", yscale="log", xlabel="$N$", ylabel="held-out loss", title="Held-out loss")
    figures.swept_ticks(ax1, g.Ns, "x")
    _plain_log_y(ax1)
    gap = (g.test["convex"] - g.train["convex"]).mean(1)
    Ns = torch.tensor(g.Ns, dtype=torch.float64)
    ax2.loglog(Ns, gap, "o-", color="C0", label=f"convex gap, slope {g.slope:.2f}")
    ax2.loglog(Ns, gap[0] * (Ns / Ns[0]) ** -0.5, "k:", label=r"$\propto 1/\sqrt{N}$")
    ax2.set(xlabel="$N$", ylabel="test − train loss", title="Generalization gap")
    figures.swept_ticks(ax2, g.Ns, "x")
    _plain_log_y(ax2)
    figures.legend_below(fig, ncol=3)
    return fig
