"""Monte-Carlo RSC/RSM estimators on quadratics whose constants are known."""
import torch

from lora_companion.restricted import estimate_constants, random_rank_one_unit, rsm_quotients, sample_restricted_set


def _gen(s=0):
    return torch.Generator().manual_seed(s)


def _low_rank(m, n, s):
    """A rank-1 X⋆ (the theory's X⋆ has rank r* ≤ r; a full-rank X⋆ has no rank-r points nearby)."""
    g = _gen(s)
    return torch.randn(m, 1, generator=g, dtype=torch.float64) @ torch.randn(1, n, generator=g, dtype=torch.float64)


def test_isotropic_quadratic_constants_are_exact():
    c, M = 2.5, _low_rank(6, 5, 0)
    est = estimate_constants(lambda X: 0.5 * c * (X - M).square().sum(), M, 3, 1.0, 200, _gen(1))
    assert abs(est.alpha - c) < 1e-10 and abs(est.beta - c) < 1e-10 and abs(est.ratio - 2) < 1e-10


def test_anisotropic_quadratic_estimates_within_spectrum():
    w = torch.rand(6, 5, generator=_gen(2), dtype=torch.float64) * 3 + 0.5
    X_star = _low_rank(6, 5, 3)
    est = estimate_constants(lambda X: 0.5 * (w * (X - X_star).square()).sum(), X_star, 2, 2.0, 300, _gen(4))
    assert w.min() - 1e-12 <= est.alpha <= est.beta <= w.max() + 1e-12


def test_samples_lie_in_restricted_set():
    X_star = _low_rank(7, 4, 5)
    X = sample_restricted_set(X_star, 2, 1.5, 100, _gen(6))
    assert X.shape[0] > 50
    assert (torch.linalg.matrix_rank(X) <= 2).all()
    assert (torch.linalg.matrix_norm(X - X_star) <= 1.5 + 1e-12).all()


def test_rank_one_unit_and_hessian_form_against_finite_differences():
    U = random_rank_one_unit(5, 3, _gen(7))
    assert torch.allclose(torch.linalg.matrix_norm(U), torch.ones(3, dtype=torch.float64))
    assert (torch.linalg.matrix_rank(U) == 1).all()
    f = lambda X: torch.tanh(X).sum() ** 2  # noqa: E731
    X = torch.randn(3, 5, 4, generator=_gen(8), dtype=torch.float64)
    V = random_rank_one_unit(4, 3, _gen(9))
    q = rsm_quotients(f, X, U, V)
    Z = U @ X + X @ V
    h = 1e-4
    fd = torch.stack([(f(x + h * z) - 2 * f(x) + f(x - h * z)) / h**2 for x, z in zip(X, Z)])
    assert torch.allclose(q * Z.square().sum((-2, -1)), fd, rtol=1e-5, atol=1e-6)


def test_nested_estimates_are_monotone_and_contain_the_smaller_samples():
    from lora_companion.restricted import estimate_constants_nested
    X_star = _low_rank(6, 5, 10)
    f = lambda X: (torch.tanh(X) - torch.tanh(X_star)).square().sum() + 0.1 * X.pow(4).sum()  # noqa: E731
    ests = estimate_constants_nested(f, X_star, [3, 1, 2], 1.0, 80, _gen(11))
    by_r = {e.r: e for e in ests}
    assert [e.r for e in ests] == [3, 1, 2]
    assert by_r[1].alpha >= by_r[2].alpha >= by_r[3].alpha
    assert by_r[1].beta <= by_r[2].beta <= by_r[3].beta
    assert torch.equal(by_r[2].rsc[:len(by_r[1].rsc)], by_r[1].rsc)  # the rank-1 sample is part of the rank-2 one


def test_minimised_quotient_finds_a_negative_direction_that_sampling_misses():
    """f(X) = ½⟨X − M, H(X − M)⟩ with H = I except one negative eigenvalue along a rank-1 direction: α ≤ −0.5
    (attained along that direction), the minimiser gets there, and its point is feasible (rank ≤ r, within D)."""
    from lora_companion.restricted import hessian_min_eig, minimize_rsc_quotient
    m, n = 6, 5
    M = _low_rank(m, n, 5)
    u = torch.zeros(m, n, dtype=torch.float64)
    u[0, 0] = 1.0
    f = lambda X: 0.5 * ((X - M).square().sum() - 1.5 * ((X - M) * u).sum() ** 2)  # noqa: E731
    assert abs(hessian_min_eig(f, M) + 0.5) < 1e-10
    b = minimize_rsc_quotient(f, M, 2, 1.0, _gen(6))
    assert b.alpha_upper < 0 and b.alpha_upper >= -0.5 - 1e-9
    assert torch.linalg.matrix_rank(b.X) <= 2 and b.dist <= 1.0
    mc = estimate_constants(f, M, 2, 1.0, 200, _gen(7))
    assert mc.alpha > b.alpha_upper


def test_minimised_quotient_cannot_go_below_a_convex_bound():
    from lora_companion.restricted import minimize_rsc_quotient
    M = _low_rank(5, 4, 8)
    b = minimize_rsc_quotient(lambda X: 1.25 * (X - M).square().sum(), M, 2, 1.0, _gen(9), steps=50)
    assert abs(b.alpha_upper - 2.5) < 1e-9
