"""Jang, Lee, Ryu 2024 on real NTK features: per-example gradients of all-MiniLM-L6-v2's two logits with respect to
one attention weight matrix — the value projection of one attention head in the top layer, W_h (32×384) — by
``torch.func`` (vmap ∘ jacrev), N from 8 to 64 polar VADER entries, softmax cross-entropy (K = 2 logits, as in the
paper's prompt-based experiments).

Claim (i): the nuclear-norm-regularized linearized problem min_δ L̂(δ) + λ‖δ‖_* has a solution of rank r with
r(r+1)/2 ≤ KN (Pataki bound r_P(KN)); we solve it (FISTA + SVT, certified by ‖∇L̂(δ*)‖_op ≤ λ) and compare
rank(δ*) with r_P(KN), and with the rank of the minimum-Frobenius interpolant (full fine-tuning without the
nuclear-norm bias). Claim (ii) (LoRA above the threshold reaches δ*) is not tested on these features at book scale:
plain GD on the factored problem did not converge within a budget that fits the book (see the page).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import functional_call, jacrev, vmap

from ...claims import Claim, Hypothesis, check
from ...landscape import nuclear_certificate
from ...linalg import numerical_rank, pataki_rank_bound
from ..ntk_landscape.tasks import LinearTask, ridge_interpolant, solve_convex
from . import model as M
from .lora_one import make_split

PAPER = "jang2024lora"
K = 2


def head_jacobian(top: M.Top, x: M.Cached, head: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Features G (N, K, d_h, 384) = ∂logits/∂W_h of every example, and the base logits (N, K), float64."""
    name = f"layers.{len(top.layers) - 1}.attention.self.value.weight"
    W = dict(top.named_parameters())[name].detach()
    d_h = top.layers[-1].attention.self.attention_head_size
    lo, hi = head * d_h, (head + 1) * d_h
    if not 0 <= head < W.shape[0] // d_h:
        raise ValueError(f"head must lie in [0, {W.shape[0] // d_h}), got {head}")

    def logits(Wh, h1, m1):
        full = torch.cat([W[:lo], Wh, W[hi:]])
        return functional_call(top, {name: full}, (M.Cached(h1[None], m1[None]),))[0]

    G = vmap(jacrev(logits), in_dims=(None, 0, 0))(W[lo:hi], x.h, x.mask)
    with torch.no_grad():
        f0 = top(x)
    return G.double(), f0.double(), name


@dataclass
class NTKResult:
    Ns: list
    K: int
    m: int
    n: int
    lam_rels: list
    rank: torch.Tensor          # (n_lam, n_N, n_seeds) rank of δ*_λ
    pataki: list                # r_P(KN) per N
    certified: torch.Tensor     # (n_lam, n_N, n_seeds) dual certificate ‖∇L̂(δ*)‖_op ≤ λ(1 + tol)
    converged: torch.Tensor     # (n_lam, n_N, n_seeds) FISTA residual ≤ tol
    ridge_rank: torch.Tensor    # (n_N, n_seeds) rank of the minimum-Frobenius interpolant of the base margins


def ntk_experiment(*, Ns, n_head, max_tokens, head_wd, head_index, lam_rels, n_seeds,
                   gen: torch.Generator) -> NTKResult:
    """Jacobian features for max(Ns) training entries per seed (nested subsets for smaller N), then one batched
    convex solve over every (N, seed)."""
    Nm = max(Ns)
    feats = []
    for _ in range(n_seeds):
        split = make_split(n_head, Nm, 0, 1, max_tokens, head_wd, gen)
        top = M.Top(1, split.head)
        G, f0, _ = head_jacobian(top, split.train, head_index)
        feats.append((G, f0, split.y_train))
    Gs, f0s, ys, ws, Nv = [], [], [], [], []
    for N in Ns:                      # N-major datasets
        for G, f0, y in feats:
            Gs.append(G)
            f0s.append(f0)
            ys.append(y)
            ws.append((torch.arange(Nm) < N).double())
            Nv.append(float(N))
    task = LinearTask(G=torch.stack(Gs), f0=torch.stack(f0s), y=torch.stack(ys), w=torch.stack(ws),
                      N=torch.tensor(Nv, dtype=torch.float64), loss="ce")
    # rescale each dataset's features so that ∇L̂ is 1-Lipschitz (δ → cδ: ranks and λ/λ_max are unchanged)
    task = LinearTask(G=task.G / task.lipschitz().sqrt()[:, None, None, None, None], f0=task.f0, y=task.y,
                      w=task.w, N=task.N, loss="ce")
    D, _, m, n = task.shape
    ranks, certs, convs = [], [], []
    for rel in lam_rels:
        lam = rel * task.lam_max()
        sol = solve_convex(task, lam, tol=1e-9, max_iter=20000)
        ranks.append(numerical_rank(sol.X).reshape(len(Ns), n_seeds))
        certs.append(nuclear_certificate(lambda X: task.risk(X[:, None])[:, 0], sol.X, lam).holds(1e-4)
                     .reshape(len(Ns), n_seeds))
        convs.append(sol.converged.reshape(len(Ns), n_seeds))
    # the contrast: minimum-Frobenius δ moving each true logit by +1 and the other by −1 (squared-loss interpolant)
    sq = LinearTask(G=task.G, f0=task.f0, y=task.f0 + torch.nn.functional.one_hot(task.y, K).double() * 2 - 1,
                    w=task.w, N=task.N)
    shape = (len(Ns), n_seeds)
    return NTKResult(list(Ns), K, m, n, list(lam_rels), torch.stack(ranks), [pataki_rank_bound(K * N) for N in Ns],
                     torch.stack(certs), torch.stack(convs),
                     numerical_rank(ridge_interpolant(sq)).reshape(shape))


def ntk_claims(res: NTKResult, model: str = M.MODEL) -> list[Claim]:
    fig = "fig-ntk-minilm"
    excess = (res.rank - torch.tensor(res.pataki)[None, :, None]).max().item()
    solved = bool((res.converged & res.certified).all())
    hyps = [Hypothesis("loss convex and twice differentiable (softmax cross-entropy)", "cross-entropy", True),
            Hypothesis("λ > 0 (smallest λ/λ_max)", min(res.lam_rels), min(res.lam_rels) > 0)]
    return [
        check("ntk-minilm-rank-below-pataki", paper=PAPER, kind="theorem", source="abstract (i); Sec. 3 (our reading)", model=model,
              hypotheses=hyps + [Hypothesis("every convex solve converged and certified optimal", solved, solved)],
              statement="The nuclear-norm-regularized linearized fine-tuning problem has a solution of rank r with "
                        "r(r+1)/2 ≤ KN.",
              test="max over λ, N and seeds of rank(δ*_λ) − r_P(KN) ≤ 0 on MiniLM's Jacobian features",
              measured=int(excess), passed=excess <= 0, figure=fig),
    ]


def plot_ntk(res: NTKResult):
    """rank(δ*_λ) per seed and the minimum-Frobenius interpolant's rank against N, with r_P(KN) and √(2KN)."""
    from ... import figures

    fig, ax = figures.subplots(1, 1, width=5.0)
    Ns = torch.tensor(res.Ns, dtype=torch.float64)
    colors = figures.ordered_colors(len(res.lam_rels))
    for j in range(res.rank.shape[2]):
        x = figures.jitter(res.Ns, spread=0.04, log=True, seed=j)
        for i, rel in enumerate(res.lam_rels):
            ax.scatter(x, res.rank[i, :, j], color=colors[i],
                       label=rf"rank $\delta^*_\lambda$, $\lambda = {rel:g}\,\lambda_{{max}}$" if j == 0 else None)
        ax.scatter(x, res.ridge_rank[:, j], color="C2", marker="s", label="min-Frobenius interpolant" if j == 0 else None)
    ax.plot(res.Ns, res.pataki, "k--", label=r"$r_P(KN)$")
    ax.plot(res.Ns, (2 * res.K * Ns).sqrt(), "k:", label=r"$\sqrt{2KN}$")
    ax.set(xscale="log", xlabel="N (training entries)", ylabel="rank")
    figures.swept_ticks(ax, res.Ns)
    figures.legend_right(ax)
    return fig
