"""E4: real Jacobian features of a small pre-trained network (Jang, Lee, Ryu 2024, claim (i) beyond random features).

f(W; x) = a tanh(Wx) is pre-trained, its Jacobian features G(x) = ∂f(W0; x)/∂W define the linearized task; the
rank of δ* is compared with r_P(KN), and LoRA training of the lazily scaled true network
h_α(δ) = f(W0) + α[f(W0 + δ/α) − f(W0)] (Chizat, Oyallon, Bach 2019) is compared with the linearized model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ...claims import Claim, check
from ...landscape import ConvexSolution, nuclear_certificate
from ...linalg import numerical_rank, pataki_rank_bound
from ...stats import decide_between, loglog_slope
from ...train import train
from .tasks import LinearTask, solve_convex
from .thresholds import DRIFT_SLOPE_RANGE


def mlp_batched(W: torch.Tensor, a: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """f(W; x) = a tanh(W x) for weights W (B, m, n) or (m, n), a (K, m), inputs X (N, n) → (B, N, K) or (N, K)."""
    return torch.tanh(X @ W.mT) @ a.T


@dataclass
class Pretrained:
    W0: torch.Tensor   # (m, n) hidden weight: the matrix LoRA adapts
    a: torch.Tensor    # (K, m) output weights (frozen)
    teacher_loss: float


def pretrain_mlp(n_in: int, m: int, K: int, n_train: int, steps: int, gen) -> Pretrained:
    """Pre-train f(W; x) = a tanh(Wx) with Adam on a random teacher's K-class labels (Gaussian inputs)."""
    Wt = torch.randn(m, n_in, generator=gen, dtype=torch.float64) / math.sqrt(n_in)
    at = torch.randn(K, m, generator=gen, dtype=torch.float64)
    X = torch.randn(n_train, n_in, generator=gen, dtype=torch.float64)
    labels = mlp_batched(Wt, at, X).argmax(-1)
    W = (torch.randn(m, n_in, generator=gen, dtype=torch.float64) / math.sqrt(n_in)).requires_grad_(True)
    a = (torch.randn(K, m, generator=gen, dtype=torch.float64) / math.sqrt(m)).requires_grad_(True)
    opt = torch.optim.Adam([W, a], lr=0.02)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(mlp_batched(W, a, X), labels).backward()
        opt.step()
    with torch.no_grad():   # the loss of the returned weights (steps = 0: of the random init)
        loss = torch.nn.functional.cross_entropy(mlp_batched(W, a, X), labels).item()
    return Pretrained(W0=W.detach(), a=a.detach(), teacher_loss=loss)


def jacobian_task(net: Pretrained, Ns: list[int], n_seeds: int, gen, shift: float = 1.0,
                  device="cpu") -> tuple[LinearTask, torch.Tensor]:
    """Downstream task for the pre-trained net: regress the K outputs of a perturbed teacher (W0 + shift·noise) with
    the squared loss, on features G(x) = ∂f(W0; x)/∂W by ``linearize.jacobian_features`` (vmap∘jacrev).
    N-major datasets.
    Returns the task and the inputs X (D, N_max, n)."""
    from ...linearize import jacobian_features
    m, n = net.W0.shape
    Nm = max(Ns)
    f = lambda W, x: net.a @ torch.tanh(W @ x)  # noqa: E731
    Xs, Gs, f0s, ys, ws, Nv = [], [], [], [], [], []
    for N in Ns:
        for _ in range(n_seeds):
            X = torch.randn(Nm, n, generator=gen, dtype=torch.float64)
            Wd = net.W0 + shift * torch.randn(m, n, generator=gen, dtype=torch.float64) / math.sqrt(n)
            Xs.append(X)
            Gs.append(jacobian_features(f, net.W0, X))
            f0s.append(mlp_batched(net.W0, net.a, X))
            ys.append(mlp_batched(Wd, net.a, X))
            ws.append((torch.arange(Nm) < N).double())
            Nv.append(N)
    to = dict(device=device)
    task = LinearTask(G=torch.stack(Gs).to(**to), f0=torch.stack(f0s).to(**to), y=torch.stack(ys).to(**to),
                      w=torch.stack(ws).to(**to), N=torch.tensor(Nv, dtype=torch.float64, **to))
    return task, torch.stack(Xs).to(**to)


def real_rank_sweep(task: LinearTask, Ns, lam_rel: float) -> tuple[torch.Tensor, torch.Tensor, ConvexSolution]:
    """rank(δ*_λ) (n_N, n_seeds) on real-Jacobian features, whether each solve is certified, and the solution."""
    lam = lam_rel * task.lam_max()
    sol = solve_convex(task, lam, tol=1e-10, max_iter=20000)
    cert = nuclear_certificate(lambda X: task.risk(X[:, None])[:, 0], sol.X, lam).holds(1e-4) & sol.converged
    return numerical_rank(sol.X).reshape(len(Ns), -1).cpu(), cert.reshape(len(Ns), -1).cpu(), sol


@dataclass
class DriftResult:
    alphas: list[float]
    drift: torch.Tensor      # (S, n_alpha) ‖h_α(δ_true) − f_lin(δ_lin)‖ / ‖f_lin(δ_lin) − f0‖ at the end, per data draw
    loss_true: torch.Tensor  # (n_records, n_alpha) training objective of the true network (first draw)
    loss_lin: torch.Tensor   # (n_records,) training objective of the linearized network (first draw)
    steps: torch.Tensor

    @property
    def slopes(self) -> torch.Tensor:
        """(S,) log-log slope of the drift against α, per data draw."""
        return torch.tensor([loglog_slope(self.alphas, row) for row in self.drift])

    @property
    def slope(self) -> float:
        return self.slopes.mean().item()


def drift_experiment(net: Pretrained, task: LinearTask, X: torch.Tensor, r: int, lam_rel: float,
                     alphas: list[float], *, steps: int, lr: float, gen, draws: int = 1) -> DriftResult:
    """Train LoRA (same init, same GD, weight decay λ) on the linearized model and on the lazily scaled true network
    h_α(δ) = f(W0) + α[f(W0 + δ/α) − f(W0)] (Chizat, Oyallon, Bach 2019), on the last ``draws`` datasets of
    ``task`` (the largest N), all in one batch. h_α → f_lin as α → ∞, so the final predictions should differ by
    O(1/α) (log-log slope −1). ``lr`` is in units of 1/L, L the largest Lipschitz constant of ∇L̂ over the draws."""
    idx = torch.arange(task.G.shape[0] - draws, task.G.shape[0])
    sub = task.subset(idx)
    N = int(sub.N[0])
    if not bool((sub.N == N).all()):
        raise ValueError("draws: the last datasets must share N")
    m, n = net.W0.shape
    S, A = draws, len(alphas)
    lam = lam_rel * sub.lam_max()                                   # (S,)
    al = torch.tensor(alphas, dtype=torch.float64, device=X.device)
    Xo, f0, y, G = X[idx, :N], sub.f0[:, :N], sub.y[:, :N], sub.G[:, :N]

    def outputs(U, V):  # (S, A+1, ·, r) -> (S, A+1, N, K): true net at each α, then the linearized model
        d = U @ V.mT
        h = mlp_batched(net.W0 + d[:, :A] / al[:, None, None], net.a, Xo[:, None]) - f0[:, None]
        lin = torch.einsum("sikmn,smn->sik", G, d[:, A])
        return f0[:, None] + torch.cat([al[:, None, None] * h, lin[:, None]], 1)

    def objective(p):
        U, V = p["U"].reshape(S, A + 1, m, r), p["V"].reshape(S, A + 1, n, r)
        risk = 0.5 * (outputs(U, V) - y[:, None]).square().sum(-1).mean(-1)
        pen = 0.5 * (U.square().sum((-2, -1)) + V.square().sum((-2, -1)))
        return (risk + lam[:, None] * pen).reshape(-1)

    U0 = torch.zeros(S * (A + 1), m, r, dtype=torch.float64, device=X.device)
    V0 = (torch.randn(S, 1, n, r, generator=gen, dtype=torch.float64) / math.sqrt(n)).to(X.device)
    V0 = V0.expand(S, A + 1, n, r).reshape(-1, n, r)
    res = train(objective, {"U": U0, "V": V0}, steps=steps, lr=lr / sub.lipschitz().max().item(),
                record_every=max(1, steps // 50))
    out = outputs(res.params["U"].reshape(S, A + 1, m, r), res.params["V"].reshape(S, A + 1, n, r))
    lin = out[:, A:]
    drift = torch.linalg.vector_norm(out[:, :A] - lin, dim=(-2, -1)) / torch.linalg.vector_norm(lin - f0[:, None], dim=(-2, -1))
    hist = res.history["objective"].reshape(-1, S, A + 1)[:, 0]
    return DriftResult(alphas=list(alphas), drift=drift.cpu(), loss_true=hist[:, :A].cpu(), loss_lin=hist[:, A].cpu(),
                       steps=res.steps)


def real_claims(ranks: torch.Tensor, cert: torch.Tensor, Ns, K: int, lam_rel: float) -> list[Claim]:
    """Theorem (i) on Jacobian features: ``ranks``/``cert`` (n_N, n_seeds)."""
    from .low_rank import rank_bound_claims
    pat = torch.tensor([pataki_rank_bound(K * N) for N in Ns])[:, None].expand_as(ranks)
    return rank_bound_claims("ntk-real-rank-below-pataki", f"Jacobian features of a pre-trained network, K = {K}",
                             ranks.flatten(), pat.flatten(), cert.flatten(), lam_rel, "squared", "fig-ntk-real-rank")


def drift_claims(slopes: torch.Tensor) -> list[Claim]:
    """Extension: the drift between true and linearized LoRA training falls like 1/α (per-draw slopes (S,))."""
    d = decide_between(slopes, *DRIFT_SLOPE_RANGE)
    return [check("ntk-linearization-drift", paper="jang2024lora", kind="extension",
                  statement="Under lazy scaling α, LoRA training of the true network follows the linearized model "
                            "the theory analyses, to O(1/α) (Chizat, Oyallon, Bach 2019; the paper assumes it).",
                  test=f"95 % interval of the mean per-draw log-log slope of the final relative drift against "
                       f"α inside ({DRIFT_SLOPE_RANGE[0]}, {DRIFT_SLOPE_RANGE[1]}) (Taylor: −1)",
                  measured=d.estimate, decision=d, figure="fig-ntk-drift")]
