"""Linearized (NTK) models with ``torch.func``.

For a network f(W; x) ∈ R^K and a fine-tuned weight W = W0 + δ, the linearization (Jang, Lee, Ryu 2024, Sec. 2)
is f_lin(δ; x) = f(W0; x) + ⟨G(x), δ⟩,  G(x) = ∂f(W0; x)/∂W ∈ R^{K×m×n}, with the Frobenius product per output.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.func import jacrev, jvp, vmap

Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (W, x) -> (K,) for one input x


def jacobian_features(f: Model, W0: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """G(x_i) = ∂f(W0; x_i)/∂W for every row x_i of X: shape (N, K, *W0.shape), by ``vmap(jacrev)``."""
    return vmap(jacrev(f), in_dims=(None, 0))(W0, X)


def linear_predict(G: torch.Tensor, f0: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """f(W0; x_i) + ⟨G(x_i), δ⟩ for features G (N, K, m, n), base outputs f0 (N, K), δ (..., m, n) → (..., N, K)."""
    return f0 + torch.einsum("ikmn,...mn->...ik", G, delta)


def jvp_predict(f: Model, W0: torch.Tensor, X: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """The same linearization without materializing G: f(W0; X) + J_W f(W0; X)·δ by forward-mode ``jvp``."""
    def batch(W):
        return vmap(f, in_dims=(None, 0))(W, X)

    out, tangent = jvp(batch, (W0,), (delta,))
    return out + tangent
