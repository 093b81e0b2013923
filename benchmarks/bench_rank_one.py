"""Rank-1 B2 (samples to strong recovery vs d, Thm 1): spherical online SGD on the direction v of a rank-1
perturbation of a two-layer ReLU network, batched over runs in the package, against numpy with the gradient
written out, one run at a time, on the very same sample stream."""
import numpy as np
import torch

from lora_companion import student_teacher as st
from lora_companion.experiments.rank_one.tasks import make_problem, step_sizes

D, K, RUNS, BATCH, STEPS, EVERY, C, RHO = 64, 4, 120, 16, 320, 16, 0.05, 1.0
WORK = (f"B2: spherical online SGD, ReLU student–teacher, d = {D}, k = {K}, {RUNS} runs (the size of the book's "
        f"d sweep batch), batch {BATCH}, {STEPS} steps, overlap every {EVERY} steps")
_gen = torch.Generator().manual_seed(0)
PROBLEM = make_problem(["relu"] * RUNS, [D] * RUNS, [K] * RUNS, [RHO] * RUNS, [False] * RUNS, _gen)
LR = step_sizes(PROBLEM, C, BATCH, _gen)
XS = torch.randn(STEPS, RUNS, BATCH, D, generator=_gen, dtype=torch.float64)
V0 = st.unit_vectors(RUNS, PROBLEM.mask, _gen)


def package():
    return st.online_sgd(PROBLEM, "sphere", steps=STEPS, lr=LR, gen=torch.Generator(), batch=BATCH,
                         record_every=EVERY, v_init=V0, X_stream=XS)


def reference():
    """Per run and step: z = x Wᵀ with W = W₀ + ξ u* vᵀ, e = relu(z)a − relu(x W*ᵀ)a, ∇W = ((e ⊗ a) ⊙ 1[z > 0])ᵀ x/B,
    ∇v = ∇Wᵀ ξu*, projected on the tangent space of the sphere; v ← (v − η∇v)/‖·‖."""
    W0, a, u, vs, Ws = (t.numpy() for t in (PROBLEM.W0, PROBLEM.a, PROBLEM.xi[:, None] * PROBLEM.u_star,
                                            PROBLEM.v_star, PROBLEM.W_star))
    X, lr = XS.numpy(), LR.numpy()
    m = np.zeros((STEPS // EVERY + 1, RUNS))
    for r in range(RUNS):
        v = V0[r].numpy().copy()
        m[0, r] = v @ vs[r]
        for t in range(STEPS):
            x = X[t, r]
            z = x @ (W0[r] + np.outer(u[r], v)).T
            e = np.maximum(z, 0) @ a[r] - np.maximum(x @ Ws[r].T, 0) @ a[r]
            g = ((e[:, None] * a[r][None, :]) * (z > 0)).T @ x / BATCH
            gv = g.T @ u[r]
            gv -= (gv @ v) * v
            v = v - lr[r] * gv
            v /= np.linalg.norm(v)
            if (t + 1) % EVERY == 0:
                m[(t + 1) // EVERY, r] = v @ vs[r]
    return m


def agree(pkg, ref) -> bool:
    return np.allclose(pkg.overlap.numpy(), ref, atol=1e-9)


def flops() -> float:
    """The package's arithmetic per run and step (``student_teacher.factored_grads``): one product of the batch with
    [W₀ᵀ | v | v*] (B·d·(k + 2) multiply-adds) and ∇v = xᵀc (B·d); the reference forms W and ∇W (3·B·k·d)."""
    return RUNS * STEPS * 2 * (BATCH * D * (K + 3))
