"""Two-layer student–teacher models with Gaussian inputs, trained by online SGD (rank-1 fine-tuning chapter).

Model (our reading of Dayi & Chen 2025, see ``book/rank_one/index.md``): f_W(x) = Σ_i a_i σ(⟨w_i, x⟩), W ∈ R^{k×d}
with rows w_i, fixed outer weights a, x ~ N(0, I_d). Base model W0; teacher W* = W0 + ξ u* v*ᵀ (rank-1 perturbation,
‖v*‖ = 1). Loss per sample ½(f_W(x) − f*(x))².

Every tensor carries a leading *run* dimension R: seeds, activations, dimensions and sweep points are all runs and
are trained in one batched loop. Different input dimensions share one tensor through a per-run mask: run r lives
in the first d_r coordinates of R^{d_max} (its x, W0 rows, v*, v are zero elsewhere, and every update is a multiple
of x, so they stay there). Different activations share one tensor through a one-hot mixing matrix.

Gradients are written out (∂L/∂W = mean_b e_b (a ⊙ σ'(W x_b)) x_bᵀ with e = f − y) and tested against autograd.
Online SGD draws fresh samples every step; results count *samples* (steps × batch), not steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import hermite

MODES = ("sphere", "lora", "full")


class Activations:
    """σ per run: σ_r(z) = Σ_j onehot[r, j] σ_j(z) over the distinct activations ``names``; evaluated group by
    group (each σ_j only on its own runs' rows)."""

    def __init__(self, per_run: list[str], dtype=torch.float64, device="cpu"):
        self.names = sorted(set(per_run), key=list(hermite.FUNCTIONS).index)
        for n in self.names:
            hermite.activation(n)
        self._set(torch.tensor([[float(p == n) for n in self.names] for p in per_run], dtype=dtype, device=device))

    def _set(self, onehot: torch.Tensor) -> None:
        self.onehot = onehot
        self.rows = [onehot[:, j].nonzero()[:, 0] for j in range(len(self.names))]   # the runs of each σ_j

    def take(self, idx) -> "Activations":
        """The activations of the runs ``idx`` (an index tensor or a slice)."""
        out = Activations.__new__(Activations)
        out.names = self.names
        out._set(self.onehot[idx])
        return out

    def _mix(self, z: torch.Tensor, which: int) -> torch.Tensor:
        if len(self.names) == 1:
            return hermite.FUNCTIONS[self.names[0]][which](z)
        out = torch.empty_like(z)
        for n, rows in zip(self.names, self.rows):
            out[rows] = hermite.FUNCTIONS[n][which](z[rows])
        return out

    def value(self, z: torch.Tensor) -> torch.Tensor:
        """σ_r(z[r, ...]) for z of shape (R, ...)."""
        return self._mix(z, 0)

    def deriv(self, z: torch.Tensor) -> torch.Tensor:
        """σ_r'(z[r, ...])."""
        return self._mix(z, 1)


@dataclass
class Problem:
    """A batch of R student–teacher problems.

    ``W0`` (R, k, d): base weights (zero for the GLM baseline); ``a`` (R, k): outer weights; ``u_star`` (R, k),
    ``v_star`` (R, d), ``xi`` (R,): the teacher's perturbation ξ u* v*ᵀ; ``mask`` (R, d): 1 on the first d_r
    coordinates; ``act``: the activation of each run.
    """

    W0: torch.Tensor
    a: torch.Tensor
    u_star: torch.Tensor
    v_star: torch.Tensor
    xi: torch.Tensor
    mask: torch.Tensor
    act: Activations

    @property
    def dims(self) -> torch.Tensor:
        """Input dimension d_r of each run."""
        return self.mask.sum(-1)

    @property
    def W_star(self) -> torch.Tensor:
        return self.W0 + self.xi[:, None, None] * self.u_star[:, :, None] * self.v_star[:, None, :]

    def sample(self, batch: int, gen: torch.Generator, masked: bool = True) -> torch.Tensor:
        """Fresh inputs x ~ N(0, I_{d_r}) for every run: (R, batch, d), drawn on the CPU by ``gen`` (in float32,
        5× faster than float64 draws, then cast to the problem's dtype). ``masked=False`` leaves the coordinates
        beyond d_r unzeroed (for :func:`factored_grads`, which never lets them act)."""
        R, d = self.mask.shape
        x = torch.randn(R, batch, d, generator=gen, dtype=torch.float32).to(self.mask.device, self.mask.dtype)
        return x * self.mask[:, None, :] if masked else x

    def teacher(self, x: torch.Tensor) -> torch.Tensor:
        return forward(self.W_star, self.a, x, self.act)

    def take(self, idx) -> "Problem":
        """The runs ``idx`` (an index tensor or a slice) as a Problem of their own."""
        return Problem(W0=self.W0[idx], a=self.a[idx], u_star=self.u_star[idx], v_star=self.v_star[idx],
                       xi=self.xi[idx], mask=self.mask[idx], act=self.act.take(idx))


def unit_vectors(R: int, mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Uniform random unit vectors on the sphere of R^{d_r} (zero outside the mask): (R, d)."""
    v = torch.randn(R, mask.shape[-1], generator=gen, dtype=mask.dtype).to(mask.device) * mask
    return v / v.norm(dim=-1, keepdim=True)


def orthonormal_rows(R: int, k: int, mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """k orthonormal rows in R^{d_r} for each run (QR of a Gaussian d×k matrix, restricted by the mask)."""
    G = torch.randn(R, mask.shape[-1], k, generator=gen, dtype=mask.dtype).to(mask.device) * mask[:, :, None]
    Q = torch.linalg.qr(G).Q * mask[:, :, None]
    return Q.mT


def dim_mask(dims: list[int] | torch.Tensor, dtype=torch.float64, device="cpu") -> torch.Tensor:
    """(R, d_max) mask with ones on the first d_r coordinates of run r."""
    dims = torch.as_tensor(dims)
    return (torch.arange(int(dims.max()))[None, :] < dims[:, None]).to(dtype=dtype, device=device)


def forward(W: torch.Tensor, a: torch.Tensor, x: torch.Tensor, act: Activations) -> torch.Tensor:
    """f_W(x) = Σ_i a_i σ(⟨w_i, x⟩) for W (R, k, d), a (R, k), x (R, B, d) → (R, B)."""
    return (act.value(torch.einsum("rkd,rbd->rbk", W, x)) * a[:, None, :]).sum(-1)


def loss_and_grad(W: torch.Tensor, a: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                  act: Activations) -> tuple[torch.Tensor, torch.Tensor]:
    """Mini-batch loss L = mean_b ½(f_W(x_b) − y_b)² per run (R,) and ∂L/∂W (R, k, d)."""
    pre = torch.einsum("rkd,rbd->rbk", W, x)
    e = (act.value(pre) * a[:, None, :]).sum(-1) - y
    g = torch.einsum("rb,rbk,rbd->rkd", e, act.deriv(pre) * a[:, None, :], x) / x.shape[1]
    return 0.5 * e.square().mean(-1), g


def gradient_scale(problem: Problem, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """κ_r = mean_b (Σ_i a_i ξ σ'(⟨w0_i + ξ v₀, x_b⟩))² for a random unit v₀: the mean-square derivative of f along
    a random rank-1 direction ξ·1v₀ᵀ of the base model (uses W0, a, σ, ξ; not the teacher's direction). Online SGD
    on a direction in R^d is stable for η ≲ 2/(d κ) (the curvature of the loss along x is ≈ κ‖x‖² ≈ κd), so we
    take η = c/(d κ): one constant c serves every activation (our normalization; the paper's step is ~1/d)."""
    xi = problem.xi[:, None]
    W = problem.W0 + xi[:, :, None] * unit_vectors(x.shape[0], problem.mask, gen)[:, None, :]
    s = (problem.act.deriv(torch.einsum("rkd,rbd->rbk", W, x)) * problem.a[:, None, :] * xi[:, None]).sum(-1)
    return s.square().mean(-1)


def relative_mse(pred: torch.Tensor, y_test: torch.Tensor) -> torch.Tensor:
    """Test MSE of predictions ``pred`` (R, B) normalized by the variance of the teacher on the test set: (R,)."""
    return (pred - y_test).square().mean(-1) / y_test.var(-1)


@dataclass
class Trajectory:
    """What online SGD recorded.

    ``samples`` (n_rec,): samples seen at each record; ``overlap`` (n_rec, R): m = ⟨v/‖v‖, v*⟩ (NaN for ``full``);
    ``mse`` (n_rec, R): relative test MSE (empty if no test set); ``W`` (R, k, d): final weights;
    ``failed`` (R,): runs that produced a non-finite value (their numbers are meaningless).
    """

    samples: torch.Tensor
    overlap: torch.Tensor
    mse: torch.Tensor
    W: torch.Tensor
    failed: torch.Tensor


def factored_grads(problem: Problem, u: torch.Tensor, v: torch.Tensor, x: torch.Tensor):
    """Closed-form mini-batch gradients of L = mean_b ½(f_W(x_b) − f*(x_b))² for W = W0 + u vᵀ, without forming W:
    one product x·[W0ᵀ | v | v*] gives the student's pre-activations W0x + u⟨v, x⟩ and the teacher's
    W0x + ξu*⟨v*, x⟩, then

        ∂L/∂u_i = mean_b e_b a_i σ'(z_bi) ⟨v, x_b⟩,    ∂L/∂v = mean_b e_b (Σ_i a_i u_i σ'(z_bi)) x_b,

    with e = f − y. Returns (loss (R,), ∂L/∂u (R, k), ∂L/∂v (R, d)); O(R·B·d·k) per step (tested against autograd)."""
    k = u.shape[1]
    proj = torch.cat([problem.W0, v[:, None, :], problem.v_star[:, None, :]], 1)      # (R, k+2, d)
    P = torch.bmm(x, proj.mT)                                                          # (R, B, k+2)
    base, s, s_star = P[..., :k], P[..., k], P[..., k + 1]
    z = base + u[:, None, :] * s[..., None]
    z_star = base + (problem.xi[:, None] * problem.u_star)[:, None, :] * s_star[..., None]
    a = problem.a[:, None, :]
    e = (problem.act.value(z) * a).sum(-1) - (problem.act.value(z_star) * a).sum(-1)  # (R, B)
    w = e[..., None] * a * problem.act.deriv(z)                                        # (R, B, k)
    B = x.shape[1]
    gu = (w * s[..., None]).sum(1) / B
    gv = torch.bmm((w * u[:, None, :]).sum(-1)[:, None, :], x)[:, 0] / B
    return 0.5 * e.square().mean(-1), gu, gv * problem.mask


def online_sgd(problem: Problem, mode: str, *, steps: int, lr: torch.Tensor | float, gen: torch.Generator,
               batch: int = 1, record_every: int = 1, lr_u: torch.Tensor | float | None = None, W_init: torch.Tensor | None = None,
               v_init: torch.Tensor | None = None, u_scale: torch.Tensor | None = None,
               x_test: torch.Tensor | None = None, X_stream: torch.Tensor | None = None,
               budget: torch.Tensor | None = None) -> Trajectory:
    """Online SGD from the base model, one fresh mini-batch of ``batch`` samples per step.

    Modes (W = the student's hidden weights; η = ``lr`` per run, e.g. c/d_r):

    * ``sphere`` — W = W0 + ξ u* vᵀ with u* known, v on the unit sphere; projected (spherical) SGD
      v ← (v − η (I − vvᵀ)∇_v L)/‖·‖ (Ben Arous, Gheissari, Jagannath 2021). ``u_scale`` (R, k) replaces ξu*.
    * ``lora`` — W = W0 + u vᵀ with (u, v) trainable by plain SGD, u₀ = 0 (the student is the base model at
      t = 0, as in LoRA with B = 0), v₀ a random unit vector; ``lr_u`` (default ``lr``) is the step on u, which
      lives in R^k and needs no 1/d.
    * ``full`` — every entry of W trained by plain SGD from ``W_init`` (default W0): full fine-tuning, or
      training from scratch when ``W_init`` is a fresh random initialization.

    ``sphere`` and ``lora`` use :func:`factored_grads` (W is never formed); ``full`` uses :func:`loss_and_grad`.
    ``X_stream`` (steps, R, batch, d), if given, replaces the random draws (to reuse the very samples elsewhere).
    ``budget`` (R,), if given, stops run r once it has seen ``budget[r]`` samples (its later records are NaN):
    runs are processed in order of decreasing budget, so the live runs are a leading slice of every tensor and a
    finished run costs nothing.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if steps < 1 or batch < 1 or record_every < 1:
        raise ValueError(f"steps, batch and record_every must be ≥ 1, got {steps}, {batch}, {record_every}")
    R = problem.W0.shape[0]
    dtype, device = problem.W0.dtype, problem.W0.device
    lr = torch.as_tensor(lr, dtype=dtype, device=device).expand(R)
    lr_u = lr if lr_u is None else torch.as_tensor(lr_u, dtype=dtype, device=device).expand(R)
    v = unit_vectors(R, problem.mask, gen) if v_init is None else v_init.clone()
    u = problem.xi[:, None] * problem.u_star if u_scale is None else u_scale
    if mode == "lora":
        u = torch.zeros_like(problem.u_star)
    W = (problem.W0 if W_init is None else W_init).clone()
    if budget is None:
        order, live = torch.arange(R), torch.full((steps + 1,), R)
    else:
        if mode == "full" or X_stream is not None:
            raise ValueError("budget applies to the sphere and lora modes with fresh draws")
        budget = torch.as_tensor(budget, dtype=torch.float64).cpu()
        order = torch.sort(budget, descending=True, stable=True).indices
        live = (budget[None, :] >= batch * torch.arange(steps + 1, dtype=torch.float64)[:, None]).sum(1)
    back = torch.argsort(order)
    P = problem.take(order.to(device))
    lr, lr_u, v, u, W = lr[order], lr_u[order], v[order], u[order], W[order]
    y_test = problem.teacher(x_test) if x_test is not None else None
    x_test = x_test[order] if x_test is not None else None
    base_test = torch.einsum("rkd,rbd->rbk", P.W0, x_test) if x_test is not None else None
    y_test = y_test[order] if y_test is not None else None
    failed = torch.zeros(R, dtype=torch.bool, device=device)
    rec_s, rec_m, rec_e = [], [], []
    nan = torch.full((R,), float("nan"), dtype=dtype, device=device)

    def weights(n=R):
        return W[:n] if mode == "full" else P.W0[:n] + u[:n, :, None] * v[:n, None, :]

    def record(step, n):
        rec_s.append(step * batch)
        rec_m.append(torch.cat([overlap(mode, u[:n], v[:n], Pn), nan[n:]]))
        if x_test is not None:
            if mode == "full":
                f = forward(W[:n], Pn.a, x_test[:n], Pn.act)
            else:   # W0 x is fixed: only ⟨v, x⟩ changes
                z = base_test[:n] + u[:n, None, :] * torch.bmm(x_test[:n], v[:n, :, None])
                f = (Pn.act.value(z) * Pn.a[:, None, :]).sum(-1)
            rec_e.append(torch.cat([relative_mse(f, y_test[:n]), nan[n:]]))
        state = W[:n].flatten(1) if mode == "full" else torch.cat([u[:n], v[:n]], 1)
        failed[:n].logical_or_(~torch.isfinite(state).all(-1))

    Pn, n = P, R
    record(0, n)
    for step in range(1, steps + 1):
        if int(live[step]) != n:
            n = int(live[step])
            Pn = P.take(slice(0, n))
            if n == 0:
                break
        if X_stream is None:
            x = Pn.sample(batch, gen, masked=mode == "full")
        else:
            x = X_stream[step - 1][order.to(X_stream.device)].to(device)
        if mode == "full":
            _, g = loss_and_grad(W, P.a, x, P.teacher(x), P.act)
            W = W - lr[:, None, None] * g
        else:
            _, gu, gv = factored_grads(Pn, u[:n], v[:n], x)
            if mode == "lora":
                u = torch.cat([u[:n] - lr_u[:n, None] * gu, u[n:]])
                v = torch.cat([v[:n] - lr[:n, None] * gv, v[n:]])
            else:
                vn = v[:n]
                gv = gv - (gv * vn).sum(-1, keepdim=True) * vn
                vn = vn - lr[:n, None] * gv
                v = torch.cat([vn / vn.norm(dim=-1, keepdim=True), v[n:]])
        if step % record_every == 0 or step == steps:
            record(step, n)
    if live[-1] == 0 and rec_s[-1] != steps * batch:
        record(steps, 0)
    empty = torch.empty(0, R, dtype=dtype, device=device)
    return Trajectory(samples=torch.tensor(rec_s, dtype=torch.float64), overlap=torch.stack(rec_m)[:, back],
                      mse=torch.stack(rec_e)[:, back] if rec_e else empty, W=weights()[back], failed=failed[back])


def overlap(mode: str, u: torch.Tensor, v: torch.Tensor, problem: Problem) -> torch.Tensor:
    """m = ⟨v, v*⟩/‖v‖ (R,); for ``lora`` multiplied by sign⟨u, u*⟩ (uvᵀ = (−u)(−v)ᵀ; sign 0 counts as +);
    NaN for ``full`` (no direction to compare)."""
    if mode == "full":
        return torch.full(v.shape[:1], float("nan"), dtype=v.dtype, device=v.device)
    m = (v * problem.v_star).sum(-1) / v.norm(dim=-1)
    if mode == "lora":
        m = m * torch.where((u * problem.u_star).sum(-1) < 0, -1.0, 1.0)
    return m


def hitting_time(samples: torch.Tensor, values: torch.Tensor, threshold: float, above: bool = True) -> torch.Tensor:
    """First recorded sample count at which ``values`` (n_rec, R) reaches ``threshold`` (≥ if ``above``, else ≤);
    ``inf`` for runs that never do within the budget (censored). NaN values never count as reached."""
    hit = values >= threshold if above else values <= threshold
    first = torch.where(hit.any(0), hit.float().argmax(0), -1)
    t = samples.to(values.dtype)[first.clamp(min=0)]
    return torch.where(first >= 0, t, torch.full_like(t, float("inf")))


def censored_median(times: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Median over ``dim`` where a censored run (inf) counts as longer than any finite one (the lower
    median for an even count): it is inf exactly when more than half of the runs are censored."""
    return times.sort(dim=dim).values.select(dim, (times.shape[dim] - 1) // 2)


# --- the linearized (kernel) predictor -------------------------------------------------------------------------------

def kernel_features(W0: torch.Tensor, a: torch.Tensor, act: Activations, x: torch.Tensor) -> torch.Tensor:
    """The NTK features G(x) = ∇_W f_{W0}(x) in closed form: row i of ∂f/∂W is a_i σ'(⟨w_i, x⟩) x, so
    G(x) = vec((a ⊙ σ'(W0 x)) xᵀ); W0 (R, k, d), a (R, k), x (R, n, d) → (R, n, k·d)."""
    c = _ntk_coefficients(W0, a, act, x)
    return (c[..., :, None] * x[..., None, :]).flatten(-2)


def _ntk_coefficients(W0: torch.Tensor, a: torch.Tensor, act: Activations, x: torch.Tensor) -> torch.Tensor:
    """a_i σ'(⟨w_i, x⟩) for every run, input and neuron: (R, n, k), the row weights of ∂f_{W0}(x)/∂W."""
    return act.deriv(torch.einsum("rkd,rnd->rnk", W0, x)) * a[:, None, :]


def kernel_fit(W0: torch.Tensor, a: torch.Tensor, act: Activations, X: torch.Tensor, y: torch.Tensor,
               ridge: float, chunk: int = 2048) -> torch.Tensor:
    """Ridge regression of y − f_{W0}(x) on the NTK features G(x) (:func:`kernel_features`) for every run.

    Returns δ (R, k, d) minimizing (1/N) Σ_n (y_n − f_{W0}(x_n) − ⟨G(x_n), δ⟩)² + ridge ‖δ‖²; the predictor is
    f_{W0}(x) + ⟨G(x), δ⟩ (the lazy/kernel regime). W0 (R, k, d), a (R, k), X (R, N, d), y (R, N). The normal
    equations are accumulated over chunks of ``chunk`` samples.
    """
    N, p = X.shape[1], W0[0].numel()
    GG = torch.zeros(W0.shape[0], p, p, dtype=W0.dtype, device=W0.device)
    Gr = torch.zeros(W0.shape[0], p, dtype=W0.dtype, device=W0.device)
    for start in range(0, N, chunk):
        x, yc = X[:, start:start + chunk], y[:, start:start + chunk]
        G = kernel_features(W0, a, act, x)
        r = yc - forward(W0, a, x, act)
        GG, Gr = GG + G.mT @ G, Gr + (G.mT @ r[..., None])[..., 0]
    eye = torch.eye(p, dtype=W0.dtype, device=W0.device)
    return torch.linalg.solve(GG / N + ridge * eye, Gr / N).view_as(W0)


def kernel_predict(W0: torch.Tensor, a: torch.Tensor, act: Activations, delta: torch.Tensor,
                   x: torch.Tensor) -> torch.Tensor:
    """f_{W0}(x) + ⟨∇_W f_{W0}(x), δ⟩ = f_{W0}(x) + Σ_i a_i σ'(⟨w_i, x⟩)⟨δ_i, x⟩ for x (R, B, d) → (R, B)."""
    lin = torch.einsum("rbk,rkd,rbd->rb", _ntk_coefficients(W0, a, act, x), delta, x)
    return forward(W0, a, x, act) + lin
