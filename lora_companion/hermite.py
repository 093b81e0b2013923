"""Normalized probabilists' Hermite polynomials and the activations of the rank-1 chapter.

h_j(z) = He_j(z)/√(j!) is an orthonormal basis of L²(N(0, 1)): E[h_i(Z) h_j(Z)] = δ_ij, Z ~ N(0, 1). Every
activation σ ∈ L²(N(0, 1)) has the expansion σ = Σ_j c_j h_j with c_j = E[σ(Z) h_j(Z)], and its *information
exponent* is the smallest j ≥ 1 with c_j ≠ 0 (Ben Arous, Gheissari, Jagannath 2021): online SGD on a single-index
(GLM) target σ(⟨v*, x⟩) needs ≈ d^{p−1} samples (d log d for p = 2, d for p = 1) to leave the equator m ≈ 1/√d.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

#: names of the activations, in the order the chapter plots them
ACTIVATIONS = ("relu", "tanh", "he2", "he3", "he4")
#: a coefficient with |c_j| below this counts as zero when reading off the information exponent
COEF_ATOL = 1e-6


def hermite(j: int, z: torch.Tensor) -> torch.Tensor:
    """h_j(z) = He_j(z)/√(j!) by the three-term recurrence He_{j+1} = z He_j − j He_{j−1} (normalized form:
    √(j+1) h_{j+1} = z h_j − √j h_{j−1})."""
    if j < 0:
        raise ValueError(f"degree must be ≥ 0, got {j}")
    prev, cur = torch.zeros_like(z), torch.ones_like(z)
    for i in range(j):
        prev, cur = cur, (z * cur - math.sqrt(i) * prev) / math.sqrt(i + 1)
    return cur


def hermite_deriv(j: int, z: torch.Tensor) -> torch.Tensor:
    """h_j'(z) = √j · h_{j−1}(z) (from He_j' = j He_{j−1})."""
    return math.sqrt(j) * hermite(j - 1, z) if j > 0 else torch.zeros_like(z)


def _relu(z):
    return z.clamp(min=0)


def _relu_deriv(z):
    return (z > 0).to(z.dtype)


def _tanh_deriv(z):
    return 1 - torch.tanh(z).square()


#: name → (σ, σ'), elementwise on tensors
FUNCTIONS: dict[str, tuple[Callable, Callable]] = {
    "relu": (_relu, _relu_deriv),
    "tanh": (torch.tanh, _tanh_deriv),
    **{f"he{j}": ((lambda z, j=j: hermite(j, z)), (lambda z, j=j: hermite_deriv(j, z))) for j in (1, 2, 3, 4)},
}


def activation(name: str) -> tuple[Callable, Callable]:
    """(σ, σ') of an activation by name; a clear error for an unknown one."""
    if name not in FUNCTIONS:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(FUNCTIONS)}")
    return FUNCTIONS[name]


def gauss_expectation(fn: Callable[[torch.Tensor], torch.Tensor], n_quad: int = 100) -> torch.Tensor:
    """E[fn(Z)], Z ~ N(0, 1), by Gauss–Hermite_e quadrature (weight e^{−z²/2}; exact for polynomials of degree
    < 2·n_quad). ``fn`` maps a 1-D tensor of nodes to values with the nodes in the last dimension."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_quad)
    z = torch.tensor(nodes, dtype=torch.float64)
    w = torch.tensor(weights / math.sqrt(2 * math.pi), dtype=torch.float64)
    return (fn(z) * w).sum(-1)


def hermite_coefficients(name: str, degree: int = 6, n_quad: int = 100) -> torch.Tensor:
    """c_j = E[σ(Z) h_j(Z)] for j = 0 … degree (quadrature; for ReLU, whose kink limits the quadrature to
    ~1e-4 accuracy, the closed form c_0 = 1/√(2π), c_1 = 1/2, c_j = (−1)^{j/2+1} (j−3)!!/√(2π j!) for even
    j ≥ 2 and 0 for odd j ≥ 3)."""
    if name == "relu":
        c = [1 / math.sqrt(2 * math.pi), 0.5]
        for j in range(2, degree + 1):
            if j % 2:
                c.append(0.0)
            else:
                dfact = math.prod(range(j - 3, 0, -2)) if j > 3 else 1
                c.append((-1) ** (j // 2 + 1) * dfact / math.sqrt(2 * math.pi * math.factorial(j)))
        return torch.tensor(c[:degree + 1], dtype=torch.float64)
    sigma, _ = activation(name)
    return torch.stack([gauss_expectation(lambda z, j=j: sigma(z) * hermite(j, z), n_quad)
                        for j in range(degree + 1)])


def information_exponent(name: str, degree: int = 6) -> int:
    """Smallest j ≥ 1 with |c_j| > :data:`COEF_ATOL` (searched up to ``degree``)."""
    c = hermite_coefficients(name, degree)
    nonzero = [j for j in range(1, degree + 1) if abs(c[j].item()) > COEF_ATOL]
    if not nonzero:
        raise ValueError(f"{name} has no Hermite coefficient of degree 1…{degree}")
    return nonzero[0]
