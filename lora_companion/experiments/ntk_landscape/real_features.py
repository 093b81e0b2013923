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
from ...stats import loglog_slope
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
        loss = torch.nn.functional.cross_entropy(mlp_batched(W, a, X), labels)
        loss.backward()
        opt.step()
    return Pretrained(W0=W.detach(), a=a.detach(), teacher_loss=loss.item())


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
    drift: torch.Tensor      # (n_alpha,) ‖h_α(δ_true) − f_lin(δ_lin)‖ / ‖f_lin(δ_lin) − f0‖ at the end
    loss_true: torch.Tensor  # (n_records, n_alpha) training objective of the true network
    loss_lin: torch.Tensor   # (n_records,) training objective of the linearized network
    steps: torch.Tensor
    slope: float


def drift_experiment(net: Pretrained, task: LinearTask, X: torch.Tensor, r: int, lam_rel: float,
                     alphas: list[float], *, steps: int, lr: float, gen) -> DriftResult:
    """Train LoRA (same init, same GD, weight decay λ) on the linearized model and on the lazily scaled true network
    h_α(δ) = f(W0) + α[f(W0 + δ/α) − f(W0)] (Chizat, Oyallon, Bach 2019) for the first dataset of ``task``.
    h_α → f_lin as α → ∞, so the final predictions should differ by O(1/α) (log-log slope −1). Uses the last
    dataset (largest N); ``lr`` is in units of 1/L, L the Lipschitz constant of ∇L̂ on that dataset."""
    last = task.G.shape[0] - 1
    one = task.subset(torch.tensor([last]))
    N, Xo = int(one.N[0]), X[last, : int(one.N[0])]
    m, n = net.W0.shape
    lam = (lam_rel * one.lam_max()).item()
    A = len(alphas)
    al = torch.tensor(alphas, dtype=torch.float64, device=X.device)
    f0 = one.f0[0, :N]
    y = one.y[0, :N]
    G = one.G[0, :N]

    def sq(out):  # (B, N, K) -> (B,)
        return 0.5 * (out - y).square().sum(-1).mean(-1)

    def true_loss(p):  # runs 0..A-1: true network at scale α_a; run A: linearized model
        d = p["U"] @ p["V"].mT
        h = f0 + al[:, None, None] * (mlp_batched(net.W0 + d[:A] / al[:, None, None], net.a, Xo) - f0)
        lin = f0 + torch.einsum("ikmn,bmn->bik", G, d[A:])
        return sq(torch.cat([h, lin]))

    U0 = torch.zeros(A + 1, m, r, dtype=torch.float64, device=X.device)
    V0 = (torch.randn(n, r, generator=gen, dtype=torch.float64) / math.sqrt(n)).to(X.device).expand(A + 1, n, r)
    res = train(true_loss, {"U": U0, "V": V0}, steps=steps, lr=lr / one.lipschitz().item(), l2=lam, record_every=max(1, steps // 50))
    d = res.params["U"] @ res.params["V"].mT
    h = f0 + al[:, None, None] * (mlp_batched(net.W0 + d[:A] / al[:, None, None], net.a, Xo) - f0)
    lin = f0 + torch.einsum("ikmn,mn->ik", G, d[A])
    drift = torch.linalg.vector_norm(h - lin, dim=(-2, -1)) / torch.linalg.vector_norm(lin - f0)
    return DriftResult(alphas=list(alphas), drift=drift.cpu(), loss_true=res.history["objective"][:, :A].cpu(),
                       loss_lin=res.history["objective"][:, A].cpu(), steps=res.steps,
                       slope=loglog_slope(alphas, drift.cpu()))


def real_claims(ranks: torch.Tensor, cert: torch.Tensor, Ns, K: int, drift: DriftResult) -> list[Claim]:
    worst = (ranks - torch.tensor([pataki_rank_bound(K * N) for N in Ns])[:, None]).max().item()
    return [
        check("ntk-real-rank-below-pataki", paper="jang2024lora",
              statement="Claim (i) on real NTK features: the nuclear-norm solution on the Jacobian features of a "
                        "pre-trained network has rank r with r(r+1)/2 ≤ KN (K = number of logits).",
              test="max over N and data draws of rank(δ*) − r_P(KN) ≤ 0, every solve certified optimal",
              measured=int(worst), passed=worst <= 0 and bool(cert.all()), figure="fig-ntk-real-rank"),
        check("ntk-linearization-drift", paper="jang2024lora",
              statement="In the NTK (lazy) regime, LoRA training of the true network follows the linearized "
                        "model the theory analyses.",
              test=f"log-log slope of the final relative drift between true (scale α) and linearized LoRA "
                   f"training against α in [{DRIFT_SLOPE_RANGE[0]}, {DRIFT_SLOPE_RANGE[1]}] (Taylor: −1)",
              measured=drift.slope, passed=DRIFT_SLOPE_RANGE[0] <= drift.slope <= DRIFT_SLOPE_RANGE[1],
              figure="fig-ntk-drift"),
    ]
