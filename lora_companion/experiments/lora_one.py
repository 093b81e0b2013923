"""LoRA-One (Zhang, Liu, Chen 2025): teacher tasks, alignment metrics, the experiments E1–E7, claims and plots.

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

from .. import inits
from ..claims import Claim, check
from ..stats import loglog_slope
from ..linalg import principal_angles, subspace_distance
from ..optim import GD, PreconditionedAdam, PreconditionedGD, factory
from ..train import train

# --- thresholds, fixed before any run ---------------------------------------------------------------------------------
#: Thm 3.1 is exact: the part of B_t's row space outside V_{r*}(G♮), relative to ‖B_t‖, is float64 round-off.
LEAK_TOL = 1e-10
#: Thm 3.2 / Fig. 2: the smallest init scale must bring A's top-r* subspace within this sin θ_max of U_{r*}(G♮).
ALIGN_SMALL_INIT_MAX = 0.3
#: "aligned" level used to time alignment in the d sweep (sin θ_max)
ALIGN_LEVEL = 0.5
#: Thm 3.3: accepted range of the log-log slope of the spectral-init error against N/d (theory: −½).
SLOPE_N_RANGE = (-0.6, -0.4)
#: Thm 3.3: error relative to λ_{r*}(Δ) grows about linearly in κ: accepted log-log slope range.
SLOPE_KAPPA_RANGE = (0.75, 1.25)
#: Lemma D.5 (ReLU): γ = 2 must at least halve the spectral-init error of γ = 1.
RELU_GAMMA_RATIO_MAX = 0.5
#: Appendix C.3: preconditioned GD is κ-free: steps(κ_max) / steps(κ=1) at most this; plain GD at least GD_KAPPA_MIN.
PRECOND_KAPPA_MAX, GD_KAPPA_MIN = 2.0, 3.0
#: Fig. 4: LoRA-One reaches relative risk ≤ SUCCESS_RISK within the step budget; LoRA-GA/LoRA-SB stay ≥ FAIL_RISK.
SUCCESS_RISK, FAIL_RISK = 1e-6, 1e-2
#: the spectral advantage over random init under the same optimizer: steps ratio at least this.
INIT_ADVANTAGE_MIN = 2.0
#: Thm 4.2: ‖A_tB_t − Δ‖_F / ‖A_0B_0 − Δ‖_F ≤ (1 − η/4)^t while the error is above this floor (float64 noise).
CONTRACTION_FLOOR = 1e-9
#: E7: the tuned one-step rank-r update must raise test accuracy on the new task by at least this (points).
ONE_STEP_GAIN_MIN = 20.0


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


# --- E1: alignment under vanilla LoRA (Thm 3.1, Thm 3.2, Fig. 2) ---------------------------------------------------

def singular_bases(G: torch.Tensor, r_star: int) -> tuple[torch.Tensor, torch.Tensor]:
    """U_{r*}(G) (…, d, r*) and V_{r*,⊥}(G) (…, k, k − r*) from the full SVD of G."""
    U, _, Vh = torch.linalg.svd(G, full_matrices=True)
    return U[..., :r_star], Vh[..., r_star:, :].mT


def alignment_angle(U_G: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """‖U_{r*,⊥}(G♮)ᵀ U_{r*}(A)‖_op = sin θ_max between U_{r*}(G♮) (given as the basis ``U_G``, d×r*) and the
    top-r* left singular subspace of A (Eq. 7)."""
    UA = torch.linalg.svd(A, full_matrices=False).U[..., :U_G.shape[-1]]
    return subspace_distance(U_G, UA)


def row_space_leak(V_perp: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """‖B V_{r*,⊥}(G♮)‖_op / ‖B‖_op: the part of B's row space outside the top-r* right singular space of G♮
    (Thm 3.1: exactly 0 under GD from B₀ = 0); 0 for B = 0."""
    num = torch.linalg.matrix_norm(B @ V_perp, ord=2)
    den = torch.linalg.matrix_norm(B, ord=2)
    return torch.where(den > 0, num / den.clamp(min=torch.finfo(B.dtype).tiny), torch.zeros_like(num))


@dataclass
class AlignmentResult:
    alpha2: list[float]
    angle: torch.Tensor   # (steps+1, n_alpha, n_seeds) sin θ_max(U_{r*}(G♮), U_{r*}(A_t))
    leak: torch.Tensor    # (steps+1, n_alpha, n_seeds) row_space_leak(G♮, B_t)
    risk: torch.Tensor    # (steps+1, n_alpha, n_seeds)
    every: int = 1        # records are at steps 0, every, 2·every, …

    @property
    def steps(self) -> torch.Tensor:
        return torch.arange(self.angle.shape[0]) * self.every


def alignment_experiment(task: Teacher, r: int, r_star: int, alpha2: list[float], lr: float, steps: int,
                         gen: torch.Generator, every: int = 5) -> AlignmentResult:
    """GD (Eq. 4) from (LoRA-init) at each α² (one batched run per α² × seed), tracking A's and B's alignment
    every ``every`` steps."""
    n_a, n_s = len(alpha2), task.n_runs
    big = task.tile(n_a)
    G = big.neg_grad()
    alphas = torch.tensor(alpha2, dtype=torch.float64).sqrt().repeat_interleave(n_s)
    A, B = inits.vanilla_init(*task.delta.shape[-2:], r, 1.0, batch=(n_a * n_s,), generator=gen)
    m = Method({"A": (A * alphas[:, None, None]).to(G.device), "B": B.to(G.device)}, lambda p: p["A"] @ p["B"])
    U_G, V_perp = singular_bases(G, r_star)
    hist = run_method(big, m, "gd", lr, steps, extra={
        "angle": lambda p: alignment_angle(U_G, p["A"]), "leak": lambda p: row_space_leak(V_perp, p["B"])}, every=every)
    shape = lambda t: t.reshape(t.shape[0], n_a, n_s).cpu()  # noqa: E731
    return AlignmentResult(alpha2, shape(hist["angle"]), shape(hist["leak"]), shape(hist["risk"]), every)


def alignment_claims(res: AlignmentResult, by_d: dict[int, AlignmentResult]) -> list[Claim]:
    leak = max(res.leak.max().item(), *(r.leak.max().item() for r in by_d.values()))
    best = res.angle.min(0).values.median(-1).values  # per α²: median over seeds of min_t angle
    order = sorted(range(len(res.alpha2)), key=lambda i: -res.alpha2[i])
    monotone = all(best[order[i + 1]] < best[order[i]] for i in range(len(order) - 1))
    smallest = best[order[-1]].item()
    ds = sorted(by_d)
    per_seed = [by_d[d].angle.min(0).values.flatten() for d in ds]
    d_best = [v.median().item() for v in per_seed]
    noise = max(v.std().item() / len(v) ** 0.5 if len(v) > 1 else 0.0 for v in per_seed)
    d_time = [steps_to(by_d[d].angle.median(-1).values, ALIGN_LEVEL)[0].item() * by_d[d].every for d in ds]
    gaps = [d_best[i + 1] - d_best[i] for i in range(len(ds) - 1)]
    later = all(d_time[i + 1] >= d_time[i] for i in range(len(ds) - 1))
    # a gap within the seed-to-seed standard error cannot decide the ordering: inconclusive
    d_ok = (all(gp > noise for gp in gaps) and later) if all(abs(gp) > noise for gp in gaps) else None
    return [
        check("loraone-b-row-space", paper="zhang2025loraone",
              statement="Thm 3.1: under GD from (LoRA-init), B_t's row space stays in the top-r* right singular "
                        "space of G♮ at every step.",
              test=f"max over steps, init scales, dimensions and seeds of ‖B_t V⊥‖/‖B_t‖ < {LEAK_TOL:g}",
              measured=leak, passed=leak < LEAK_TOL, figure="fig-loraone-alignment"),
        check("loraone-a-align-init-scale", paper="zhang2025loraone",
              statement="Thm 3.2 / Fig. 2: smaller init aligns A_t better with U_{r*}(G♮).",
              test=f"median min_t sin θ_max strictly decreases as α² decreases, and is < {ALIGN_SMALL_INIT_MAX} "
                   "at the smallest α²",
              measured=smallest, passed=monotone and smallest < ALIGN_SMALL_INIT_MAX, figure="fig-loraone-alignment"),
        check("loraone-a-align-dimension", paper="zhang2025loraone",
              statement="Thm 3.2 / Fig. 2: at a fixed init scale, larger d aligns later and worse (Eq. 6, the α bound).",
              test=f"over the d sweep, median min_t sin θ_max increases by more than its standard error over seeds "
                   f"(inconclusive if a gap is within it) and the first step with median sin θ_max ≤ {ALIGN_LEVEL} "
                   "does not decrease",
              measured=f"min angle {[round(v, 3) for v in d_best]}, steps {[int(t) for t in d_time]}", passed=d_ok, figure="fig-loraone-alignment-d"),
    ]


# --- E2: one step suffices (Thm 3.3, Lemma D.5) -------------------------------------------------------------------

def spectral_error(task: Teacher, r: int, gamma: float, ord="fro") -> torch.Tensor:
    """‖A₀B₀ − Δ‖ / ‖Δ‖ (same norm) for (Spectral-init) from the full-sample G♮: zero training steps."""
    A, B = inits.spectral_init(task.neg_grad(), r, gamma)
    return torch.linalg.matrix_norm(A @ B - task.delta, ord=ord) / torch.linalg.matrix_norm(task.delta, ord=ord)


@dataclass
class OneStepResult:
    ratios: list[float]          # N/d
    err_n: torch.Tensor          # (n_ratio, n_seeds) relative op error, linear, κ = 1
    kappas: list[float]
    err_kappa: torch.Tensor      # (n_kappa, n_seeds) op error / λ_{r*}(Δ), linear
    gammas: list[float]
    err_relu: torch.Tensor       # (n_gamma, n_seeds) relative Frobenius error, ReLU
    slope_n: float = 0.0
    slope_kappa: float = 0.0


def one_step_experiment(d: int, r_star: int, ratios: list[int], kappas: list[float], relu_d: int, relu_N: int,
                        kappa_ratio: int, n_seeds: int, gen: torch.Generator, device="cpu") -> OneStepResult:
    """Spectral-init error with zero training steps: vs N/d (κ = 1), vs κ (N = kappa_ratio·d), ReLU γ ∈ {1, 2}."""
    flat = geometric_spectrum(r_star, 1.0)
    err_n = torch.stack([spectral_error(make_teacher("linear", d, d, flat, q * d, n_seeds, gen, device), r_star, 1.0,
                                        ord=2) for q in ratios]).cpu()
    err_k = []
    for kappa in kappas:
        t = make_teacher("linear", d, d, geometric_spectrum(r_star, kappa), kappa_ratio * d, n_seeds, gen, device)
        err_k.append(spectral_error(t, r_star, 1.0, ord=2) * kappa)  # ‖Δ‖_op = 1, λ_{r*} = 1/κ
    relu = make_teacher("relu", relu_d, relu_d, flat, relu_N, n_seeds, gen, device)
    gammas = [1.0, 2.0]
    err_r = torch.stack([spectral_error(relu, r_star, g) for g in gammas]).cpu()
    err_k = torch.stack(err_k).cpu()
    return OneStepResult(ratios, err_n, kappas, err_k, gammas, err_r,
                         slope_n=loglog_slope(ratios, err_n.median(-1).values),
                         slope_kappa=loglog_slope(kappas, err_k.median(-1).values))


def one_step_claims(res: OneStepResult) -> list[Claim]:
    ratio = (res.err_relu[1].median() / res.err_relu[0].median()).item()
    return [
        check("loraone-one-step-rate", paper="zhang2025loraone",
              statement="Thm 3.3: the spectral init alone has ‖A₀B₀ − Δ‖_op ≤ ε‖Δ‖_op with ε ~ √(d/N).",
              test=f"log-log slope of the median error against N/d in [{SLOPE_N_RANGE[0]}, {SLOPE_N_RANGE[1]}]",
              measured=res.slope_n, passed=SLOPE_N_RANGE[0] <= res.slope_n <= SLOPE_N_RANGE[1],
              figure="fig-loraone-one-step"),
        check("loraone-one-step-kappa", paper="zhang2025loraone",
              statement="Thm 3.3: to stay below λ*_{r*}/2 the sample size must grow with κ (ε ≤ 1/(2κ)): the error "
                        "relative to λ*_{r*} grows with κ.",
              test=f"log-log slope of the median ‖A₀B₀ − Δ‖_op/λ*_{{r*}} against κ in "
                   f"[{SLOPE_KAPPA_RANGE[0]}, {SLOPE_KAPPA_RANGE[1]}]",
              measured=res.slope_kappa, passed=SLOPE_KAPPA_RANGE[0] <= res.slope_kappa <= SLOPE_KAPPA_RANGE[1],
              figure="fig-loraone-one-step"),
        check("loraone-relu-gamma", paper="zhang2025loraone",
              statement="Lemma D.5 / Thm 4.2: for the ReLU model E[G♮] ≈ Δ/2, so γ = 2 is the right spectral-init scale.",
              test=f"median relative error with γ = 2 ≤ {RELU_GAMMA_RATIO_MAX} × that with γ = 1",
              measured=ratio, passed=ratio <= RELU_GAMMA_RATIO_MAX, figure="fig-loraone-one-step"),
    ]


# --- E3 + E5: preconditioning and κ (App. C, Eq. 9, Thm 4.2) ----------------------------------------------------------

@dataclass
class KappaResult:
    kappas: list[float]
    lrs: dict[str, list[float]]              # step-size grid per optimizer
    steps: dict[str, torch.Tensor]           # (n_kappa,) steps to target at the best step size (median over seeds)
    best_lr: dict[str, list[float]]
    curves: dict[str, torch.Tensor]          # (n_kappa, steps+1) median relative risk at the best step size
    target: float


def kappa_experiment(kind: str, d: int, r_star: int, N: int, kappas: list[float], lrs: dict[str, list[float]],
                     steps: int, target: float, damping: float, n_seeds: int, gen: torch.Generator,
                     device="cpu") -> KappaResult:
    """Spectral init (γ = 1 linear, 2 ReLU; r = r*) then each optimizer of ``lrs`` (gd / precgd) at every step
    size of its grid, batched over step sizes × seeds; report steps to relative risk ≤ target at the best one."""
    gamma = 2.0 if kind == "relu" else 1.0
    out_steps = {o: [] for o in lrs}
    best = {o: [] for o in lrs}
    curves = {o: [] for o in lrs}
    for kappa in kappas:
        task = make_teacher(kind, d, d, geometric_spectrum(r_star, kappa), N, n_seeds, gen, device)
        for opt, grid in lrs.items():
            big = task.tile(len(grid))
            lr = torch.tensor(grid, dtype=torch.float64, device=device).repeat_interleave(n_seeds)
            risk = run_method(big, make_method("lora_one", big, r_star, gamma=gamma), opt, lr, steps,
                              damping=damping)["risk"].cpu()
            risk = risk.reshape(-1, len(grid), n_seeds)
            hit = steps_to(risk.reshape(risk.shape[0], -1), target).reshape(len(grid), n_seeds).median(-1).values
            final = risk[-1].median(-1).values
            i = int(hit.argmin()) if torch.isfinite(hit).any() else int(final.nan_to_num(torch.inf).argmin())
            out_steps[opt].append(hit[i].item())
            best[opt].append(grid[i])
            curves[opt].append(risk[:, i].median(-1).values)
    return KappaResult(kappas, lrs, {o: torch.tensor(v) for o, v in out_steps.items()}, best,
                       {o: torch.stack(v) for o, v in curves.items()}, target)


def kappa_claims(res: KappaResult) -> list[Claim]:
    p, g = res.steps["precgd"], res.steps["gd"]
    p_ratio, g_ratio = (p[-1] / p[0]).item(), (g[-1] / g[0]).item()
    return [check("loraone-precond-kappa-free", paper="zhang2025loraone",
                  statement="App. C.2–C.3: from the spectral init GD's linear rate degrades with κ; the preconditioned "
                            "GD of Eq. 9 has a κ-free rate.",
                  test=f"steps to relative risk {res.target:g} at tuned step sizes, κ = {res.kappas[-1]:g} vs κ = "
                       f"{res.kappas[0]:g}: ratio ≤ {PRECOND_KAPPA_MAX} for preconditioned GD and ≥ {GD_KAPPA_MIN} for GD",
                  measured=f"precond ×{p_ratio:.2f}, GD ×{g_ratio:.2f}",
                  passed=(p_ratio <= PRECOND_KAPPA_MAX and g_ratio >= GD_KAPPA_MIN) if math.isfinite(p_ratio) else False,
                  figure="fig-loraone-kappa")]


@dataclass
class ContractionResult:
    kappas: list[float]
    eta: float
    precgd: torch.Tensor      # (n_kappa, steps+1, n_seeds) relative Frobenius risk, spectral γ=2 + preconditioned GD
    gd: torch.Tensor          # same with plain GD at the best step size of its grid
    random_gd: torch.Tensor   # (LoRA-init) + GD at the same step size
    gd_lr: list[float]


def relu_contraction(d: int, r_star: int, N: int, kappas: list[float], eta: float, gd_lrs: list[float], steps: int,
                     alpha: float, n_seeds: int, gen: torch.Generator, device="cpu") -> ContractionResult:
    """Thm 4.2 setting: ReLU teacher, r = r*, (Spectral-init) with γ = 2, Eq. 9 with exact inverses (λ = 0) and
    step size η; against plain GD (best of ``gd_lrs`` by final risk) and random init + GD."""
    pre, gd, rnd, lrs = [], [], [], []
    for kappa in kappas:
        task = make_teacher("relu", d, d, geometric_spectrum(r_star, kappa), N, n_seeds, gen, device)
        pre.append(run_method(task, make_method("lora_one", task, r_star, gamma=2.0), "precgd", eta, steps,
                              damping=0.0)["risk"].cpu())
        big = task.tile(len(gd_lrs))
        lr = torch.tensor(gd_lrs, dtype=torch.float64, device=device).repeat_interleave(n_seeds)
        risk = run_method(big, make_method("lora_one", big, r_star, gamma=2.0), "gd", lr, steps)["risk"].cpu()
        risk = risk.reshape(-1, len(gd_lrs), n_seeds)
        i = int(risk[-1].median(-1).values.nan_to_num(torch.inf).argmin())
        gd.append(risk[:, i])
        lrs.append(gd_lrs[i])
        rnd.append(run_method(task, make_method("lora", task, r_star, alpha=alpha, gen=gen), "gd", gd_lrs[i],
                              steps)["risk"].cpu())
    return ContractionResult(kappas, eta, torch.stack(pre), torch.stack(gd), torch.stack(rnd), lrs)


def contraction_claims(res: ContractionResult) -> list[Claim]:
    t = torch.arange(res.precgd.shape[1], dtype=torch.float64)[None, :, None]
    bound = res.precgd[:, :1] * (1 - res.eta / 4) ** t
    live = (res.precgd > CONTRACTION_FLOOR) & (t > 0)
    worst = (res.precgd / bound)[live].max().item()
    final = res.precgd[:, -1].max().item()
    return [check("loraone-relu-contraction", paper="zhang2025loraone",
                  statement="Thm 4.2: ReLU model, spectral init with γ = 2 and preconditioned GD: ‖A_tB_t − Δ‖_F "
                            "contracts at least like (1 − η/4)^t, independently of κ.",
                  test=f"for every κ and seed, ‖A_tB_t − Δ‖_F ≤ (1 − η/4)^t ‖A₀B₀ − Δ‖_F at every step while above "
                       f"{CONTRACTION_FLOOR:g}, and the final relative risk < {CONTRACTION_FLOOR:g}",
                  measured=f"max ratio to bound {worst:.3g}, final risk {final:.1e}",
                  passed=worst <= 1.0 and final < CONTRACTION_FLOOR, figure="fig-loraone-relu")]


# --- E4 + E6: which subspace to start in (Fig. 4, Section 5) and the practical recipe --------------------------------

METHODS = ("lora_one", "lora_ga", "lora_sb", "pissa", "lora")


@dataclass
class InitResult:
    curves: dict[str, torch.Tensor]   # (steps+1, n_seeds) relative risk per "method/optimizer"
    lrs: dict[str, float]             # the step size used (tuned for GD)


def init_experiment(task: Teacher, r: int, steps: int, eta: float, damping: float, gd_lrs: list[float],
                    alpha: float, gen: torch.Generator) -> InitResult:
    """Fig. 4: every init of :data:`METHODS` with preconditioned GD (η, λ as the paper), and LoRA-One and random
    init with plain GD at the best step size of ``gd_lrs`` (by final median risk)."""
    curves, lrs = {}, {}
    for name in METHODS:
        m = make_method(name, task, r, alpha=alpha, gen=gen)
        curves[f"{name}/precgd"] = run_method(task, m, "precgd", eta, steps, damping=damping)["risk"].cpu()
        lrs[f"{name}/precgd"] = eta
    for name in ("lora_one", "lora"):
        big = task.tile(len(gd_lrs))
        lr = torch.tensor(gd_lrs, dtype=torch.float64, device=task.delta.device).repeat_interleave(task.n_runs)
        risk = run_method(big, make_method(name, big, r, alpha=alpha, gen=gen), "gd", lr, steps)["risk"].cpu()
        risk = risk.reshape(-1, len(gd_lrs), task.n_runs)
        i = int(risk[-1].median(-1).values.nan_to_num(torch.inf).argmin())
        curves[f"{name}/gd"], lrs[f"{name}/gd"] = risk[:, i], gd_lrs[i]
    return InitResult(curves, lrs)


def init_claims(res: InitResult) -> list[Claim]:
    med = {k: v.median(-1).values for k, v in res.curves.items()}
    one = med["lora_one/precgd"][-1].item()
    fails = min(med["lora_ga/precgd"][-1].item(), med["lora_sb/precgd"][-1].item())
    s_p = steps_to(med["lora_one/precgd"][:, None], SUCCESS_RISK).item()
    r_p = steps_to(med["lora/precgd"][:, None], SUCCESS_RISK).item()
    ratio = r_p / s_p if math.isfinite(s_p) else float("nan")
    return [
        check("loraone-init-comparison", paper="zhang2025loraone",
              statement="Fig. 4 / Section 5: with preconditioned GD, LoRA-One recovers Δ while LoRA-GA (wrong "
                        "subspace, biased by its subtraction) and LoRA-SB (frozen subspace) do not.",
              test=f"final median relative risk: LoRA-One ≤ {SUCCESS_RISK:g}, LoRA-GA and LoRA-SB ≥ {FAIL_RISK:g}",
              measured=f"LoRA-One {one:.1e}, min(LoRA-GA, LoRA-SB) {fails:.2g}",
              passed=one <= SUCCESS_RISK and fails >= FAIL_RISK, figure="fig-loraone-inits"),
        check("loraone-init-vs-random", paper="zhang2025loraone",
              statement="Section 3.2: starting from the spectral init needs significantly fewer steps than (LoRA-init).",
              test=f"with preconditioned GD (same η, λ), steps to median relative risk {SUCCESS_RISK:g}: random / "
                   f"spectral ≥ {INIT_ADVANTAGE_MIN}",
              measured=ratio, passed=ratio >= INIT_ADVANTAGE_MIN if math.isfinite(ratio) else None,
              figure="fig-loraone-inits"),
    ]


@dataclass
class RecipeResult:
    configs: list[str]
    final: torch.Tensor     # (n_config,) median final relative risk at the best Adam step size
    final_seeds: torch.Tensor  # (n_config, n_seeds) the same per seed
    best_lr: list[float]
    curves: torch.Tensor    # (n_config, steps+1)


def recipe_experiment(task: Teacher, r: int, ss: list[float], rows: list[int], lrs: list[float], steps: int,
                      alpha: float, damping: float, gen: torch.Generator) -> RecipeResult:
    """Algorithm 1 as practised: gradient from the first ``rows`` samples, S/σ₁, γ = 1/s, then Adam; against
    (LoRA-init) + Adam and LoRA-One + preconditioned Adam (λ = ``damping``). Step sizes tuned on ``lrs``."""
    big = task.tile(len(lrs))
    lr = torch.tensor(lrs, dtype=torch.float64, device=task.delta.device).repeat_interleave(task.n_runs)
    configs = [("lora", None, None, "adam")] + [("lora_one", s, n, "adam") for n in rows for s in ss] + \
              [("lora_one", ss[-1], rows[-1], "precadam")]
    names, finals, best, curves, per_seed = [], [], [], [], []
    for name, s, n, opt in configs:
        m = make_method(name, big, r, alpha=alpha, gen=gen, s=s, grad_rows=n)
        risk = run_method(big, m, opt, lr, steps, damping=damping)["risk"].cpu().reshape(-1, len(lrs), task.n_runs)
        fin = risk[-1].median(-1).values.nan_to_num(torch.inf)
        i = int(fin.argmin())
        names.append("LoRA + Adam" if name == "lora" else
                     f"LoRA-One s={s:g}, {n} rows" + (" + precond. Adam" if opt == "precadam" else " + Adam"))
        finals.append(fin[i].item())
        best.append(lrs[i])
        curves.append(risk[:, i].median(-1).values)
        per_seed.append(risk[-1, i])
    return RecipeResult(names, torch.tensor(finals), torch.stack(per_seed), best, torch.stack(curves))


def recipe_claims(res: RecipeResult) -> list[Claim]:
    adam_one = res.final[1:-1]
    j = 1 + int(adam_one.argmax())
    worst = res.final[j].item()
    logs = res.final_seeds.log10()
    n = logs.shape[-1]
    noise = max(logs[0].std().item(), logs[j].std().item()) / n ** 0.5 if n > 1 else 0.0
    gap = math.log10(res.final[0].item()) - math.log10(worst)  # > 0: LoRA-One better
    return [check("loraone-recipe-adam", paper="zhang2025loraone",
                  statement="Algorithm 1 (S/σ₁, γ = 1/s, small gradient batch) followed by Adam trains better than "
                            "(LoRA-init) followed by Adam.",
                  test="after the same number of Adam steps at tuned step sizes, every LoRA-One configuration (s and "
                       "gradient rows swept) has lower median relative risk than vanilla LoRA, by more than the "
                       "standard error of log₁₀ risk over seeds (inconclusive if within it)",
                  measured=f"worst LoRA-One {worst:.2e} vs LoRA {res.final[0].item():.2e}",
                  passed=(gap > 0) if abs(gap) > noise else None, figure="fig-loraone-recipe")]


# --- plots -----------------------------------------------------------------------------------------------------

def plot_alignment(res: AlignmentResult):
    """Fig. 2 analogue: sin θ_max(U_{r*}(G♮), U_{r*}(A_t)) and the risk over GD steps, one line per α²."""
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    for i, a in enumerate(res.alpha2):
        ax1.plot(res.steps, res.angle[:, i].median(-1).values, label=f"α² = {a:g}")
        ax2.semilogy(res.steps, res.risk[:, i].median(-1).values)
    ax1.set(xlabel="GD step t", ylabel="‖U⊥(G♮)ᵀ U_{r*}(A_t)‖", title="Alignment of A_t (median over seeds)")
    ax2.set(xlabel="GD step t", ylabel="‖A_tB_t − Δ‖_F / ‖Δ‖_F", title="Risk")
    ax1.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_alignment_d(by_d: dict[int, AlignmentResult]):
    """Alignment angle over GD steps for several d at one init scale."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    for d, res in sorted(by_d.items()):
        ax.plot(res.steps, res.angle[:, 0].median(-1).values, label=f"d = k = {d}")
    ax.set(xlabel="GD step t", ylabel="‖U⊥(G♮)ᵀ U_{r*}(A_t)‖",
           title=f"Larger d aligns later and worse (α² = {next(iter(by_d.values())).alpha2[0]:g})")
    ax.legend()
    return fig


def plot_one_step(res: OneStepResult):
    """Spectral-init error vs N/d (with a −½ guide) and vs κ; ReLU γ = 1 vs 2 in the legend."""
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    q = torch.tensor(res.ratios, dtype=torch.float64)
    med = res.err_n.median(-1).values
    ax1.loglog(q, med, "o-", label=f"linear, fitted slope {res.slope_n:.2f}")
    ax1.loglog(q, med[0] * (q / q[0]) ** -0.5, "k--", lw=1, label="∝ (N/d)^(−1/2)")
    for g, e in zip(res.gammas, res.err_relu.median(-1).values):
        ax1.axhline(e.item(), ls=":", color="C3" if g == 2 else "C1", label=f"ReLU, γ = {g:g} (Frobenius)")
    ax1.set(xlabel="N / d", ylabel="‖A₀B₀ − Δ‖ / ‖Δ‖", title="Zero steps: spectral init error")
    ax1.legend(fontsize="small")
    ax2.loglog(res.kappas, res.err_kappa.median(-1).values, "s-", label=f"slope {res.slope_kappa:.2f}")
    ax2.axhline(0.5, color="grey", ls=":", label="λ*_{r*}/2 (Thm 3.3)")
    ax2.set(xlabel="condition number κ", ylabel="‖A₀B₀ − Δ‖_op / λ*_{r*}", title="…relative to the weakest direction")
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
    ax1.set(xlabel="κ", ylabel=f"steps to risk {res.target:g}", title="Tuned step sizes, median over seeds")
    ax1.legend()
    for j, (o, c) in enumerate(res.curves.items()):
        for i, k in enumerate(res.kappas):
            ax2.semilogy(c[i], color=f"C{j}", alpha=0.35 + 0.65 * i / max(1, len(res.kappas) - 1),
                         label=f"{names[o]}, κ={k:g}")
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
                    label=f"spectral + precond. GD, κ={k:g}")
        ax.semilogy(res.gd[i].median(-1).values, color="C1", alpha=0.4 + 0.6 * i / max(1, len(res.kappas) - 1),
                    label=f"spectral + GD, κ={k:g}")
    ax.semilogy(res.random_gd[-1].median(-1).values, color="C2", label=f"random init + GD, κ={res.kappas[-1]:g}")
    ax.semilogy(t, res.precgd[:, 0].median().item() * (1 - res.eta / 4) ** t.double(), "k--", lw=1,
                label="(1 − η/4)^t bound")
    ax.set(xlabel="step t", ylabel="‖A_tB_t − Δ‖_F / ‖Δ‖_F", ylim=(1e-14, 3), title="ReLU teacher (Thm 4.2)")
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
    ax.set(xlabel="step", ylabel="‖update − Δ‖_F / ‖Δ‖_F", ylim=(1e-13, 10), title="Which subspace to start in")
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


# --- E7: a small real model — digits (Fig. 1(b)/(c), Table 2 analogues) -------------------------------------------

DIGITS_METHODS = ("full", "lora", "lora_one", "lora_ga")
DIGITS_LABELS = {"full": "full fine-tuning", "lora": "LoRA", "lora_one": "LoRA-One", "lora_ga": "LoRA-GA"}


@dataclass
class Digits:
    """scikit-learn's bundled 8×8 digits (no download), standardized: odd digits to pre-train on, even digits
    split into a fine-tuning set and a test set (labels stay 0–9, so the task is new classes)."""

    X_odd: torch.Tensor
    y_odd: torch.Tensor
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_task(gen: torch.Generator, test_fraction: float = 0.4, device="cpu") -> Digits:
    from sklearn.datasets import load_digits
    data = load_digits()
    X = torch.tensor(data.data, dtype=torch.float64)
    X = (X - X.mean(0)) / (X.std(0) + 1.0)
    y = torch.tensor(data.target)
    odd, even = y % 2 == 1, y % 2 == 0
    Xe, ye = X[even], y[even]
    perm = torch.randperm(len(ye), generator=gen)
    n_test = int(test_fraction * len(ye))
    te, tr = perm[:n_test], perm[n_test:]
    to = lambda t: t.to(device)  # noqa: E731
    return Digits(to(X[odd]), to(y[odd]), to(Xe[tr]), to(ye[tr]), to(Xe[te]), to(ye[te]))


def make_mlp(hidden: int, gen: torch.Generator, device="cpu") -> torch.nn.Module:
    """Two-layer ReLU network 64 → hidden → 10 with U(±1/√fan_in) weights drawn from ``gen``."""
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)).double()
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[-1] if p.dim() == 2 else (64 if p.shape[0] == hidden else hidden)
            p.copy_((2 * torch.rand(p.shape, generator=gen, dtype=torch.float64) - 1) / fan_in ** 0.5)
    return model.to(device)


def _ce(model, X, y) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(model(X), y)


def accuracy(model, X, y) -> float:
    """Test accuracy in percent."""
    with torch.no_grad():
        return 100.0 * (model(X).argmax(-1) == y).double().mean().item()


def pretrain(model, X, y, steps: int, lr: float):
    """Full-batch Adam on the pre-training task (odd digits)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        _ce(model, X, y).backward()
        opt.step()
    return model


def one_step_update(pre: torch.nn.Module, data: Digits, r: int, lrs: list[float], grad_rows: int) -> list[float]:
    """Table 2 analogue: W ← W + η P_r(−∇W) for every linear layer, gradient from the first ``grad_rows``
    fine-tuning examples; test accuracy for each η (no training)."""
    import copy
    from ..peft import apply_lora, base_gradients
    probe = apply_lora(copy.deepcopy(pre), r, float(r))
    grads = base_gradients(probe, lambda m: _ce(m, data.X_train[:grad_rows], data.y_train[:grad_rows]))
    accs = []
    for lr in lrs:
        model = copy.deepcopy(pre)
        with torch.no_grad():
            for name, g in grads.items():
                w = model.get_submodule(name).weight
                L, R = inits.spectral_init(-g, r)
                w.add_(lr * L @ R)
        accs.append(accuracy(model, data.X_test, data.y_test))
    return accs


@dataclass
class DigitsResult:
    loss: dict[str, torch.Tensor]        # (steps+1, n_seeds) training loss at the tuned step size
    acc: dict[str, torch.Tensor]         # (len(acc_steps), n_seeds) test accuracy
    acc_steps: list[int]
    best_lr: dict[str, float]
    angles: dict[str, torch.Tensor]      # vanilla LoRA, layer 1: sin θ_max to the one-step gradient's subspaces
    angle_steps: list[int]
    pre_acc: float
    one_step_lrs: list[float]
    one_step_acc: list[float]


def finetune(pre: torch.nn.Module, method: str, data: Digits, r: int, lr: float, steps: int, grad_rows: int,
             s: float, acc_steps: list[int], angle_steps: list[int] | None = None):
    """Full-batch GD on the even digits from the pre-trained model: ``full`` (every weight) or a LoRA variant
    applied with :func:`lora_companion.peft.apply_lora` (α = r, so scaling 1). Returns (losses, accuracies,
    angles); angles (vanilla LoRA only) are sin θ_max of lora_A's row space / lora_B's column space in layer 1
    against the top-r right / left singular subspaces of the full-batch −∇W₁ at the pre-trained model."""
    import copy
    from ..peft import apply_lora, base_gradients
    model = copy.deepcopy(pre)
    loss_fn = lambda m: _ce(m, data.X_train, data.y_train)  # noqa: E731
    if method != "full":
        init = {"lora": "lora", "lora_one": "lora_one", "lora_ga": "lora_ga"}[method]
        model = apply_lora(model, r, float(r), init=init, s=s,
                           loss_fn=lambda m: _ce(m, data.X_train[:grad_rows], data.y_train[:grad_rows]))
    params = [p for p in model.parameters() if p.requires_grad]
    if method != "full":  # GD on the adapters only (biases frozen, as in LoRA)
        params = [p for n, p in model.named_parameters() if "lora_" in n]
    opt = torch.optim.SGD(params, lr=lr)
    bases = None
    if angle_steps is not None:
        G = -base_gradients(model, loss_fn)["0"]
        U, _, Vh = torch.linalg.svd(G, full_matrices=False)
        bases = (U[:, :r], Vh[:r].mT)
    losses, accs, angles = [], [], []
    for step in range(steps + 1):
        if step in acc_steps:
            accs.append(accuracy(model, data.X_test, data.y_test))
        layer = model.get_submodule("0")
        if bases is not None and step in angle_steps and not torch.isfinite(layer.delta()).all():
            angles.append([math.nan, math.nan])
        elif bases is not None and step in angle_steps:
            angles.append([subspace_distance(bases[1], layer.lora_A.detach().mT).item(),
                           subspace_distance(bases[0], layer.lora_B.detach()).item() if step else 1.0])
        opt.zero_grad()
        loss = loss_fn(model)
        losses.append(loss.item())
        if step < steps:
            loss.backward()
            opt.step()
    return torch.tensor(losses), torch.tensor(accs), torch.tensor(angles)


def digits_experiment(hidden: int, r: int, lrs: list[float], steps: int, grad_rows: int, s: float,
                      pretrain_steps: int, n_seeds: int, one_step_lrs: list[float], gen: torch.Generator,
                      device="cpu") -> DigitsResult:
    """Pre-train once per seed on odd digits, then fine-tune on even digits with every method of
    :data:`DIGITS_METHODS` at every step size of ``lrs`` (chosen per method by the median final training loss)."""
    acc_steps = sorted({0, min(10, steps), steps})
    angle_steps = sorted({0, 1, *range(0, steps + 1, max(1, steps // 20))})
    pres, datas = [], []
    for _ in range(n_seeds):
        data = load_digits_task(gen, device=device)
        pres.append(pretrain(make_mlp(hidden, gen, device), data.X_odd, data.y_odd, pretrain_steps, 1e-2))
        datas.append(data)
    loss, acc, best, angles = {}, {}, {}, {}
    for method in DIGITS_METHODS:
        runs = {}
        for lr in lrs:
            out = []
            for pre, data in zip(pres, datas):
                torch.manual_seed(int(torch.randint(2 ** 31, (1,), generator=gen)))  # PEFT's init draws
                out.append(finetune(pre, method, data, r, lr, steps, grad_rows, s, acc_steps,
                                    angle_steps if method == "lora" else None))
            runs[lr] = out
        final = {lr: torch.tensor([o[0][-1] for o in out]).nan_to_num(torch.inf).median().item()
                 for lr, out in runs.items()}
        lr = min(final, key=final.get)
        best[method] = lr
        loss[method] = torch.stack([o[0] for o in runs[lr]], -1)
        acc[method] = torch.stack([o[1] for o in runs[lr]], -1)
        if method == "lora":
            angles = {"lora_A": torch.stack([o[2][:, 0] for o in runs[lr]], -1),
                      "lora_B": torch.stack([o[2][:, 1] for o in runs[lr]], -1)}
    pre_acc = sum(accuracy(p, d.X_test, d.y_test) for p, d in zip(pres, datas)) / n_seeds
    one = torch.tensor([one_step_update(p, d, r, one_step_lrs, grad_rows) for p, d in zip(pres, datas)])
    return DigitsResult(loss, acc, acc_steps, best, angles, angle_steps, pre_acc, one_step_lrs,
                        one.mean(0).tolist())


def trajectory_distance(res: DigitsResult, method: str) -> float:
    """Mean over steps of |log L_method(t) − log L_full(t)| (median over seeds): distance to full FT's curve."""
    return (res.loss[method].log() - res.loss["full"].log()).abs().mean(0).median().item()


def digits_claims(res: DigitsResult) -> list[Claim]:
    gain = max(res.one_step_acc) - res.pre_acc
    d_one, d_lora = trajectory_distance(res, "lora_one"), trajectory_distance(res, "lora")
    return [
        check("loraone-digits-one-step", paper="zhang2025loraone",
              statement="Table 2 (top rows): one rank-r step along the small-batch full gradient, with a tuned step "
                        "size, already improves the pre-trained model on the new task.",
              test=f"best test accuracy over the step-size grid minus the pre-trained accuracy ≥ {ONE_STEP_GAIN_MIN} "
                   "points (mean over seeds)",
              measured=gain, passed=gain >= ONE_STEP_GAIN_MIN, figure="fig-loraone-digits"),
        check("loraone-digits-tracks-ft", paper="zhang2025loraone",
              statement="Fig. 1(c): under GD, LoRA-One's trajectory stays closer to full fine-tuning than LoRA's.",
              test="mean |log L(t) − log L_full(t)| over steps (tuned step sizes): LoRA-One < LoRA",
              measured=f"LoRA-One {d_one:.3f}, LoRA {d_lora:.3f}", passed=d_one < d_lora,
              figure="fig-loraone-digits"),
    ]


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
    ax2.set(xlabel="GD step", ylabel="sin θ_max to one-step gradient", ylim=(0, 1.05),
            title="LoRA's subspaces vs G♮'s (layer 1)")
    ax2.legend(fontsize="small")
    fig.tight_layout()
    return fig
