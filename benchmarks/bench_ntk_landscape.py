"""NTK landscape E2 (no spurious local minima, Thm 4.1/4.2): gradient descent on the factored LoRA objective
F(U, V) = L̂(UVᵀ) + (λ/2)(‖U‖² + ‖V‖²) for every dataset × rank × init, batched in the package, against numpy
with the gradient written out, one run at a time."""
import numpy as np
import torch

from lora_companion.experiments import ntk_landscape as E
from lora_companion.experiments.ntk_landscape.factored import init_factors

N, K, M, SEEDS, STEPS, LR, LAM = 24, 1, 10, 18, 1000, 0.4, 0.05
RANKS, INITS = [1, 2, 3, 4], ["standard", "large"]
WORK = (f"E2: GD on the LoRA objective with weight decay, m = n = {M}, N = {N}, {SEEDS} datasets (the book's E2 "
        f"batch: 3 sizes × 6 seeds) × ranks {RANKS[0]}–{RANKS[-1]} × {len(INITS)} inits, {STEPS} steps")
TASK = E.random_task([N], K, M, M, SEEDS, torch.Generator().manual_seed(0))
LAMS = torch.full((SEEDS,), LAM, dtype=torch.float64)


def package():
    return E.train_lora(TASK, LAMS, RANKS, INITS, steps=STEPS, lr=LR, gen=torch.Generator().manual_seed(1))


def reference():
    """Per run: r = ⟨G_i, UVᵀ⟩ − y_i, ∇δ = (1/N) Σ r_i G_i, U ← U − η(∇δ V + λU), V ← V − η(∇δᵀU + λV)."""
    r_max = max(RANKS)
    U0, V0 = init_factors(SEEDS, M, M, torch.tensor(RANKS), INITS, r_max, torch.Generator().manual_seed(1))
    G = TASK.G[:, :N].reshape(SEEDS, N * K, M * M).numpy()
    y = TASK.y[:, :N].reshape(SEEDS, N * K).numpy()
    out = np.zeros((SEEDS, len(RANKS) * len(INITS)))
    for d in range(SEEDS):
        for p in range(len(RANKS) * len(INITS)):
            rank = RANKS[p // len(INITS)]
            U, V = U0[d, p, :, :rank].numpy().copy(), V0[d, p, :, :rank].numpy().copy()
            for _ in range(STEPS):
                res = G[d] @ (U @ V.T).ravel() - y[d]
                g = (res @ G[d]).reshape(M, M) / N
                U, V = U - LR * (g @ V + LAM * U), V - LR * (g.T @ U + LAM * V)
            res = G[d] @ (U @ V.T).ravel() - y[d]
            out[d, p] = 0.5 * res @ res / N + 0.5 * LAM * ((U ** 2).sum() + (V ** 2).sum())
    return out


def agree(pkg, ref) -> bool:
    return np.allclose(pkg.objective[-1].numpy(), ref, rtol=1e-8, atol=1e-12)


def flops() -> float:
    """The package's arithmetic per run and step: ⟨G, δ⟩ and its closed-form gradient Σ r_i G_i (2·NK·mn
    multiply-adds), the product UVᵀ and the factor gradients (3·mn·r_max)."""
    runs = SEEDS * len(RANKS) * len(INITS)
    return runs * (STEPS + 1) * 2 * (2 * N * K * M * M + 3 * M * M * max(RANKS))
