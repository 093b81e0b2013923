"""LoRA-One E1 (alignment under vanilla LoRA, Thm 3.2 / Fig. 2): the package's batched experiment against the
authors' toy-code algorithm (Toy_Experiments.ipynb of the paper's repository: GD on (A, B) with the gradients
written out from the data X, one init scale at a time), here in numpy, one run (init scale × seed) at a time."""
import numpy as np
import torch

from lora_companion import inits
from lora_companion.experiments import lora_one as E

D, R, R_STAR, N_OVER_D, SEEDS, STEPS, EVERY, LR = 64, 8, 4, 16, 2, 200, 5, 1 / 64
ALPHA2 = [1.0, 1e-2, 1e-4]
WORK = (f"E1: vanilla-LoRA GD, d = k = {D}, r = {R}, r* = {R_STAR}, N = {N_OVER_D}d, {len(ALPHA2)} init scales × "
        f"{SEEDS} seeds, {STEPS} steps, alignment, leak and risk every {EVERY} steps")
TASK = E.make_teacher("linear", D, D, torch.ones(R_STAR, dtype=torch.float64), N_OVER_D * D, SEEDS,
                      torch.Generator().manual_seed(0))


def _gen():
    """The generator the init is drawn from (the same draws on both sides)."""
    return torch.Generator().manual_seed(1)


def package():
    return E.alignment_experiment(TASK, R, R_STAR, ALPHA2, LR, STEPS, _gen(), every=EVERY)


def _sin_theta_max(U, Q):
    """‖(I − UUᵀ) Q‖₂ for orthonormal U, Q of equal width."""
    return np.linalg.norm(Q - U @ (U.T @ Q), 2)


def reference():
    """One run at a time: A ← A − η Xᵀ(X(W0 + AB) − y)Bᵀ/N, B ← B − η Aᵀ Xᵀ(X(W0 + AB) − y)/N (the authors'
    update), with the same data, the same A₀ and the same records as the package."""
    n_a, n_s = len(ALPHA2), SEEDS
    A0, _ = inits.vanilla_init(D, D, R, 1.0, batch=(n_a * n_s,), generator=_gen())
    X, W0, delta = (t.numpy() for t in (TASK.X, TASK.W0, TASK.delta))
    n_rec = STEPS // EVERY + 1
    angle, leak, risk = (np.zeros((n_rec, n_a, n_s)) for _ in range(3))
    for i, a2 in enumerate(ALPHA2):
        for s in range(n_s):
            x, w0, dl = X[s], W0[s], delta[s]
            y = x @ (w0 + dl)
            G = x.T @ (y - x @ w0) / x.shape[0]
            U, _, Vh = np.linalg.svd(G)
            U_G, V_perp = U[:, :R_STAR], Vh[R_STAR:].T
            A, B = np.sqrt(a2) * A0[i * n_s + s].numpy(), np.zeros((R, D))
            for t in range(STEPS + 1):
                if t % EVERY == 0:
                    j = t // EVERY
                    angle[j, i, s] = _sin_theta_max(U_G, np.linalg.svd(A, full_matrices=False)[0][:, :R_STAR])
                    nb = np.linalg.norm(B, 2)
                    leak[j, i, s] = np.linalg.norm(B @ V_perp, 2) / nb if nb > 0 else 0.0
                    risk[j, i, s] = np.linalg.norm(A @ B - dl) / np.linalg.norm(dl)
                if t == STEPS:
                    break
                res = x @ (w0 + A @ B) - y
                g = x.T @ res / x.shape[0]
                A, B = A - LR * g @ B.T, B - LR * A.T @ g
    return angle, leak, risk


def agree(pkg, ref) -> bool:
    angle, leak, risk = ref
    return (np.allclose(pkg.risk.numpy(), risk, rtol=1e-6, atol=1e-9)
            and np.allclose(pkg.angle.numpy(), angle, atol=1e-6) and np.abs(pkg.leak.numpy() - leak).max() < 1e-6)


def flops() -> float:
    """The package's arithmetic: per run and step, the closed-form gradient of ½⟨E, Σ̂E⟩, E = AB − Δ, with
    Σ̂Δ = G♮ precomputed (Σ̂A: d²r; (Σ̂A)B, Σ̂E Bᵀ, AᵀΣ̂E: 3dkr multiply-adds), plus the risk (AB: dkr) and one SVD
    of A (~4dr² + 8r³) per record."""
    runs = len(ALPHA2) * SEEDS
    per_step = 2 * (D * D * R + 3 * D * D * R)
    per_record = 2 * (D * D * R + 4 * D * R * R + 8 * R ** 3)
    return runs * (STEPS * per_step + (STEPS // EVERY + 1) * per_record)
