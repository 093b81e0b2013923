import math

import pytest
import torch

from lora_companion import hermite


def test_orthonormal_under_gaussian():
    G = torch.stack([torch.stack([hermite.gauss_expectation(lambda z, i=i, j=j: hermite.hermite(i, z) * hermite.hermite(j, z))
                                  for j in range(7)]) for i in range(7)])
    assert torch.allclose(G, torch.eye(7, dtype=G.dtype), atol=1e-10)


def test_derivative_matches_autograd():
    z = torch.linspace(-3, 3, 50, dtype=torch.float64, requires_grad=True)
    for j in range(1, 6):
        (g,) = torch.autograd.grad(hermite.hermite(j, z).sum(), z)
        assert torch.allclose(g, hermite.hermite_deriv(j, z.detach()), atol=1e-10)
    for name in ("relu", "tanh", "he3"):
        f, df = hermite.activation(name)
        (g,) = torch.autograd.grad(f(z).sum(), z)
        assert torch.allclose(g, df(z.detach()), atol=1e-10)


def test_coefficients_and_exponents():
    assert [hermite.information_exponent(a) for a in hermite.ACTIVATIONS] == [1, 1, 2, 3, 4]
    c = hermite.hermite_coefficients("he3", 5)
    assert torch.allclose(c, torch.tensor([0, 0, 0, 1.0, 0, 0], dtype=c.dtype), atol=1e-10)
    relu_closed = hermite.hermite_coefficients("relu", 6)
    relu_quad = torch.stack([hermite.gauss_expectation(lambda z, j=j: z.clamp(min=0) * hermite.hermite(j, z), 100)
                             for j in range(7)])
    assert torch.allclose(relu_closed, relu_quad, atol=3e-3)
    assert relu_closed[1].item() == 0.5 and math.isclose(relu_closed[0].item(), 1 / math.sqrt(2 * math.pi))


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        hermite.activation("gelu")
