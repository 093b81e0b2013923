"""Figures of the rank-1 chapter (Dayi & Chen, COLT 2025), one function per experiment group (matplotlib is
imported lazily, inside each function).
"""
from __future__ import annotations

import math

import torch

from ... import figures
from .lazy_rich import LazyRichResult
from .method_comparison import METHODS, MethodsResult
from .recovery import RecoveryResult
from .sample_complexity import ScalingResult
from .thresholds import M_STRONG, MSE_FIT


def plot_overlap(res: RecoveryResult, acts: list[str]):
    """Median overlap vs samples/d per activation: fine-tuning (solid) and GLM baseline (dashed)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    x = res.samples / res.d
    for i, a in enumerate(acts):
        for glm, ls in ((False, "-"), (True, "--")):
            sel = torch.tensor([z == a for z in res.acts]) & (res.glm == glm)
            ax.plot(x, res.overlap[:, sel].median(1).values, ls, color=f"C{i}",
                    label=f"{a}, {'GLM' if glm else 'fine-tuning'}")
    ax.axhline(M_STRONG, color="grey", lw=0.8, ls=":")
    ax.axhline(1 / math.sqrt(res.d), color="grey", lw=0.8, ls="-.")
    ax.set(xlabel="samples / $d$", ylabel="median overlap $m$ ($|m|$ for GLM)", ylim=(-0.1, 1.02),
           title=f"Fine-tuning vs GLM regression, $d = {res.d}$")
    figures.legend_below(fig, ncol=3)
    return fig


def plot_scaling(res: ScalingResult, xlabel: str, title: str):
    """Median samples to strong recovery vs x, log-log, with the fitted slopes; censored medians drawn at the
    budget with an upward triangle."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter
    fig, ax = plt.subplots()
    x = torch.tensor(res.xs, dtype=torch.float64)
    for i, lab in enumerate(res.labels):
        f = res.fits[lab]
        med = f.medians
        ok = torch.isfinite(med)
        ax.loglog(x[ok], med[ok], "o-", color=f"C{i}",
                  label=f"{lab}: slope {f.slope:.2f}" if math.isfinite(f.slope) else f"{lab}: censored")
        T = res.T[lab]
        for j in range(len(res.xs)):
            fin = T[j][torch.isfinite(T[j])]
            ax.scatter([res.xs[j]] * len(fin), fin, s=8, color=f"C{i}", alpha=0.4)
        if (~ok).any():
            ax.scatter(x[~ok], res.budget[~ok], marker="^", color=f"C{i}", s=40)
    ax.set(xlabel=xlabel, ylabel=f"samples to $m \\geq {M_STRONG}$", title=title)
    figures.swept_ticks(ax, res.xs)
    ax.yaxis.set_minor_formatter(NullFormatter())
    figures.legend_below(fig)
    return fig


def plot_methods(res: MethodsResult, acts: list[str]):
    """Median relative test MSE vs samples/d for each method (one panel per activation)."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(acts), figsize=(3.6 * len(acts), 3.4), sharey=True, squeeze=False)
    x = res.samples / res.d
    for ax, a in zip(axes[0], acts):
        sel = torch.tensor([z == a for z in res.acts])
        for i, m in enumerate(METHODS):
            ax.semilogy(x, res.mse[m][:, sel].nanmedian(1).values.clamp(min=1e-6), color=f"C{i}", label=m)
        ax.axhline(MSE_FIT, color="grey", lw=0.8, ls=":")
        ax.set(xlabel="samples / $d$", title=f"$\\sigma$ = {a}")
    axes[0, 0].set_ylabel("median relative test MSE")
    figures.legend_below(fig, ncol=2)
    return fig


def plot_lazy_rich(res: LazyRichResult):
    """Relative test error of the kernel predictor (solid) and of rank-1 fine-tuning (dashed) vs the perturbation
    ratio ρ, one colour per activation; dots are seeds."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    r = torch.tensor(res.rhos)
    for a, act in enumerate(res.acts):
        for name, E, ls in (("kernel", res.kernel[a], "o-"), ("rank-1", res.rank1[a], "s--")):
            ax.loglog(r, E.nanmedian(1).values.clamp(min=1e-6), ls, color=f"C{a}", label=f"{act}, {name}")
            ax.scatter(r.repeat_interleave(E.shape[1]), E.flatten().clamp(min=1e-6), s=6, color=f"C{a}", alpha=0.3)
    ax.axhline(MSE_FIT, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="perturbation ratio $\\rho = \\xi / \\|w_{0,i}\\|$",
           ylabel="test error / $\\mathbb{E}(f^* - f_{W_0})^2$",
           title=f"Lazy for small $\\rho$, beyond the kernel at $\\rho \\sim 1$ ({res.n_samples} samples)")
    figures.swept_ticks(ax, res.rhos)
    figures.legend_below(fig, ncol=3)
    return fig
