import torch

from lora_companion.linearize import jacobian_features, jvp_predict, linear_predict


def test_jacobian_features_match_finite_differences(gen):
    a = torch.randn(2, 4, generator=gen, dtype=torch.float64)
    f = lambda W, x: a @ torch.tanh(W @ x)  # noqa: E731
    W0 = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    X = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    G = jacobian_features(f, W0, X)
    assert G.shape == (5, 2, 4, 3)
    h = 1e-6
    for i, j in [(0, 0), (2, 1), (3, 2)]:
        E = torch.zeros_like(W0)
        E[i, j] = h
        fd = torch.stack([(f(W0 + E, x) - f(W0 - E, x)) / (2 * h) for x in X])
        assert torch.allclose(G[:, :, i, j], fd, atol=1e-8)


def test_linear_predict_equals_jvp_and_is_exact_for_linear_models(gen):
    f = lambda W, x: W @ x  # noqa: E731  (linear in W: the linearization is exact)
    W0 = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    X = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    delta = torch.randn(2, 3, 4, generator=gen, dtype=torch.float64)
    G = jacobian_features(f, W0, X)
    lin = linear_predict(G, X @ W0.T, delta)
    assert lin.shape == (2, 6, 3)
    assert torch.allclose(lin, X @ (W0 + delta).mT)
    assert torch.allclose(jvp_predict(f, W0, X, delta[0]), lin[0])
