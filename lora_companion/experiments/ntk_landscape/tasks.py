"""Linearized fine-tuning problems (Jang, Lee, Ryu 2024, Sec. 2) and their convex solutions.

A :class:`LinearTask` holds D padded datasets with features G(x) = ∂f(W0; x)/∂W ∈ R^{K×m×n}, base outputs f0 and
targets; its risk is L̂(δ) = (1/N) Σ_i ℓ(f0(x_i) + ⟨G(x_i), δ⟩, y_i). Generators: random (whitened) features
(E1–E3) and a Gaussian-feature low-rank teacher (E5); solvers: the nuclear-norm optimum δ*_λ (FISTA with SVT) and
the minimum-Frobenius (ridge) interpolant.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from ...landscape import ConvexSolution, solve_nuclear


@dataclass
class LinearTask:
    """D linearized fine-tuning problems sharing the shapes (m, n, K), padded to N_max points.

    ``G`` (D, N_max, K, m, n) features, ``f0`` (D, N_max, K) base outputs, ``y`` (D, N_max, K) targets (squared loss)
    or (D, N_max) integer labels (``loss="ce"``), ``w`` (D, N_max) 1 on real points and 0 on padding,
    ``N`` (D,) number of real points, ``K`` the output dimension (count honestly: K logits for K classes).
    """

    G: torch.Tensor
    f0: torch.Tensor
    y: torch.Tensor
    w: torch.Tensor
    N: torch.Tensor
    loss: str = "squared"

    @property
    def shape(self) -> tuple[int, int, int, int]:
        D, _, K, m, n = self.G.shape
        return D, K, m, n

    def predict(self, delta: torch.Tensor) -> torch.Tensor:
        """f0 + ⟨G, δ⟩ for δ (D, P, m, n) → (D, P, N_max, K) — one batched matmul per dataset."""
        D, Nm, K, m, n = self.G.shape
        out = delta.reshape(D, -1, m * n) @ self.G.reshape(D, Nm * K, m * n).mT
        return self.f0[:, None] + out.reshape(D, -1, Nm, K)

    def risk(self, delta: torch.Tensor) -> torch.Tensor:
        """L̂(δ) for δ (D, P, m, n) → (D, P): (1/N) Σ_i w_i ℓ(f0_i + ⟨G_i, δ⟩, y_i)."""
        out = self.predict(delta)
        if self.loss == "squared":
            per = 0.5 * (out - self.y[:, None]).square().sum(-1)
        else:
            per = torch.logsumexp(out, -1) - out.gather(-1, self.y[:, None, :, None].expand(*out.shape[:3], 1))[..., 0]
        return (per * self.w[:, None]).sum(-1) / self.N[:, None]

    def risk_and_grad(self, delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(L̂(δ), ∇L̂(δ)) for δ (D, P, m, n), in closed form: ∇L̂ = (1/N) Σ_i w_i Σ_k ρ_ik G_ik with ρ = out − y
        (squared loss) or softmax(out) − onehot(y) (cross-entropy) — one product with the features each way."""
        D, Nm, K, m, n = self.G.shape
        out = self.predict(delta)
        if self.loss == "squared":
            res = out - self.y[:, None]
            per = 0.5 * res.square().sum(-1)
        else:
            lse = torch.logsumexp(out, -1, keepdim=True)
            picked = out.gather(-1, self.y[:, None, :, None].expand(*out.shape[:3], 1))
            per = (lse - picked)[..., 0]
            res = (out - lse).exp() - torch.nn.functional.one_hot(self.y, K).to(out.dtype)[:, None]
        res = res * (self.w / self.N[:, None])[:, None, :, None]
        grad = res.reshape(D, -1, Nm * K) @ self.G.reshape(D, Nm * K, m * n)
        return (per * self.w[:, None]).sum(-1) / self.N[:, None], grad.reshape(delta.shape)

    def lipschitz(self) -> torch.Tensor:
        """(D,) Lipschitz constant of ∇L̂: ‖G‖²_op/N, times ½ for cross-entropy (softmax Hessian ≼ ½I)."""
        D, Nm, K, m, n = self.G.shape
        op = torch.linalg.matrix_norm(self.G.reshape(D, Nm * K, m * n), ord=2) ** 2 / self.N
        return op * (0.5 if self.loss == "ce" else 1.0)

    def lam_max(self) -> torch.Tensor:
        """(D,) ‖∇L̂(0)‖_op: the smallest λ for which δ* = 0 (dual certificate at 0)."""
        D, _, K, m, n = self.G.shape
        X = torch.zeros(D, m, n, dtype=self.G.dtype, device=self.G.device, requires_grad=True)
        g, = torch.autograd.grad(self.risk(X[:, None]).sum(), X)
        return torch.linalg.matrix_norm(g, ord=2)

    def scaled(self, c: torch.Tensor) -> "LinearTask":
        """Squared loss only: the task with targets (and f0) multiplied by c (D,); then δ*(cλ) = c δ*(λ)."""
        if self.loss != "squared":
            raise ValueError("only a squared-loss task can be rescaled")
        return replace(self, y=self.y * c[:, None, None], f0=self.f0 * c[:, None, None])

    def subset(self, idx: torch.Tensor) -> "LinearTask":
        return replace(self, G=self.G[idx], f0=self.f0[idx], y=self.y[idx], w=self.w[idx], N=self.N[idx])

    def trimmed(self) -> "LinearTask":
        """The same datasets padded only to their own largest N (padding points carry weight 0, so the risk and
        its gradient are unchanged; the products with G shrink)."""
        n = int(self.w.sum(-1).max())
        return replace(self, G=self.G[:, :n], f0=self.f0[:, :n], y=self.y[:, :n], w=self.w[:, :n])


def random_task(Ns: list[int], K: int, m: int, n: int, n_seeds: int, gen: torch.Generator, *,
                whiten: bool = True, loss: str = "squared", device="cpu") -> LinearTask:
    """Random-feature tasks: for each N in ``Ns`` and each seed, N·K Gaussian feature matrices and random targets.

    ``loss="squared"``: N(0, 1) targets; ``loss="ce"``: uniform labels in {0, …, K−1} (K ≥ 2 logits) and softmax
    cross-entropy. ``whiten=True`` replaces the NK features by an orthonormal basis of their span scaled by √N (so
    ∇L̂ is 1-Lipschitz): the span is the same uniformly random subspace, only the metric inside it changes.
    ``whiten=False`` keeps the raw iid Gaussian features (an ill-conditioned, correlated design), rescaled per
    dataset by one scalar so that ∇L̂ is 1-Lipschitz (one learning rate suits every dataset).
    Datasets are ordered N-major: index = i_N·n_seeds + s.
    """
    if loss not in ("squared", "ce"):
        raise ValueError(f"loss must be 'squared' or 'ce', got {loss!r}")
    if loss == "ce" and K < 2:
        raise ValueError(f"K: cross-entropy needs K ≥ 2 logits, got {K}")
    Nm = max(Ns)
    if any(N * K > m * n for N in Ns) and whiten:
        raise ValueError(f"whitening needs N·K ≤ m·n = {m * n}")
    Gs, ys, ws, Nv = [], [], [], []
    for N in Ns:
        G = torch.randn(n_seeds, N * K, m * n, generator=gen, dtype=torch.float64)
        if whiten:
            G = math.sqrt(N) * torch.linalg.qr(G.mT).Q.mT
        else:
            curv = 0.5 if loss == "ce" else 1.0
            G = G / torch.sqrt(curv * torch.linalg.matrix_norm(G, ord=2) ** 2 / N)[:, None, None]
        G = torch.nn.functional.pad(G.reshape(n_seeds, N, K, m, n), (0, 0, 0, 0, 0, 0, 0, Nm - N))
        if loss == "squared":
            y = torch.randn(n_seeds, N, K, generator=gen, dtype=torch.float64)
            y = torch.nn.functional.pad(y, (0, 0, 0, Nm - N))
        else:
            y = torch.nn.functional.pad(torch.randint(K, (n_seeds, N), generator=gen), (0, Nm - N))
        Gs.append(G)
        ys.append(y)
        ws.append((torch.arange(Nm) < N).double().expand(n_seeds, Nm))
        Nv += [N] * n_seeds
    G, y = torch.cat(Gs), torch.cat(ys)
    f0 = torch.zeros(G.shape[0], Nm, K, dtype=torch.float64)
    return LinearTask(G=G.to(device), f0=f0.to(device), y=y.to(device), w=torch.cat(ws).to(device),
                      N=torch.tensor(Nv, dtype=torch.float64, device=device), loss=loss)


def solve_convex(task: LinearTask, lam: torch.Tensor, *, tol: float = 1e-10, max_iter: int = 20000,
                 record_every: int = 0, accelerated: bool = True) -> ConvexSolution:
    """δ*_λ = argmin L̂(δ) + λ‖δ‖_* for every dataset (FISTA with SVT, :func:`landscape.solve_nuclear`).

    Without recording, datasets are solved in groups of equal size N, each :meth:`LinearTask.trimmed`: a group
    neither carries the padding of larger datasets nor iterates on once it has converged (every dataset is its
    own problem; only the batch's stopping iteration depends on the grouping)."""
    D, K, m, n = task.shape
    lam = torch.as_tensor(lam, dtype=task.G.dtype, device=task.G.device).expand(D)
    sizes = task.w.sum(-1)
    groups = [(sizes == v).nonzero()[:, 0] for v in sizes.unique()]
    if record_every or len(groups) == 1:
        return _solve(task, lam, tol, max_iter, record_every, accelerated)
    parts = [(idx, _solve(task.subset(idx).trimmed(), lam[idx], tol, max_iter, 0, accelerated)) for idx in groups]
    X = torch.empty(D, m, n, dtype=task.G.dtype, device=task.G.device)
    objective, residual = (torch.empty(D, dtype=task.G.dtype, device=task.G.device) for _ in range(2))
    converged = torch.empty(D, dtype=torch.bool, device=task.G.device)
    for idx, sol in parts:
        X[idx], objective[idx], residual[idx], converged[idx] = sol.X, sol.objective, sol.residual, sol.converged
    return ConvexSolution(X=X, objective=objective, residual=residual,
                          iterations=max(sol.iterations for _, sol in parts), converged=converged)


def _solve(task: LinearTask, lam: torch.Tensor, tol: float, max_iter: int, record_every: int,
           accelerated: bool) -> ConvexSolution:
    D, K, m, n = task.shape
    return solve_nuclear(lambda X: task.risk(X[:, None])[:, 0], (D, m, n), lam, lipschitz=task.lipschitz(),
                         max_iter=max_iter, tol=tol, record_every=record_every, accelerated=accelerated,
                         loss_grad=lambda X: task.risk_and_grad(X[:, None])[1][:, 0])


def normalized(task: LinearTask, lam: torch.Tensor, sol: ConvexSolution):
    """Rescale a squared-loss task so that σ₁(δ*) = 1 in every dataset (exact: δ*(cy, cλ) = cδ*(y, λ), f* → c²f*),
    so one learning rate suits every run. Returns (task, lam, δ*, f*)."""
    c = 1.0 / torch.linalg.matrix_norm(sol.X, ord=2)
    return task.scaled(c), lam * c, sol.X * c[:, None, None], sol.objective * c * c


def ridge_interpolant(task: LinearTask) -> torch.Tensor:
    """Minimum-Frobenius-norm δ with ⟨G_i, δ⟩ = y_i − f0_i (full fine-tuning without a nuclear-norm bias, the
    λ → 0 limit of ridge regression): δ = Gᵀ(GGᵀ)⁺(y − f0), by ``torch.linalg.lstsq``'s minimum-norm solution."""
    D, Nm, K, m, n = task.G.shape
    A = (task.G * task.w[..., None, None, None]).reshape(D, Nm * K, m * n)
    b = ((task.y - task.f0) * task.w[..., None]).reshape(D, Nm * K, 1)
    return (torch.linalg.pinv(A) @ b).reshape(D, m, n)


def teacher_task(Ns, m, n, rank, noise, n_seeds, gen, device="cpu") -> tuple[LinearTask, torch.Tensor]:
    """Gaussian features (iid N(0, 1) entries, K = 1), a rank-``rank`` teacher δ_true with ‖δ_true‖_F = 1 and
    y = ⟨G, δ_true⟩ + noise·ε. For such features the population loss of δ is exactly ½(‖δ − δ_true‖_F² + noise²)."""
    Nm, D = max(Ns), len(Ns) * n_seeds
    T = torch.randn(D, m, rank, generator=gen, dtype=torch.float64) @ torch.randn(D, rank, n, generator=gen, dtype=torch.float64)
    T = T / torch.linalg.matrix_norm(T)[:, None, None]
    G = torch.randn(D, Nm, 1, m, n, generator=gen, dtype=torch.float64)
    w = (torch.arange(Nm)[None, :] < torch.tensor(Ns).repeat_interleave(n_seeds)[:, None]).double()
    y = (torch.einsum("dikmn,dmn->dik", G, T) + noise * torch.randn(D, Nm, 1, generator=gen, dtype=torch.float64)) * w[..., None]
    task = LinearTask(G=G * w[..., None, None, None], f0=torch.zeros_like(y), y=y, w=w,
                      N=torch.tensor(Ns, dtype=torch.float64).repeat_interleave(n_seeds))
    return replace(task, G=task.G.to(device), f0=task.f0.to(device), y=task.y.to(device), w=task.w.to(device),
                   N=task.N.to(device)), T.to(device)


def unit_lipschitz(task: LinearTask) -> LinearTask:
    """The task with each dataset's features divided by √L (L = :meth:`LinearTask.lipschitz`), so ∇L̂ is
    1-Lipschitz and one learning rate suits every dataset; a rescaling of δ that leaves the geometry unchanged."""
    return replace(task, G=task.G / task.lipschitz().sqrt()[:, None, None, None, None])
