"""A batched trainer: many independent runs (seeds, sweep points) as the leading dimension of every tensor.

The objective of run s is  F_s(θ_s) = loss_fn(θ)_s + (l2/2) Σ_p ‖θ_{p,s}‖²  — weight decay as an explicit L2
term, as the landscape theory needs (Jang, Lee, Ryu 2024; Kim, Kim, Ryu 2025: decoupled AdamW decay is a different
algorithm). Runs never interact: ∂(Σ_s F_s)/∂θ_s = ∇F_s, so one backward pass serves all of them and a run that
diverges (non-finite objective or parameters) is marked failed without touching the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

Params = dict[str, torch.Tensor]
OptimizerFactory = Callable[[list[torch.Tensor], float], torch.optim.Optimizer]

OPTIMIZERS: dict[str, OptimizerFactory] = {
    "gd": lambda ps, lr: torch.optim.SGD(ps, lr=lr),
    "adam": lambda ps, lr: torch.optim.Adam(ps, lr=lr),
}


@dataclass
class TrainResult:
    """Final parameters, recorded history and which runs failed.

    ``history[k]`` has shape (n_records, n_runs) for k in ``objective``, ``loss``, ``grad_norm`` (norm of the
    gradient of the full objective, over all parameters of the run); ``steps`` the step index of each record.
    ``failed[s]`` is True if run s produced a non-finite objective or parameter at some step.
    """

    params: Params
    history: dict[str, torch.Tensor]
    steps: torch.Tensor
    failed: torch.Tensor

    @property
    def converged(self) -> torch.Tensor:
        """Runs that did not fail (their final values are meaningful)."""
        return ~self.failed


def l2_penalty(params: Params) -> torch.Tensor:
    """½ Σ_p ‖θ_{p,s}‖_F² per run s."""
    return 0.5 * sum(p.square().flatten(1).sum(1) for p in params.values())


def objective(loss_fn: Callable[[Params], torch.Tensor], params: Params, l2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(objective, loss) per run: loss_fn(θ) + l2 · ½‖θ‖²."""
    loss = loss_fn(params)
    return loss + l2 * l2_penalty(params), loss


def grad_norm(grads) -> torch.Tensor:
    """Per-run Euclidean norm of a list of batched gradients."""
    return torch.sqrt(sum(g.square().flatten(1).sum(1) for g in grads))


def train(loss_fn: Callable[[Params], torch.Tensor], params: Params, *, steps: int, lr: float, l2: float = 0.0,
          optimizer: str | OptimizerFactory = "gd", record_every: int = 1, tol: float = 0.0) -> TrainResult:
    """Minimize each run's objective from ``params`` (tensors of shape (n_runs, ...); not modified).

    ``loss_fn`` maps the parameter dict to a (n_runs,) loss. ``optimizer`` is ``"gd"``, ``"adam"`` or a factory
    ``(tensors, lr) -> torch.optim.Optimizer`` (e.g. a preconditioned method). Training stops early once every
    live run has gradient norm ≤ ``tol``. The last step is always recorded.
    """
    if steps < 0 or record_every < 1:
        raise ValueError(f"steps must be ≥ 0 and record_every ≥ 1, got steps={steps}, record_every={record_every}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    n_runs = {p.shape[0] for p in params.values()}
    if len(n_runs) != 1:
        raise ValueError(f"all parameters need the same leading (run) dimension, got {sorted(n_runs)}")
    theta = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    make = OPTIMIZERS[optimizer] if isinstance(optimizer, str) else optimizer
    opt = make(list(theta.values()), lr)
    failed = torch.zeros(n_runs.pop(), dtype=torch.bool, device=next(iter(params.values())).device)
    records, rec_steps = {"objective": [], "loss": [], "grad_norm": []}, []
    for step in range(steps + 1):
        opt.zero_grad(set_to_none=True)
        obj, loss = objective(loss_fn, theta, l2)
        obj.sum().backward()
        gnorm = grad_norm([p.grad for p in theta.values()])
        finite = torch.isfinite(obj) & torch.isfinite(gnorm)
        failed |= ~finite
        done = bool(((gnorm <= tol) | failed).all())
        if step % record_every == 0 or step == steps or done:
            for k, v in (("objective", obj), ("loss", loss), ("grad_norm", gnorm)):
                records[k].append(v.detach().clone())
            rec_steps.append(step)
        if step == steps or done:
            break
        opt.step()
    return TrainResult(params={k: v.detach() for k, v in theta.items()},
                       history={k: torch.stack(v) for k, v in records.items()},
                       steps=torch.tensor(rec_steps), failed=failed)


LossAndGrad = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@torch.no_grad()
def factored_gd(loss_and_grad: LossAndGrad, left: torch.Tensor, right: torch.Tensor, *, steps: int,
                lr: float | torch.Tensor, l2: float | torch.Tensor = 0.0, record_every: int = 1) -> TrainResult:
    """Gradient descent on F(L, R) = ℓ(L Rᵀ) + (l2/2)(‖L‖² + ‖R‖²) per run, with the gradient in closed form:

        ∇_L F = ∇ℓ(X) R + l2·L,    ∇_R F = ∇ℓ(X)ᵀ L + l2·R,    X = L Rᵀ,

    so one evaluation of ``loss_and_grad`` (X (n_runs, m, n) → (ℓ (n_runs,), ∇ℓ (n_runs, m, n))) and four batched
    products make a step: no autograd graph. ``lr`` and ``l2`` are floats or (n_runs,) tensors. Same records as
    :func:`train` with ``optimizer="gd"`` (its result to rounding, tested); a run has failed when a recorded
    objective or its final parameters are non-finite (under GD a non-finite value never becomes finite again).
    Parameters are returned as ``{"left": L, "right": R}``.
    """
    if steps < 0 or record_every < 1:
        raise ValueError(f"steps must be ≥ 0 and record_every ≥ 1, got steps={steps}, record_every={record_every}")
    lr = torch.as_tensor(lr, dtype=left.dtype, device=left.device)
    if not bool((lr > 0).all()):
        raise ValueError(f"lr must be > 0, got {lr}")
    lr, l2 = (torch.as_tensor(v, dtype=left.dtype, device=left.device).expand(left.shape[0])[:, None, None]
              for v in (lr, l2))
    L, R = left.clone(), right.clone()
    failed = torch.zeros(left.shape[0], dtype=torch.bool, device=left.device)
    records, rec_steps = {"objective": [], "loss": [], "grad_norm": []}, []
    for step in range(steps + 1):
        loss, G = loss_and_grad(L @ R.mT)
        gL, gR = G @ R + l2 * L, G.mT @ L + l2 * R
        if step % record_every == 0 or step == steps:
            obj = loss + l2[:, 0, 0] * l2_penalty({"L": L, "R": R})
            gnorm = grad_norm([gL, gR])
            failed |= ~(torch.isfinite(obj) & torch.isfinite(gnorm))
            for k, v in (("objective", obj), ("loss", loss), ("grad_norm", gnorm)):
                records[k].append(v)
            rec_steps.append(step)
        if step == steps:
            break
        L, R = L - lr * gL, R - lr * gR
    failed |= ~(torch.isfinite(L).flatten(1).all(1) & torch.isfinite(R).flatten(1).all(1))
    return TrainResult(params={"left": L, "right": R}, history={k: torch.stack(v) for k, v in records.items()},
                       steps=torch.tensor(rec_steps), failed=failed)
