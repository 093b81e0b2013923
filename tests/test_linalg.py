import math

import pytest
import torch

import lora_companion.linalg as L

from lora_companion.linalg import (balanced_factors, nuclear_norm, numerical_rank, orthonormal_basis,
                                   pataki_rank_bound, principal_angles, subspace_distance, svt)


def low_rank(gen, m, n, r, batch=()):
    return torch.randn(*batch, m, r, generator=gen, dtype=torch.float64) @ torch.randn(*batch, r, n, generator=gen, dtype=torch.float64)


def test_numerical_rank_batched(gen):
    M = torch.stack([low_rank(gen, 8, 6, r) for r in (1, 3, 6)])
    assert numerical_rank(M).tolist() == [1, 3, 6]
    assert numerical_rank(torch.zeros(4, 4)).item() == 0


def test_numerical_rank_tolerance_is_relative():
    M = torch.diag(torch.tensor([1.0, 1e-3, 1e-6], dtype=torch.float64))
    assert numerical_rank(M).item() == 2            # 1e-6 < 1e-4 · σ₁
    assert numerical_rank(1e6 * M).item() == 2      # scale-invariant
    assert numerical_rank(M, rtol=1e-8).item() == 3


def test_nuclear_norm_matches_torch(gen):
    M = torch.randn(3, 5, 4, generator=gen, dtype=torch.float64)
    assert torch.allclose(nuclear_norm(M), torch.linalg.matrix_norm(M, ord="nuc"))


def test_svt_closed_form_on_diagonal():
    M = torch.diag(torch.tensor([3.0, 1.5, 0.5], dtype=torch.float64))
    assert torch.allclose(svt(M, 1.0), torch.diag(torch.tensor([2.0, 0.5, 0.0], dtype=torch.float64)))


def test_svt_is_the_prox_by_brute_force(gen):
    """No point of a random cloud around svt(M, τ) has a lower prox objective."""
    M, tau = torch.randn(5, 4, generator=gen, dtype=torch.float64), 0.7
    X = svt(M, tau)
    h = lambda Y: 0.5 * (Y - M).square().sum((-2, -1)) + tau * nuclear_norm(Y)  # noqa: E731
    Y = X + 0.05 * torch.randn(2000, 5, 4, generator=gen, dtype=torch.float64)
    assert (h(Y) >= h(X)).all()


def test_svt_batched_tau(gen):
    M = torch.randn(2, 4, 4, generator=gen, dtype=torch.float64)
    out = svt(M, torch.tensor([0.0, 1e9], dtype=torch.float64))
    assert torch.allclose(out[0], M[0]) and torch.count_nonzero(out[1]) == 0


def test_balanced_factors_identity(gen):
    M = low_rank(gen, 7, 5, 2)
    B, A = balanced_factors(M, 3)
    assert torch.allclose(B @ A, M)
    assert torch.allclose(0.5 * (A.square().sum() + B.square().sum()), nuclear_norm(M))
    assert torch.allclose(B.mT @ B, A @ A.mT)      # balanced
    with pytest.raises(ValueError, match="r must be .*got 6"):
        balanced_factors(M, 6)


def test_principal_angles_planted(gen):
    theta = torch.tensor([0.2, 0.9], dtype=torch.float64)
    I = torch.eye(6, dtype=torch.float64)
    X = I[:, :2] @ torch.tensor([[2.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    Y = I[:, :2] * torch.cos(theta) + I[:, 2:4] * torch.sin(theta)
    assert torch.allclose(principal_angles(X, Y), theta)
    assert math.isclose(subspace_distance(X, Y).item(), math.sin(0.9))
    assert torch.allclose(principal_angles(X, X), torch.zeros(2, dtype=torch.float64), atol=1e-7)


def test_orthonormal_basis(gen):
    M = low_rank(gen, 6, 6, 2)
    Q = orthonormal_basis(M, 2)
    assert torch.allclose(Q.mT @ Q, torch.eye(2, dtype=torch.float64))
    assert torch.allclose(Q @ Q.mT @ M, M)


def test_pataki_bound_brute_force():
    for n in range(0, 400):
        assert pataki_rank_bound(n) == max(r for r in range(0, 40) if r * (r + 1) // 2 <= n)
    assert pataki_rank_bound(2 * 80) == 17   # √(2KN) ≈ 17.9 for K = 2, N = 80
    with pytest.raises(ValueError, match="n_constraints"):
        pataki_rank_bound(-1)


@pytest.mark.parametrize("call, name", [
    (lambda M: L.balanced_factors(M, 0), "r must be"),
    (lambda M: L.balanced_factors(M, 9), "r must be"),
    (lambda M: L.orthonormal_basis(M, 0), "k must be"),
    (lambda M: L.svt(M, -1.0), "tau must be"),
    (lambda M: L.svt(M, float("nan")), "tau must be"),
    (lambda M: L.svt(M[0], 1.0), "M must be"),
    (lambda M: L.subspace_distance(M[:, :2], M[:, :3]), "same number of columns"),
    (lambda M: L.principal_angles(M, M[:4]), "same number of rows"),
])
def test_api_contracts_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call(torch.randn(6, 5, dtype=torch.float64))
