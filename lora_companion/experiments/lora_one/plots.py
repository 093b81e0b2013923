"""LoRA-One figures: one function per experiment group, each drawing its result (matplotlib imported lazily)."""
from __future__ import annotations

import torch

from .alignment import AlignmentResult
from .digits import DIGITS_LABELS, DIGITS_METHODS, DigitsResult
from .init_comparison import METHODS, InitResult, RecipeResult
from .one_step import OneStepResult
from .preconditioning import ContractionResult, KappaResult


def plot_alignment(res: AlignmentResult):
    """Fig. 2 analogue: sin θ_max(U_{r*}(G♮), U_{r*}(A_t)) and the risk over GD steps, one line per α²."""
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    for i, a in enumerate(res.alpha2):
        ax1.plot(res.steps, res.angle[:, i].median(-1).values, label=f"$\\alpha^2 = {a:g}$")
        ax2.semilogy(res.steps, res.risk[:, i].median(-1).values)
    ax1.set(xlabel="GD step $t$", ylabel=r"$\sin\theta_{\max}(U_{r^*}(G^\natural), U_{r^*}(A_t))$",
            title="Alignment of $A_t$ (median over seeds)")
    ax2.set(xlabel="GD step $t$", ylabel=r"$\|A_tB_t - \Delta\|_F \,/\, \|\Delta\|_F$", title="Risk")
    ax1.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_alignment_d(by_d: dict[int, AlignmentResult]):
    """Alignment angle over GD steps for several d at one init scale."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    for d, res in sorted(by_d.items()):
        ax.plot(res.steps, res.angle[:, 0].median(-1).values, label=f"$d = k = {d}$")
    ax.set(xlabel="GD step $t$", ylabel=r"$\sin\theta_{\max}(U_{r^*}(G^\natural), U_{r^*}(A_t))$",
           title=f"Alignment against $d$ ($\\alpha^2 = {next(iter(by_d.values())).alpha2[0]:g}$)")
    ax.legend()
    return fig


def plot_one_step(res: OneStepResult):
    """Spectral-init error vs N/d (with a −½ guide), ReLU γ = 1 vs 2; the N/d needed for λ*_{r*}/2 vs κ (κ² guide)."""
    import matplotlib.pyplot as plt
    from .one_step import per_seed_slopes
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    q = torch.tensor(res.ratios, dtype=torch.float64)
    med = res.err_n.median(-1).values
    slope = per_seed_slopes(res.ratios, res.err_n).mean().item()
    ax1.loglog(q, med, "o-", label=f"linear, mean slope {slope:.2f}")
    ax1.loglog(q, med[0] * (q / q[0]) ** -0.5, "k--", lw=1, label=r"$\propto (N/d)^{-1/2}$")
    for g, e in zip(res.gammas, res.err_relu.median(-1).values):
        ax1.axhline(e.item(), ls=":", color="C3" if g == 2 else "C1", label=f"ReLU, $\\gamma = {g:g}$ (Frobenius)")
    ax1.set(xlabel="$N/d$", ylabel=r"$\|A_0B_0 - \Delta\| \,/\, \|\Delta\|$", title="Zero steps: spectral-init error")
    ax1.legend(fontsize="small")
    k = torch.tensor(res.kappas, dtype=torch.float64)
    need = res.need.median(-1).values
    ax2.loglog(k, need, "s-", label="median over seeds")
    ax2.loglog(k, need[0] * k ** 2, "k--", lw=1, label=r"$\propto \kappa^2$ (Eq. 8, $\epsilon \leq 1/(2\kappa)$)")
    from matplotlib.ticker import NullFormatter
    for ax, ticks in ((ax1, res.ratios), (ax2, res.kappas)):
        ax.set_xticks(list(ticks), [f"{v:g}" for v in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax2.set(xlabel=r"condition number $\kappa$", ylabel=r"$N/d$ for $\|A_0B_0 - \Delta\|_{op} \leq \lambda^*_{r^*}/2$",
            title="Sample size Thm 3.3 needs")
    ax2.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_kappa(res: KappaResult):
    """Steps to the target risk vs κ for GD and preconditioned GD (each at its tuned step size)."""
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    names = {"gd": "GD", "precgd": "preconditioned GD"}
    for o, s in res.steps.items():
        ax1.loglog(res.kappas, s, "o-", label=names[o])
    ax1.set(xlabel=r"$\kappa$", ylabel=f"steps to risk {res.target:g}", title="Tuned step sizes, median over seeds")
    ax1.legend()
    for j, (o, c) in enumerate(res.curves.items()):
        for i, k in enumerate(res.kappas):
            ax2.semilogy(c[i], color=f"C{j}", alpha=0.35 + 0.65 * i / max(1, len(res.kappas) - 1),
                         label=f"{names[o]}, $\\kappa={k:g}$")
    ax2.set(xlabel="step", ylabel="relative risk", ylim=(1e-12, 2))
    ax2.legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    return fig


def plot_contraction(res: ContractionResult):
    """ReLU teacher: preconditioned GD against the (1 − η/4)^t bound, plain GD and random init + GD."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    t = torch.arange(res.precgd.shape[1])
    for i, k in enumerate(res.kappas):
        ax.semilogy(res.precgd[i].median(-1).values, color="C0", alpha=0.4 + 0.6 * i / max(1, len(res.kappas) - 1),
                    label=f"spectral + precond. GD, $\\kappa={k:g}$")
        ax.semilogy(res.gd[i].median(-1).values, color="C1", alpha=0.4 + 0.6 * i / max(1, len(res.kappas) - 1),
                    label=f"spectral + GD, $\\kappa={k:g}$")
    ax.semilogy(res.random_gd[-1].median(-1).values, color="C2", label=f"random init + GD, $\\kappa={res.kappas[-1]:g}$")
    ax.semilogy(t, res.precgd[:, 0].median().item() * (1 - res.eta / 4) ** t.double(), "k--", lw=1,
                label=r"$(1 - \eta/4)^t$ bound")
    ax.set(xlabel="step $t$", ylabel=r"$\|A_tB_t - \Delta\|_F \,/\, \|\Delta\|_F$", ylim=(1e-14, 3),
           title="ReLU teacher (Thm 4.2)")
    ax.legend(fontsize="x-small", ncol=2)
    return fig


LABELS = {"lora_one": "LoRA-One (spectral)", "lora_ga": "LoRA-GA", "lora_sb": "LoRA-SB", "pissa": "PiSSA-like",
          "lora": "random (LoRA-init)"}


def plot_inits(res: InitResult):
    """Fig. 4 analogue: relative risk per init (solid: preconditioned GD; dashed: plain GD)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    colors = {n: f"C{i}" for i, n in enumerate(METHODS)}
    for key, c in res.curves.items():
        name, opt = key.split("/")
        ax.semilogy(c.median(-1).values, color=colors[name], ls="-" if opt == "precgd" else "--",
                    label=f"{LABELS[name]}, {'precond. GD' if opt == 'precgd' else 'GD'}")
    ax.set(xlabel="step", ylabel=r"$\|\mathrm{update} - \Delta\|_F \,/\, \|\Delta\|_F$", ylim=(1e-13, 10),
           title="Which subspace to start in")
    ax.legend(fontsize="x-small")
    return fig


def plot_recipe(res: RecipeResult):
    """Median relative risk under Adam for each configuration of the practical recipe."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    for i, (name, c) in enumerate(zip(res.configs, res.curves)):
        ax.semilogy(c, label=name, color="k" if i == 0 else f"C{i}")
    ax.set(xlabel="Adam step", ylabel="relative risk", title="The practical recipe in the linear toy")
    ax.legend(fontsize="x-small")
    return fig


def plot_digits(res: DigitsResult):
    """Fig. 1(c) analogue (training loss per method) and Fig. 1(b) analogue (LoRA's angles to the gradient)."""
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    for i, m in enumerate(DIGITS_METHODS):
        ax1.semilogy(res.loss[m].median(-1).values, color=f"C{i}", label=f"{DIGITS_LABELS[m]} (lr {res.best_lr[m]:g})")
    ax1.set(xlabel="GD step", ylabel="training loss (even digits)", title="Fine-tuning trajectories")
    ax1.legend(fontsize="small")
    for k, v in res.angles.items():
        ax2.plot(res.angle_steps, v.median(-1).values, "o-", ms=3, label=k)
    ax2.set(xlabel="GD step", ylabel=r"$\sin\theta_{\max}$ to the one-step gradient", ylim=(0, 1.05),
            title=r"LoRA's subspaces vs $G^\natural$'s (layer 1)")
    ax2.legend(fontsize="small")
    fig.tight_layout()
    return fig
