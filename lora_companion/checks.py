"""Argument checks of the public functions: each returns its argument or raises a ``ValueError`` whose message
starts with the argument's name, so a wrong call fails at the entry with a sentence instead of a NaN or a torch
shape error deep inside. Called once at entry, never inside a loop."""
from __future__ import annotations

import torch


def matrix(M, name: str) -> torch.Tensor:
    """``M`` as a floating-point (batch of) matrices (..., m, n)."""
    if not isinstance(M, torch.Tensor) or M.ndim < 2 or not M.is_floating_point():
        shape = tuple(M.shape) if isinstance(M, torch.Tensor) else type(M).__name__
        raise ValueError(f"{name} must be a floating-point tensor of shape (..., m, n), got {shape}")
    return M


def rank(r, name: str, upper: int) -> int:
    """``r`` as an int rank in [1, upper]."""
    if not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= upper:
        raise ValueError(f"{name} must be an int with 1 ≤ {name} ≤ min(m, n) = {upper}, got {r!r}")
    return r


def count(k, name: str, minimum: int = 1) -> int:
    """``k`` as an int ≥ ``minimum`` (iterations, steps, sizes)."""
    if not isinstance(k, int) or isinstance(k, bool) or k < minimum:
        raise ValueError(f"{name} must be an int ≥ {minimum}, got {k!r}")
    return k


def _values(x, name: str) -> torch.Tensor:
    try:
        t = torch.as_tensor(x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} must be a real number or a tensor of them, got {type(x).__name__}") from None
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return t


def positive(x, name: str):
    """``x`` (a number or a tensor) finite and > 0 everywhere: step sizes, scales that divide."""
    if bool((_values(x, name) <= 0).any()):
        raise ValueError(f"{name} must be > 0, got {x!r}")
    return x


def nonnegative(x, name: str):
    """``x`` (a number or a tensor) finite and ≥ 0 everywhere: thresholds, damping, init scales."""
    if bool((_values(x, name) < 0).any()):
        raise ValueError(f"{name} must be ≥ 0, got {x!r}")
    return x


def nonzero_matrices(M: torch.Tensor, name: str, why: str) -> torch.Tensor:
    """Every matrix of the batch ``M`` has a nonzero entry (σ₁ > 0)."""
    if bool((M.flatten(-2).abs().amax(-1) == 0).any()):
        raise ValueError(f"{name} is the zero matrix (σ₁ = 0): {why}")
    return M

