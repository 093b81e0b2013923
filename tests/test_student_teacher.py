import math

import torch

from lora_companion import hermite
from lora_companion import student_teacher as st


def _problem(acts, d=12, k=3, gen=None, dims=None):
    gen = gen or torch.Generator().manual_seed(0)
    R = len(acts)
    mask = st.dim_mask(dims or [d] * R)
    W0 = st.orthonormal_rows(R, k, mask, gen) / math.sqrt(2)
    return st.Problem(W0=W0, a=torch.full((R, k), k ** -0.5, dtype=torch.float64), u_star=torch.ones(R, k, dtype=torch.float64),
                      v_star=st.unit_vectors(R, mask, gen), xi=torch.full((R,), 2 ** -0.5, dtype=torch.float64),
                      mask=mask, act=st.Activations(acts)), gen


def test_gradient_matches_autograd():
    P, gen = _problem(["relu", "tanh", "he3", "he4"])
    x = P.sample(5, gen)
    y = P.teacher(x)
    W = (P.W0 + 0.3 * torch.randn(P.W0.shape, generator=gen, dtype=torch.float64)).requires_grad_(True)
    loss, g = st.loss_and_grad(W.detach(), P.a, x, y, P.act)
    (auto,) = torch.autograd.grad((0.5 * (st.forward(W, P.a, x, P.act) - y).square().mean(-1)).sum(), W)
    assert torch.allclose(g, auto, atol=1e-10)
    assert torch.allclose(loss, 0.5 * (st.forward(W.detach(), P.a, x, P.act) - y).square().mean(-1))


def test_masked_dimensions_stay_in_subspace():
    P, gen = _problem(["relu", "he2"], dims=[6, 12])
    assert (P.W0[0, :, 6:] == 0).all() and (P.v_star[0, 6:] == 0).all()
    tr = st.online_sgd(P, "sphere", steps=20, batch=4, lr=0.01, gen=gen)
    assert not tr.failed.any()
    assert torch.allclose(P.dims, torch.tensor([6.0, 12.0], dtype=torch.float64))


def test_sphere_sgd_recovers_and_stays_on_sphere():
    P, gen = _problem(["relu"] * 2, d=16)
    tr = st.online_sgd(P, "sphere", steps=400, batch=8, lr=0.05 * 8 / 16, gen=gen, record_every=50)
    assert tr.overlap[-1].min() > 0.95


def test_hitting_time_and_censoring():
    samples = torch.tensor([0.0, 10, 20, 30])
    vals = torch.tensor([[0.1, 0.1, 0.1], [0.5, 0.2, float("nan")], [0.96, 0.3, 0.99], [0.97, 0.4, 0.99]])
    T = st.hitting_time(samples, vals, 0.95)
    assert T[0] == 20 and math.isinf(T[1]) and T[2] == 20
    assert st.hitting_time(samples, -vals, -0.2, above=False)[1] == 10
    assert math.isinf(st.censored_median(torch.tensor([1.0, float("inf"), float("inf")])))
    assert st.censored_median(torch.tensor([1.0, 3.0, float("inf")])) == 3.0


def test_kernel_predictor_exact_on_linear_in_W_target():
    P, gen = _problem(["tanh", "he3"], d=6, k=2)
    X = P.sample(200, gen)
    delta = 0.5 * torch.randn(P.W0.shape, generator=gen, dtype=torch.float64)
    y = st.kernel_predict(P.W0, P.a, P.act, delta, X)          # f_{W0} + ⟨∇f, δ⟩: linear in W
    fit = st.kernel_fit(P.W0, P.a, P.act, X, y, ridge=0.0, chunk=64)
    assert torch.allclose(fit, delta, atol=1e-8)
    x_new = P.sample(50, gen)
    assert torch.allclose(st.kernel_predict(P.W0, P.a, P.act, fit, x_new),
                          st.kernel_predict(P.W0, P.a, P.act, delta, x_new), atol=1e-8)


def test_kernel_features_are_the_jacobian():
    """The closed-form NTK features equal torch.func's Jacobian of f_{W0} in W, run by run."""
    from lora_companion.linearize import jacobian_features
    P, gen = _problem(["relu", "tanh", "he3", "he4"], dims=[5, 12, 12, 8])
    x = P.sample(7, gen)
    G = st.kernel_features(P.W0, P.a, P.act, x)
    for r in range(4):
        one = P.act.take(slice(r, r + 1))
        f = lambda W, xi: st.forward(W[None], P.a[r:r + 1], xi[None, None], one)[0]   # noqa: E731
        assert torch.allclose(G[r], jacobian_features(f, P.W0[r], x[r]).flatten(1), atol=1e-12)


def test_grouped_activations_equal_the_onehot_mixture():
    """Evaluating each σ_j only on its own runs gives Σ_j onehot[r, j] σ_j(z[r]) exactly."""
    act = st.Activations(["he3", "relu", "he3", "tanh", "he4", "relu"])
    z = torch.randn(6, 5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for which in (0, 1):
        mix = sum(act.onehot[:, j].view(-1, 1, 1) * hermite.FUNCTIONS[n][which](z) for j, n in enumerate(act.names))
        assert torch.equal(act._mix(z, which), mix)
        assert torch.equal(act.take(torch.tensor([4, 1]))._mix(z[[4, 1]], which), mix[[4, 1]])


def test_factored_gradients_match_autograd():
    P, gen = _problem(["relu", "tanh", "he3", "he4"], dims=[5, 12, 12, 8])
    x = torch.randn(4, 6, 12, generator=gen, dtype=torch.float64)       # unmasked: the closed form ignores the rest
    u = torch.randn(4, 3, generator=gen, dtype=torch.float64).requires_grad_(True)
    v = (st.unit_vectors(4, P.mask, gen) + 0.1).mul(P.mask).requires_grad_(True)
    loss, gu, gv = st.factored_grads(P, u.detach(), v.detach(), x)
    xm = x * P.mask[:, None, :]
    W = P.W0 + u[:, :, None] * v[:, None, :]
    auto_loss = 0.5 * (st.forward(W, P.a, xm, P.act) - P.teacher(xm)).square().mean(-1)
    au, av = torch.autograd.grad(auto_loss.sum(), (u, v))
    assert torch.allclose(loss, auto_loss.detach(), atol=1e-12)
    assert torch.allclose(gu, au, atol=1e-10) and torch.allclose(gv, av * P.mask, atol=1e-10)


def test_budget_stops_runs_past_their_budget():
    P, gen = _problem(["relu"] * 3, d=10)
    v0 = st.unit_vectors(3, P.mask, torch.Generator().manual_seed(1))
    full = st.online_sgd(P, "sphere", steps=30, batch=4, lr=0.05, gen=torch.Generator().manual_seed(2), v_init=v0)
    cut = st.online_sgd(P, "sphere", steps=30, batch=4, lr=0.05, gen=torch.Generator().manual_seed(2), v_init=v0,
                        budget=torch.tensor([40.0, 120.0, 120.0]))
    assert torch.isnan(cut.overlap[11:, 0]).all() and torch.isfinite(cut.overlap[:11, 0]).all()
    assert torch.isfinite(cut.overlap[:, 1:]).all() and not cut.failed.any()
    with torch.no_grad():
        assert torch.equal(cut.samples, full.samples)


def test_recorded_test_error_matches_the_final_weights():
    P, gen = _problem(["relu", "he3"], d=10)
    x_test = P.sample(64, gen)
    for mode in ("sphere", "lora", "full"):
        tr = st.online_sgd(P, mode, steps=15, batch=4, lr=0.05, gen=gen, x_test=x_test, record_every=5)
        y = P.teacher(x_test)
        direct = (st.forward(tr.W, P.a, x_test, P.act) - y).square().mean(-1) / y.var(-1)
        assert torch.allclose(tr.mse[-1], direct, atol=1e-12)
