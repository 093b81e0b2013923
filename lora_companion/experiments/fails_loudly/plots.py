"""Every figure of the fails-loudly chapter (A1–A5), in the house style of :mod:`lora_companion.figures`."""
from __future__ import annotations

import numpy as np
import torch

from ... import figures
from .corollary import RSCProfile
from .lora_runs import EndPoints
from .regularized import RegularizedPath
from .sgd_rank import SGDRuns, lemma1_bound
from .thresholds import A2_GAP, GLOBAL_GAP

#: gaps below this are drawn at this value (round-off), marked as such in the axis label
GAP_FLOOR = 1e-14


def plot_regularized(path: RegularizedPath, r: int):
    fig, (ax1, ax2) = figures.subplots(1, 2)
    lams = path.lams.cpu().numpy()
    ax1.semilogx(lams, path.rank.cpu().numpy(), "o-")
    ax1.axhline(r, color="grey", ls="--", lw=1, label=f"LoRA rank $r = {r}$")
    ax1.set(xlabel=r"$\lambda$", ylabel=r"rank of $X_\lambda$")
    ax2.loglog(lams, path.nuclear.cpu().numpy(), "o-", label=r"$\|X_\lambda\|_*$")
    ax2.loglog(lams, path.loss0 / lams, "k--", lw=1, label=r"$L(0)/\lambda$")
    ax2.set(xlabel=r"$\lambda$", ylabel="nuclear norm")
    for ax in (ax1, ax2):
        figures.swept_ticks(ax, lams[::2], fmt="{:.0e}")
    figures.legend_below(fig)
    return fig


def plot_success(ranks: list[int], ends: list[EndPoints], r_star: int):
    fig, (ax1, ax2) = figures.subplots(1, 2)
    for r, e in zip(ranks, ends):
        g = e.gap.clamp(min=GAP_FLOOR).cpu().numpy()
        x = figures.jitter(np.full(len(g), float(r)), 0.08, log=True)
        ax1.scatter(x, g, alpha=figures.overplot_alpha(len(g)), color="C0")
        ax2.scatter(x, e.rank.cpu().numpy(), alpha=figures.overplot_alpha(len(g)), color="C0")
    ax1.axhline(A2_GAP, color="grey", ls="--", lw=1, label=f"threshold {A2_GAP:g}")
    ax2.axhline(r_star, color="C3", lw=1, label=rf"$r^\star = {r_star}$")
    ax1.set(xscale="log", yscale="log", xlabel="LoRA rank $r$", ylabel="relative gap (floored at 1e-14)")
    ax2.set(xscale="log", xlabel="LoRA rank $r$", ylabel=r"rank of $X = AB^\top$")
    for ax in (ax1, ax2):
        figures.swept_ticks(ax, ranks)
    figures.legend_below(fig)
    return fig


def plot_dichotomy(e: EndPoints):
    """‖X‖_F against the objective gap and the test loss, one colour per initialization scale, certified SOSPs as
    dots and uncertified end points as crosses; gaps below GAP_FLOOR (round-off) drawn at the floor."""
    fig, (ax1, ax2) = figures.subplots(1, 2)
    ok = e.sosp.cpu().numpy()
    s = e.scales.cpu().numpy()
    levels = np.unique(s)
    colors = figures.ordered_colors(len(levels))
    norm = e.norm.cpu().numpy()
    gap = e.gap.clamp(min=GAP_FLOOR).cpu().numpy()
    test = e.test.clamp(min=GAP_FLOOR).cpu().numpy()   # an exact fit has test loss 0: drawn at the floor
    for ax, yv in ((ax1, gap), (ax2, test)):
        if not np.isfinite(yv).any():   # every run diverged: keep the log axis drawable
            ax.set(ylim=(GAP_FLOOR, 1.0))
        for c, v in zip(colors, levels):
            k = (s == v) & np.isfinite(yv)
            a = figures.overplot_alpha(int(k.sum()))
            ax.scatter(norm[k & ok], yv[k & ok], color=c, alpha=a, label=f"$s = {v:g}$")
            if (k & ~ok).any():
                ax.scatter(norm[k & ~ok], yv[k & ~ok], color=c, marker="x", alpha=a)
        ax.set(yscale="log", xlabel=r"$\|X\|_F$")
    ax1.axhline(GLOBAL_GAP, color="grey", ls="--", lw=1)
    ax1.set(ylabel="relative gap (floored at 1e-14)")
    ax2.set(ylabel="test loss")
    figures.legend_below(fig, axes=[ax1])
    return fig


def plot_constants(p: RSCProfile):
    fig, (ax1, ax2) = figures.subplots(1, 2)
    ax1.plot(p.ranks, p.alpha_mc, "o-", label=r"$\hat\alpha$ (Monte-Carlo min, Table 2 method)")
    ax1.plot(p.ranks, p.alpha_upper, "s-", label=r"minimised RSC quotient ($\geq \alpha$)")
    ax1.axhline(0, color="grey", lw=1)
    ax1.axhline(p.hess_min, color="C3", ls=":", lw=1, label=r"$\lambda_{\min}(\nabla^2 L(X^\star))$")
    ax1.set(xlabel="rank bound $r$", ylabel="RSC constant")
    ax2.plot(p.ranks, p.beta_mc, "o-", color="C2", label=r"$\hat\beta$ (Monte-Carlo max)")
    ax2.set(xlabel="rank bound $r$", ylabel="RSM constant")
    for ax in (ax1, ax2):
        figures.swept_ticks(ax, p.ranks)
    figures.legend_below(fig)
    return fig


def plot_corollary(e: EndPoints, r_star: int, ratio: float):
    """σ_r/σ_{r*} against the gap for the certified end points, with the certificate threshold 2α/β."""
    fig, ax = figures.subplots(1, 1, width=5.5)
    ok = e.sosp.cpu().numpy()
    sv = e.sv.cpu().numpy()
    frac = np.clip(sv[:, e.r - 1] / np.maximum(sv[:, r_star - 1], 1e-300), GAP_FLOOR, None)
    gap = e.gap.clamp(min=GAP_FLOOR).cpu().numpy()
    glob = e.is_global.cpu().numpy()
    ax.scatter(frac[ok & glob], gap[ok & glob], alpha=figures.overplot_alpha(int((ok & glob).sum())), label="global")
    if (ok & ~glob).any():
        ax.scatter(frac[ok & ~glob], gap[ok & ~glob], color="C3", label="spurious")
    if ratio > 0:   # with α ≤ 0 there is no certificate to draw
        ax.axvline(ratio, color="k", lw=1, label=r"$2\alpha/\beta$ (rigorous lower bound)")
    ax.set(xscale="log", yscale="log", xlabel=r"$\sigma_r(X)/\sigma_{r^\star}(X)$ (floored at 1e-14)",
           ylabel="relative gap (floored)")
    if not ok.any():   # nothing certified: keep the log axes drawable
        ax.set(xlim=(GAP_FLOOR, 1.0), ylim=(GAP_FLOOR, 1.0))
    figures.legend_below(fig)
    return fig


def plot_lemma1(runs: SGDRuns, full_rank: int):
    fig, (ax1, ax2) = figures.subplots(1, 2)
    bs, mls = torch.unique(runs.b).tolist(), torch.unique(runs.mu_lam).tolist()
    colors = figures.ordered_colors(len(mls))
    for c, ml in zip(colors, mls):
        sel = runs.mu_lam == ml
        mean = [runs.eps_rank[sel & (runs.b == bb)].double().mean().item() for bb in bs]
        ax1.plot(bs, mean, "o-", color=c, label=rf"$\mu\lambda = {ml:g}$" if ml > 0 else r"$\lambda = 0$")
        if ml > 0:
            bound = [lemma1_bound(bb, ml, runs.eps).item() for bb in bs]   # drawn where below the matrix size
            ax1.plot(bs, [v if v <= full_rank else np.nan for v in bound], ":", color=c)
    ax1.axhline(full_rank, color="grey", lw=1)
    ax1.set(xscale="log", xlabel="batch size $b$", ylabel=rf"$\varepsilon$-rank ($\varepsilon = {runs.eps:g}$)",
            ylim=(0, full_rank + 1))
    figures.swept_ticks(ax1, bs)
    dec = runs.mu_lam > 0
    bound = runs.bound[dec].clamp(max=4 * full_rank).numpy()
    jit = 0.15 * (torch.rand(int(dec.sum()), generator=torch.Generator().manual_seed(0)) - 0.5).numpy()
    ax2.scatter(bound, runs.eps_rank[dec].numpy() + jit, c=runs.mu_lam[dec].numpy(), cmap="viridis",
                alpha=figures.overplot_alpha(int(dec.sum())))
    lim = [0, 4 * full_rank]
    ax2.plot(lim, lim, "k--", lw=1, label=r"$\varepsilon$-rank = bound")
    ax2.axhline(full_rank, color="grey", lw=1)
    ax2.set(xlabel="Lemma 1 bound (clipped at 4 min(m, n))", ylabel=r"$\varepsilon$-rank")
    figures.legend_below(fig)
    return fig
