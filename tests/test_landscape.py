"""Tests of lora_companion.landscape against closed forms and brute force."""
import math

import pytest
import torch

from lora_companion.landscape import (Certificate, is_sosp, lanczos_min_eig, nuclear_certificate, relative_gap,
                                      solve_nuclear, sosp_certificate)
from lora_companion.linalg import nuclear_norm, svt



@pytest.fixture(autouse=True)
def float64_default():
    """These tests build tensors in float64; restore the default afterwards so other test files see float32."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("accelerated", [True, False])
def test_solver_denoising_closed_form(accelerated):
    """½‖X − M‖² + λ‖X‖_* is solved by svt(M, λ) (Cai, Candès, Shen 2010); λ may differ per run."""
    M = torch.randn(4, 6, 5, generator=gen())
    lam = torch.tensor([0.1, 0.5, 1.0, 5.0])
    sol = solve_nuclear(lambda X: 0.5 * (X - M).square().sum((-2, -1)), M.shape, lam, lipschitz=1.0,
                        accelerated=accelerated)
    assert sol.converged.all()
    torch.testing.assert_close(sol.X, svt(M, lam), atol=1e-9, rtol=0)
    expected = 0.5 * (svt(M, lam) - M).square().sum((-2, -1)) + lam * nuclear_norm(svt(M, lam))
    torch.testing.assert_close(sol.objective, expected)


def test_solver_orthogonal_design():
    """½‖QX − Y‖² with Q orthogonal: the minimizer is svt(QᵀY, λ); a slow problem for FISTA's restart logic."""
    Q = torch.linalg.qr(torch.randn(3, 7, 7, generator=gen(1))).Q
    Y = torch.randn(3, 7, 4, generator=gen(2))
    loss = lambda X: 0.5 * (Q @ X - Y).square().sum((-2, -1))  # noqa: E731
    sol = solve_nuclear(loss, (3, 7, 4), 0.7, lipschitz=1.0, record_every=5)
    torch.testing.assert_close(sol.X, svt(Q.mT @ Y, 0.7), atol=1e-8, rtol=0)
    assert sol.history is not None and sol.history.shape[1] == 3


def test_solver_least_squares_design_and_certificate():
    """A generic under-determined design: the solution satisfies the dual certificate, perturbations break it."""
    m, n, N, B = 6, 5, 12, 3
    G = torch.randn(B, N, m, n, generator=gen(3))
    y = torch.randn(B, N, generator=gen(4))
    loss = lambda X: 0.5 / N * (torch.einsum("bimn,bmn->bi", G, X) - y).square().sum(1)  # noqa: E731
    L = torch.linalg.matrix_norm(G.reshape(B, N, -1), ord=2) ** 2 / N
    lam = 0.05
    sol = solve_nuclear(loss, (B, m, n), lam, lipschitz=L, tol=1e-11, max_iter=20000)
    assert sol.converged.all()
    cert = nuclear_certificate(loss, sol.X, lam)
    assert cert.holds(1e-6).all()
    # random perturbations never lower the objective
    E = torch.randn(B, 50, m, n, generator=gen(5)) * 1e-4
    obj = lambda X: loss(X) + lam * nuclear_norm(X)  # noqa: E731
    pert = torch.vmap(obj, in_dims=1, out_dims=1)(sol.X[:, None] + E)
    assert (pert >= sol.objective[:, None] - 1e-12).all()
    # the zero matrix is not optimal here: the certificate says so
    assert not nuclear_certificate(loss, torch.zeros_like(sol.X), lam).holds(1e-6).any()
    assert not nuclear_certificate(loss, 1.1 * sol.X, lam).holds(1e-6).any()


def test_solver_rejects_bad_input():
    with pytest.raises(ValueError):
        solve_nuclear(lambda X: X.sum((-2, -1)), (1, 2, 2), -1.0, lipschitz=1.0)
    with pytest.raises(ValueError):
        solve_nuclear(lambda X: X.sum((-2, -1)), (1, 2, 2), 1.0, lipschitz=0.0)


def scalar_lora(p):
    """F(u, v) = ½(uv − 1)² + (λ/2)(u² + v²) with λ = 0.5, per run (u, v scalars stored as (B, 1))."""
    u, v = p["u"][:, 0], p["v"][:, 0]
    return 0.5 * (u * v - 1) ** 2 + 0.25 * (u ** 2 + v ** 2)


def test_sosp_exact_closed_form():
    """At the origin ∇F = 0 and ∇²F = [[λ, −1], [−1, λ]]: min eig λ − 1 = −0.5 (a strict saddle).
    At the global minimum u = v = √(1 − λ) the Hessian is PSD."""
    a = math.sqrt(0.5)
    p = {"u": torch.tensor([[0.0], [a], [1.0]]), "v": torch.tensor([[0.0], [a], [2.0]])}
    cert = sosp_certificate(scalar_lora, p)
    assert cert.method == "exact"
    torch.testing.assert_close(cert.grad_norm[:2], torch.zeros(2), atol=1e-12, rtol=0)
    torch.testing.assert_close(cert.min_eig[0], torch.tensor(-0.5))
    # at (a, a): H = [[v² + λ, 2uv − 1], [2uv − 1, u² + λ]] = [[1, 0], [0, 1]]
    torch.testing.assert_close(cert.min_eig[1], torch.tensor(1.0))
    # gradient at (1, 2): ((uv−1)v + λu, (uv−1)u + λv) = (2.5, 2.0)
    torch.testing.assert_close(cert.grad_norm[2], torch.tensor(math.hypot(2.5, 2.0)))
    assert is_sosp(cert, 1e-8, 1e-8).tolist() == [False, True, False]


def lora_objective(G, y, lam):
    """Matrix-sensing LoRA objective ½N⁻¹Σ(⟨G_i, UVᵀ⟩ − y_i)² + (λ/2)(‖U‖² + ‖V‖²), batched over runs."""
    def F(p):
        d = p["U"] @ p["V"].mT
        res = torch.einsum("imn,bmn->bi", G, d) - y
        return 0.5 * res.square().mean(1) + 0.5 * lam * (p["U"].square().sum((1, 2)) + p["V"].square().sum((1, 2)))
    return F


def brute_force(F, p):
    """Gradient norm and min Hessian eigenvalue by central finite differences of F (run by run)."""
    names = list(p)
    flat = torch.cat([p[k].reshape(p[k].shape[0], -1) for k in names], 1)
    sizes = [p[k][0].numel() for k in names]

    def f(x):
        parts = torch.split(x, sizes, 1)
        return F({k: q.reshape(p[k].shape) for k, q in zip(names, parts)})

    d, h = flat.shape[1], 1e-4
    E = torch.eye(d)
    g = torch.stack([(f(flat + h * E[j]) - f(flat - h * E[j])) / (2 * h) for j in range(d)], 1)
    H = torch.stack([torch.stack([(f(flat + h * (E[i] + E[j])) - f(flat + h * (E[i] - E[j]))
                                   - f(flat - h * (E[i] - E[j])) + f(flat - h * (E[i] + E[j]))) / (4 * h * h)
                                  for j in range(d)], 1) for i in range(d)], 1)
    return g.norm(dim=1), torch.linalg.eigvalsh((H + H.mT) / 2)[:, 0]


def test_sosp_exact_vs_brute_force():
    m, n, r, N = 3, 2, 2, 4
    G = torch.randn(N, m, n, generator=gen(6))
    y = torch.randn(N, generator=gen(7))
    F = lora_objective(G, y, 0.1)
    p = {"U": torch.randn(2, m, r, generator=gen(8)), "V": torch.randn(2, n, r, generator=gen(9))}
    p["U"][1] = 0  # U = V = 0 is a stationary point
    p["V"][1] = 0
    cert = sosp_certificate(F, p)
    g_bf, e_bf = brute_force(F, p)
    torch.testing.assert_close(cert.grad_norm, g_bf, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(cert.min_eig, e_bf, atol=1e-5, rtol=1e-5)
    assert cert.grad_norm[1] == 0


def test_lanczos_matches_exact_on_medium_problem():
    m, n, r, N = 12, 10, 4, 30  # d = 88 per run
    G = torch.randn(N, m, n, generator=gen(10))
    y = torch.randn(N, generator=gen(11))
    F = lora_objective(G, y, 0.05)
    p = {"U": 0.3 * torch.randn(3, m, r, generator=gen(12)), "V": 0.3 * torch.randn(3, n, r, generator=gen(13))}
    exact = sosp_certificate(F, p)
    full = sosp_certificate(F, p, exact_max_dim=0, lanczos_steps=1000)  # steps = d: exact Krylov space
    short = sosp_certificate(F, p, exact_max_dim=0, lanczos_steps=60)
    assert exact.method == "exact" and full.method == "lanczos"
    torch.testing.assert_close(full.min_eig, exact.min_eig, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(short.min_eig, exact.min_eig, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(full.grad_norm, exact.grad_norm)


def test_lanczos_breakdown():
    """An operator with 3 distinct eigenvalues: the Krylov space is invariant after 3 steps; the restart keeps
    the smallest Ritz value exact."""
    diag = torch.tensor([[-2.0] * 5 + [1.0] * 5 + [3.0] * 5, [4.0] * 15])
    v0 = torch.ones(2, 15)
    got = lanczos_min_eig(lambda v: diag * v, v0, steps=15, gen=gen(14))
    torch.testing.assert_close(got, torch.tensor([-2.0, 4.0]))


def test_is_sosp_and_gap():
    cert = Certificate(grad_norm=torch.tensor([1e-9, 1e-3, 1e-9]), min_eig=torch.tensor([0.0, 1.0, -1e-2]),
                       method="exact")
    assert is_sosp(cert, 1e-6, 1e-6).tolist() == [True, False, False]
    torch.testing.assert_close(relative_gap(torch.tensor([2.0]), torch.tensor([1.0])), torch.tensor([1.0]))
