"""Fails loudly A2 (success mode, Thm 1): gradient descent on the LoRA objective of a tanh teacher–student
network, L(A, B) = L_full(W₀ + ABᵀ) + (λ/2)(‖A‖² + ‖B‖²), batched over runs in the package, against numpy with
the gradient written out, one run at a time."""
import numpy as np
import torch

from lora_companion.experiments import fails_loudly as FL
from lora_companion.experiments.fails_loudly.lora_runs import init_factors, train_lora

M, N_IN, N_TRAIN, R, RUNS, STEPS, LR, LAM = 16, 8, 128, 4, 32, 1000, 0.2, 0.01
WORK = (f"A2/A3: GD on the LoRA objective with weight decay, tanh network m = {M}, n = {N_IN}, N = {N_TRAIN}, "
        f"r = {R}, {RUNS} runs from the standard init (A3's batch: scales × seeds), {STEPS} steps")
TASK = FL.teacher_student(M, N_IN, N_TRAIN, 100, 2, 1.0, 0.01, torch.Generator().manual_seed(0))


def _init():
    return init_factors(M, N_IN, R, torch.zeros(RUNS), torch.Generator().manual_seed(1))


def package():
    return train_lora(TASK, _init(), LAM, steps=STEPS, lr=LR)


def reference():
    """Per run: z = x(W₀ + ABᵀ)ᵀ, e = tanh(z)a − y, ∇X = (1/N) ((e ⊗ a) ⊙ (1 − tanh² z))ᵀ x,
    A ← A − η(∇X B + λA), B ← B − η(∇Xᵀ A + λB)."""
    P = _init()
    x, y, W0, a = (t.numpy() for t in (TASK.x, TASK.y, TASK.W0, TASK.a))
    out = []
    for i in range(RUNS):
        A, B = P["A"][i].numpy().copy(), P["B"][i].numpy().copy()
        for _ in range(STEPS):
            h = np.tanh(x @ (W0 + A @ B.T).T)
            e = h @ a - y
            g = ((e[:, None] * a[None, :]) * (1 - h ** 2)).T @ x / len(y)
            A, B = A - LR * (g @ B + LAM * A), B - LR * (g.T @ A + LAM * B)
        out.append((A, B))
    return out


def agree(pkg, ref) -> bool:
    return all(np.allclose(pkg.params["A"][i].numpy(), A, atol=1e-9) and np.allclose(pkg.params["B"][i].numpy(), B,
               atol=1e-9) for i, (A, B) in enumerate(ref))


def flops() -> float:
    """The package's arithmetic per run and step: forward x(W₀ + ABᵀ)ᵀ and the backward products (N·m·n twice),
    ABᵀ and the factor gradients (3·m·n·r), tanh and elementwise terms neglected."""
    return RUNS * (STEPS + 1) * 2 * (2 * N_TRAIN * M * N_IN + 3 * M * N_IN * R)
