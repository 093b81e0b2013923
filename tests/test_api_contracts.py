"""API contracts (issue 13.5): every public function of the mathematical core refuses nonsense at its entry with a
ValueError whose message names the argument — never an empty factor, a NaN, or a torch shape error from inside."""
import math

import pytest
import torch

from lora_companion import inits, landscape, linalg, optim
from lora_companion.lora import LoRAFactors

D = torch.float64
M = torch.randn(5, 4, generator=torch.Generator().manual_seed(0), dtype=D)
Z = torch.zeros(5, 4, dtype=D)
P = [torch.zeros(2, 3, 1, dtype=D, requires_grad=True), torch.zeros(2, 1, 3, dtype=D, requires_grad=True)]
QUAD = lambda X: X.square().sum((-2, -1))  # noqa: E731
CERT = landscape.Certificate(grad_norm=torch.zeros(1), min_eig=torch.zeros(1), method="exact")

BAD = [
    # (call, argument named in the message)
    (lambda: linalg.balanced_factors(M, 0), "r"),
    (lambda: linalg.balanced_factors(M, 5), "r"),
    (lambda: linalg.balanced_factors([[1.0]], 1), "M"),
    (lambda: LoRAFactors.balanced(M, -1), "r"),
    (lambda: linalg.orthonormal_basis(M, 0), "k"),
    (lambda: linalg.svt(M, -0.1), "tau"),
    (lambda: linalg.svt(M, math.nan), "tau"),
    (lambda: linalg.subspace_distance(M[:, :2], M[:, :3]), "X and Y"),
    (lambda: linalg.principal_angles(M, M[:4]), "X and Y"),
    (lambda: inits.spectral_init(Z, 2), "G"),
    (lambda: inits.spectral_init(M, 2, gamma=0.0), "gamma"),
    (lambda: inits.spectral_init(M, 9), "r"),
    (lambda: inits.spectral_init(torch.ones(4), 1), "G"),
    (lambda: inits.lora_one_init(Z, 2), "G"),
    (lambda: inits.lora_one_init(M, 2, s=-1.0), "s"),
    (lambda: inits.vanilla_init(5, 4, 2, alpha=-1.0), "alpha"),
    (lambda: inits.vanilla_init(5, 4, 0, alpha=1.0), "r"),
    (lambda: inits.lora_ga_init(M, M[:4], 1), "W"),
    (lambda: inits.lora_ga_init(M, M, 1, scale=0.0), "scale"),
    (lambda: inits.lora_ga_init(M, M, 3), "2r"),
    (lambda: inits.lora_sb_init(M, 0), "r"),
    (lambda: inits.pissa_init("W", 1), "W"),
    (lambda: LoRAFactors.standard_init(5, 4, 2, std=-1.0), "std"),
    (lambda: LoRAFactors(B=torch.zeros(5, 2), A=torch.zeros(3, 4)), "rank mismatch"),
    (lambda: optim.GD(P, lr=-0.1), "lr"),
    (lambda: optim.GD(P, lr=torch.tensor([0.1, math.inf])), "lr"),
    (lambda: optim.PreconditionedGD(P, lr=0.1, damping=-1.0), "damping"),
    (lambda: optim.PreconditionedAdam(P, lr=0.1, betas=(0.9, 1.0)), "betas"),
    (lambda: optim.PreconditionedAdam(P, lr=0.1, eps=0.0), "eps"),
    (lambda: landscape.solve_nuclear(QUAD, (1, 3, 3), 0.1, lipschitz=0.0), "lipschitz"),
    (lambda: landscape.solve_nuclear(QUAD, (1, 3, 3), -0.1, lipschitz=2.0), "lam"),
    (lambda: landscape.solve_nuclear(QUAD, (1, 0, 3), 0.1, lipschitz=2.0), "shape"),
    (lambda: landscape.solve_nuclear(QUAD, (1, 3), 0.1, lipschitz=2.0), "shape"),
    (lambda: landscape.solve_nuclear(QUAD, (1, 3, 3), 0.1, lipschitz=2.0, max_iter=0), "max_iter"),
    (lambda: landscape.nuclear_certificate(QUAD, M[None], 0.0), "lam"),
    (lambda: landscape.lanczos_min_eig(lambda v: v, torch.ones(3), 5), "v0"),
    (lambda: landscape.lanczos_min_eig(lambda v: v, torch.ones(1, 3), 0), "steps"),
    (lambda: landscape.sosp_certificate(lambda p: p["a"].sum(-1), {"a": torch.ones(1, 2)}, lanczos_steps=0),
     "lanczos_steps"),
    (lambda: landscape.is_sosp(CERT, -1e-6, 1e-6), "grad_tol"),
]


@pytest.mark.parametrize("call, name", BAD, ids=[f"{i}-{n}" for i, (_, n) in enumerate(BAD)])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert str(err.value).startswith(name) or f"{name} " in str(err.value) or f"{name}=" in str(err.value), err.value


def test_valid_calls_pass_the_same_checks():
    """The checks reject nothing that is well-formed: one valid call of each function above."""
    B, A = linalg.balanced_factors(M, 2)
    assert B.shape == (5, 2) and A.shape == (2, 4)
    assert LoRAFactors.balanced(M, 4).delta().allclose(M)
    assert linalg.orthonormal_basis(M, 2).shape == (5, 2)
    assert linalg.svt(M, 0.0).allclose(M)
    assert 0 <= linalg.subspace_distance(M[:, :2], M[:, 2:]).item() <= 1
    left, right = inits.spectral_init(M, 2, gamma=0.5)
    assert torch.isfinite(left).all() and torch.isfinite(right).all()
    assert torch.isfinite(inits.lora_one_init(M, 2)[0]).all()
    assert inits.vanilla_init(5, 4, 2, alpha=0.0)[0].abs().max() == 0
    assert inits.lora_ga_init(M, M, 2)[2].shape == M.shape
    assert inits.lora_sb_init(M, 2)[1].shape == (2, 2)
    assert inits.pissa_init(M, 2)[2].shape == M.shape
    assert LoRAFactors.standard_init(5, 4, 2, std=0.0).delta().abs().max() == 0
    optim.GD(P, lr=torch.tensor([0.0, 0.1]))
    optim.PreconditionedGD(P, lr=0.1, damping=0.0)
    optim.PreconditionedAdam(P, lr=0.1)
    sol = landscape.solve_nuclear(QUAD, (1, 3, 3), 0.1, lipschitz=2.0, max_iter=20)
    assert sol.X.abs().max() == 0        # the minimizer of ‖X‖² + λ‖X‖_* is 0
    assert landscape.nuclear_certificate(QUAD, M[None], 0.1).op_ratio.shape == (1,)
    assert landscape.lanczos_min_eig(lambda v: 2 * v, torch.ones(1, 3), 3).item() == pytest.approx(2.0)
    assert landscape.is_sosp(CERT, 0.0, 0.0).all()
