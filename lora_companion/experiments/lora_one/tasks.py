"""LoRA-One teacher tasks (Assumptions 2.1–2.3), the methods trained on them, and the training harness.

Conventions are the paper's: W♮, Δ ∈ R^{d×k} (input × output), prediction (xᵀW)ᵀ, LoRA update A B with A d×r
(input side) and B r×k; G♮ = −∇_W L(W♮) (Eq. 5). Every tensor has a leading run dimension (seeds × sweep points).
A *method* is an init plus a map from its trainable tensors to the effective weight update, so that inits that
change the base weight (LoRA-GA, PiSSA) are measured by the update they really make: risk = ‖update − Δ‖_F.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from ... import inits
from ...optim import GD, PreconditionedAdam, PreconditionedGD, factory
from ...train import train


def _orthonormal(batch: int, n: int, p: int, gen: torch.Generator) -> torch.Tensor:
    return torch.linalg.qr(torch.randn(batch, n, p, generator=gen, dtype=torch.float64)).Q


def geometric_spectrum(r_star: int, kappa: float) -> torch.Tensor:
    """Singular values 1 = λ₁ ≥ … ≥ λ_{r*} = 1/κ, geometrically spaced (condition number κ)."""
    return torch.logspace(0, -math.log10(kappa), r_star, dtype=torch.float64)


# --- teacher tasks (Assumptions 2.1–2.3) -------------------------------------------------------------------------------

@dataclass
class Teacher:
    """Fine-tuning task of Section 2: labels y = (xᵀ(W♮ + Δ))ᵀ (linear) or σ(·) (ReLU), x ~ N(0, I_d).

    ``W0`` (b, d, k), ``delta`` (b, d, k) of rank r*, ``X`` (b, N, d). For the linear model the loss of an update M
    is ½ tr((M − Δ)ᵀ Σ̂ (M − Δ)) with Σ̂ = XᵀX/N (= Eq. 3, computed without the N×k residual).
    """

    kind: str
    W0: torch.Tensor
    delta: torch.Tensor
    X: torch.Tensor
    sigma: torch.Tensor = field(init=False)
    Y: torch.Tensor = field(init=False)

    def __post_init__(self):
        if self.kind not in ("linear", "relu"):
            raise ValueError(f"kind must be 'linear' or 'relu', got {self.kind!r}")
        N = self.X.shape[-2]
        self.sigma = self.X.mT @ self.X / N
        self.Y = torch.relu(self.X @ (self.W0 + self.delta)) if self.kind == "relu" else None

    @property
    def n_runs(self) -> int:
        return self.delta.shape[0]

    def loss(self, M: torch.Tensor) -> torch.Tensor:
        """Empirical risk (Eq. 3) of the fine-tuned weight W♮ + M, per run."""
        if self.kind == "linear":
            E = M - self.delta
            return 0.5 * (E * (self.sigma @ E)).sum((-2, -1))
        R = torch.relu(self.X @ (self.W0 + M)) - self.Y
        return 0.5 * R.square().sum((-2, -1)) / self.X.shape[-2]

    def neg_grad(self, rows: int | None = None) -> torch.Tensor:
        """G♮ = −∇_W L(W♮) (Eq. 5; for ReLU −J_{W♮}), from all samples or the first ``rows``."""
        X = self.X if rows is None else self.X[:, :rows]
        if self.kind == "linear":
            return X.mT @ (X @ self.delta) / X.shape[-2]
        Z = X @ self.W0
        R = torch.relu(X @ (self.W0 + self.delta)) - torch.relu(Z)
        return X.mT @ (R * (Z > 0)) / X.shape[-2]

    def risk(self, M: torch.Tensor) -> torch.Tensor:
        """Relative risk ‖M − Δ‖_F / ‖Δ‖_F (the generalization error of Section 2, normalized)."""
        return torch.linalg.matrix_norm(M - self.delta) / torch.linalg.matrix_norm(self.delta)

    def tile(self, n: int) -> "Teacher":
        """The same tasks repeated n times along the run dimension (sweep point outer, seed inner)."""
        rep = lambda t: t.repeat(n, *([1] * (t.dim() - 1)))  # noqa: E731
        return Teacher(self.kind, rep(self.W0), rep(self.delta), rep(self.X))


def make_teacher(kind: str, d: int, k: int, svals: torch.Tensor, N: int, n_seeds: int, gen: torch.Generator,
                 device="cpu") -> Teacher:
    """W♮ with N(0, 1) entries, Δ = U diag(svals) Vᵀ with random orthonormal U, V, N Gaussian inputs."""
    r_star = svals.shape[0]
    U, V = _orthonormal(n_seeds, d, r_star, gen), _orthonormal(n_seeds, k, r_star, gen)
    W0 = torch.randn(n_seeds, d, k, generator=gen, dtype=torch.float64)
    X = torch.randn(n_seeds, N, d, generator=gen, dtype=torch.float64)
    delta = (U * svals) @ V.mT
    return Teacher(kind, W0.to(device), delta.to(device), X.to(device))


# --- methods: init + effective update ------------------------------------------------------------------------------

@dataclass
class Method:
    """Trainable tensors and the effective weight update they make (in the paper's d×k layout)."""

    params: dict[str, torch.Tensor]
    update: Callable[[dict[str, torch.Tensor]], torch.Tensor]
    factored: bool = True  # (A, B) pair that preconditioning applies to


def make_method(name: str, task: Teacher, r: int, *, alpha: float = 1e-3, gamma: float = 1.0,
                gen: torch.Generator | None = None, grad_rows: int | None = None, s: float | None = None) -> Method:
    """Methods of Fig. 4 and Section 5. ``lora_one``: (Spectral-init) with γ (theory) or, when ``s`` is given,
    Algorithm 1 (S/σ₁, γ = 1/s); ``lora``: (LoRA-init) with α; ``lora_ga`` and ``pissa`` subtract their init from
    the base weight, so their update is AB − A₀B₀; ``lora_sb`` trains an r×r core between frozen U, V."""
    d, k, b = task.delta.shape[-2], task.delta.shape[-1], task.n_runs
    G = task.neg_grad(grad_rows)
    dev = task.delta.device
    ab = lambda p: p["A"] @ p["B"]  # noqa: E731
    if name == "lora_one":
        A, B = inits.spectral_init(G, r, gamma) if s is None else inits.lora_one_init(-G, r, s)
        return Method({"A": A, "B": B}, ab)
    if name == "lora":
        A, B = inits.vanilla_init(d, k, r, alpha, batch=(b,), generator=gen)
        return Method({"A": A.to(dev), "B": B.to(dev)}, ab)
    if name in ("lora_ga", "pissa"):
        A, B, _ = inits.lora_ga_init(G, task.W0, r) if name == "lora_ga" else inits.pissa_init(task.W0, r)
        A0B0 = A @ B
        return Method({"A": A, "B": B}, lambda p: p["A"] @ p["B"] - A0B0)
    if name == "lora_sb":
        U, R, Vh = inits.lora_sb_init(G, r)
        return Method({"R": R}, lambda p: U @ p["R"] @ Vh, factored=False)
    raise ValueError(f"unknown method {name!r}")


class Tracker:
    """Wraps a loss so that :func:`train` (which evaluates it once per step, steps 0…T) records metrics of the
    current parameters at steps 0, every, 2·every, …; ``history[name]`` is (n_records, n_runs)."""

    def __init__(self, loss_fn, metrics: dict[str, Callable], every: int = 1):
        self.loss_fn, self.metrics, self.every = loss_fn, metrics, every
        self.records = {n: [] for n in metrics}
        self.calls = 0

    def __call__(self, params):
        if self.calls % self.every == 0:
            with torch.no_grad():
                for n, f in self.metrics.items():
                    self.records[n].append(f({k: v.detach() for k, v in params.items()}))
        self.calls += 1
        return self.loss_fn(params)

    @property
    def history(self) -> dict[str, torch.Tensor]:
        return {n: torch.stack(v) for n, v in self.records.items()}


def run_method(task: Teacher, method: Method, optimizer: str, lr: float | torch.Tensor, steps: int,
               damping: float = 1e-3, extra: dict[str, Callable] | None = None,
               every: int = 1) -> dict[str, torch.Tensor]:
    """Train ``method`` on ``task`` with ``gd``, ``precgd`` (Eq. 9, damping λ), ``adam`` or ``precadam``;
    ``lr`` is a float or one step size per run. Returns the history (every ``every`` steps) of the relative
    risk and of the ``extra`` metrics; runs that diverge get risk = inf from their first non-finite step on."""
    if optimizer in ("precgd", "precadam") and not method.factored:
        optimizer = {"precgd": "gd", "precadam": "adam"}[optimizer]
    make = {"gd": factory(GD, lr), "precgd": factory(PreconditionedGD, lr, damping=damping),
            "adam": factory(PreconditionedAdam, lr, precondition=False),
            "precadam": factory(PreconditionedAdam, lr, damping=damping)}[optimizer]
    tracker = Tracker(lambda p: task.loss(method.update(p)),
                      {"risk": lambda p: task.risk(method.update(p)), **(extra or {})}, every)
    train(tracker, method.params, steps=steps, lr=1.0, optimizer=make)
    hist = tracker.history
    bad = ~torch.isfinite(hist["risk"])
    hist["risk"] = torch.where(bad.cummax(0).values, torch.inf, hist["risk"])
    return hist


def steps_to(curve: torch.Tensor, target: float) -> torch.Tensor:
    """First step at which each run's curve (n_steps, n_runs) is ≤ target; inf if never."""
    hit = curve <= target
    first = hit.float().argmax(0).double()
    return torch.where(hit.any(0), first, torch.inf)
