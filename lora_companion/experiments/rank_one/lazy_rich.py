"""B5, between lazy and rich (Dayi & Chen, COLT 2025): for a small perturbation ratio ρ the linearized
(kernel) predictor fits the teacher; at ρ ~ 1 it keeps a Θ(1) error while rank-1 LoRA, on the very same
samples, fits.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ... import student_teacher as st
from ...claims import Claim, check
from .tasks import _grid, lora_step_u, make_problem, step_sizes
from .thresholds import KERNEL_LAZY_MAX, KERNEL_RICH_MIN, MSE_FIT


@dataclass
class LazyRichResult:
    rhos: list[float]
    kernel: torch.Tensor   # (len(rhos), S) test error of the kernel predictor relative to E(f* − f0)²
    lora: torch.Tensor     # (len(rhos), S) the same for rank-1 LoRA after the budget (NaN if failed)
    n_samples: int


def lazy_to_rich(rhos: list[float], n_seeds: int, d: int, k: int, act: str, c: float, batch: int, budget: int,
                 ridge: float, n_test: int, gen: torch.Generator, device="cpu") -> LazyRichResult:
    """B5: for each perturbation ratio ρ, rank-1 LoRA by online SGD on ``budget`` samples, and the kernel
    (linearized) predictor fitted by ridge on the very same samples; both scored on fresh test inputs by
    E(f̂ − f*)²/E(f* − f_{W0})² (1 = no better than the base model)."""
    g = _grid(rho=rhos, seed=list(range(n_seeds)))
    R = len(g["rho"])
    P = make_problem([act] * R, [d] * R, [k] * R, g["rho"], [False] * R, gen, device=device)
    lr = step_sizes(P, c, batch, gen)
    steps = budget // batch
    stream = P.sample(steps * batch, gen).view(R, steps, batch, -1)
    x_test = P.sample(n_test, gen)
    tr = st.online_sgd(P, "lora", steps=steps, batch=batch, lr=lr, lr_u=lora_step_u(P, lr), gen=gen,
                       record_every=steps, X_stream=stream.transpose(0, 1))
    y_test, f0 = P.teacher(x_test), st.forward(P.W0, P.a, x_test, P.act)
    scale = (y_test - f0).square().mean(-1)
    lora_err = (st.forward(tr.W, P.a, x_test, P.act) - y_test).square().mean(-1) / scale
    lora_err = torch.where(tr.failed, float("nan"), lora_err)
    X = stream.reshape(R, steps * batch, -1)
    delta = st.kernel_fit(P.W0, P.a, P.act.onehot, P.act.names, X, P.teacher(X), ridge)
    kern_err = (st.kernel_predict(P.W0, P.a, P.act, delta, x_test) - y_test).square().mean(-1) / scale
    shape = (len(rhos), n_seeds)
    return LazyRichResult(rhos=rhos, kernel=kern_err.view(shape).cpu(), lora=lora_err.view(shape).cpu(),
                          n_samples=steps * batch)


def lazy_rich_claims(res: LazyRichResult, rich_rho: float = 1.0) -> list[Claim]:
    i = res.rhos.index(rich_rho)
    k_small = res.kernel[0].median().item()
    k_rich, l_rich = res.kernel[i].median().item(), res.lora[i].nanmedian().item()
    return [
        check("rankone-kernel-lazy", paper="dayi2025lowrank",
              statement="For a small perturbation the dynamics are lazy: the linearized (kernel) model fits the "
                        "teacher.",
              test=f"median relative error of the kernel predictor at ρ = {res.rhos[0]:g} ≤ {KERNEL_LAZY_MAX}",
              measured=k_small, passed=k_small <= KERNEL_LAZY_MAX, figure="fig-rankone-lazy-rich"),
        check("rankone-beyond-kernel", paper="dayi2025lowrank",
              statement="When the rank-1 perturbation is comparable in norm to the base weights, the dynamics are not "
                        "kernel dynamics: the kernel predictor keeps a Θ(1) error while rank-1 fine-tuning fits.",
              test=f"at ρ = {rich_rho:g}: kernel median relative error ≥ {KERNEL_RICH_MIN} and rank-1 LoRA median "
                   f"≤ {MSE_FIT}, on the same {res.n_samples} samples (measured: kernel error)",
              measured=k_rich, passed=k_rich >= KERNEL_RICH_MIN and l_rich <= MSE_FIT, figure="fig-rankone-lazy-rich"),
    ]
