"""Every figure of the fails-loudly chapter (A1–A5): plain matplotlib, one function per figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ...restricted import RestrictedEstimate
from .corollary import CorollaryCheck
from .lora_runs import EndPoints
from .regularized import RegularizedPath
from .sgd_rank import SGDRuns, lemma1_bound
from .thresholds import A2_GAP, GLOBAL_GAP


def plot_regularized(path: RegularizedPath, r: int):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2))
    lams = path.lams.cpu().numpy()
    ax1.semilogx(lams, path.rank.cpu().numpy(), "o-")
    ax1.axhline(r, color="grey", ls="--", lw=1, label=f"LoRA rank r = {r}")
    ax1.set(xlabel="λ", ylabel="rank of X_λ", title="rank of the regularized solution")
    ax1.legend(frameon=False)
    ax2.loglog(lams, path.nuclear.cpu().numpy(), "o-", label="‖X_λ‖_*")
    ax2.loglog(lams, path.loss0 / lams, "k--", lw=1, label="L(0)/λ")
    ax2.set(xlabel="λ", title="nuclear norm and its bound")
    ax2.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_success(ranks: list[int], ends: list[EndPoints], r_star: int):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2))
    for r, e in zip(ranks, ends):
        g = e.gap.clamp(min=1e-16).cpu().numpy()
        ax1.semilogy(np.full_like(g, r), g, "o", alpha=0.6, color="C0")
        ax2.plot(np.full(len(e.rank), r), e.rank.cpu().numpy(), "o", alpha=0.6, color="C0")
    ax1.axhline(A2_GAP, color="grey", ls="--", lw=1, label=f"threshold {A2_GAP:g}")
    ax1.axvline(r_star - 0.5, color="C3", lw=1)
    ax1.set(xscale="log", xlabel="LoRA rank r", ylabel="relative gap (floored at 1e-16)", title="objective gap")
    ax1.legend(frameon=False)
    ax2.axhline(r_star, color="C3", lw=1, label=f"r* = {r_star}")
    ax2.set(xscale="log", xlabel="LoRA rank r", ylabel="rank of X = ABᵀ", title="rank of the end point")
    ax2.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_dichotomy(e: EndPoints, title: str = ""):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.5, 3.4))
    ok = e.sosp.cpu().numpy()
    s = e.scales.cpu().numpy()
    gap = e.gap.clamp(min=1e-12).cpu().numpy()
    levels = np.unique(s)
    cmap = plt.get_cmap("viridis", len(levels))
    colors = [cmap(int(np.searchsorted(levels, v))) for v in s]
    for ax, yv, ylabel in ((ax1, gap, "relative gap (F − F*)/F*"), (ax2, e.test.cpu().numpy(), "test loss")):
        ax.scatter(e.norm.cpu().numpy()[ok], yv[ok], c=[c for c, k in zip(colors, ok) if k], s=22)
        if (~ok).any():
            ax.scatter(e.norm.cpu().numpy()[~ok], yv[~ok], marker="x", c="grey", s=22, label="not certified")
            ax.legend(frameon=False)
        ax.set(yscale="log", xlabel="‖X‖_F", ylabel=ylabel)
    ax1.axhline(GLOBAL_GAP, color="grey", ls="--", lw=1)
    handles = [plt.Line2D([], [], marker="o", ls="", color=cmap(i), label=f"s = {v:g}") for i, v in enumerate(levels)]
    fig.legend(handles=handles, loc="center right", frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    return fig


def plot_constants(ranks: list[int], ests: list[RestrictedEstimate], extra: dict[str, RestrictedEstimate] | None = None):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2))
    ax1.plot(ranks, [x.alpha for x in ests], "o-", label="α̂ (RSC, MC min)")
    ax1.plot(ranks, [x.beta for x in ests], "s-", label="β̂ (RSM, MC max)")
    ax1.set(xlabel="rank bound r", ylabel="estimate", title="teacher–student task")
    ax1.legend(frameon=False)
    ax2.plot(ranks, [x.ratio for x in ests], "o-", label="teacher–student")
    for i, (name, est) in enumerate((extra or {}).items()):
        ax2.plot([est.r], [est.ratio], "D", color=f"C{i + 2}", label=name)
    ax2.axhline(1, color="grey", ls="--", lw=1)
    ax2.text(ranks[0], 1.05, "special regime above", fontsize=8, color="grey")
    ax2.set(yscale="log", xlabel="rank bound r", ylabel="2α̂/β̂", title="regime indicator")
    ax2.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_corollary(cc: CorollaryCheck, e: EndPoints):
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ok = e.sosp.cpu().numpy()
    ratio = cc.ratio.clamp(min=1e-12).cpu().numpy()
    gap = e.gap.clamp(min=1e-12).cpu().numpy()
    glob = e.is_global.cpu().numpy()
    ax.scatter(ratio[ok & glob], gap[ok & glob], s=22, label="global")
    ax.scatter(ratio[ok & ~glob], gap[ok & ~glob], s=22, color="C3", label="spurious")
    ax.axvline(cc.threshold, color="k", lw=1, label="2α̂/β̂")
    ax.axhline(GLOBAL_GAP, color="grey", ls="--", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="σ_r(X)/σ_r*(X)", ylabel="relative gap",
           title="Corollary 1: left of the line ⇒ global")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_lemma1(runs: SGDRuns, full_rank: int):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.5, 3.4))
    bs, mls = torch.unique(runs.b).tolist(), torch.unique(runs.mu_lam).tolist()
    for i, ml in enumerate(mls):
        sel = runs.mu_lam == ml
        mean = [runs.eps_rank[sel & (runs.b == bb)].double().mean().item() for bb in bs]
        ax1.plot(bs, mean, "o-", color=f"C{i}", label=f"μλ = {ml:g}" if ml > 0 else "λ = 0 (control)")
        if ml > 0:
            ax1.plot(bs, [min(lemma1_bound(bb, ml, runs.eps).item(), 1e3) for bb in bs], ":", color=f"C{i}")
    ax1.axhline(full_rank, color="grey", lw=1)
    ax1.set(xscale="log", xlabel="batch size b", ylabel=f"ε-rank (ε = {runs.eps:g})",
            ylim=(0, full_rank + 1), title="seed mean (dotted: Lemma 1 bound)")
    ax1.set_xticks(bs, [str(v) for v in bs])
    ax1.legend(frameon=False, fontsize=7)
    dec = runs.mu_lam > 0
    bound = runs.bound[dec].clamp(max=4 * full_rank).numpy()
    jitter = 0.15 * (torch.rand(int(dec.sum()), generator=torch.Generator().manual_seed(0)) - 0.5).numpy()
    ax2.scatter(bound, runs.eps_rank[dec].numpy() + jitter, s=14, c=runs.mu_lam[dec].numpy(), cmap="viridis")
    lim = [0, 4 * full_rank]
    ax2.plot(lim, lim, "k--", lw=1, label="ε-rank = bound")
    ax2.axhline(full_rank, color="grey", lw=1)
    ax2.set(xlabel="Lemma 1 bound (clipped)", ylabel="ε-rank", title="every run with λ > 0")
    ax2.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
