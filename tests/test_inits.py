"""LoRA-One and the inits it is compared with (Zhang, Liu, Chen 2025, Algorithm 1 and Section 5)."""
import torch

from lora_companion import inits
from lora_companion.linalg import subspace_distance

g = torch.Generator().manual_seed(0)


def rand(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def test_spectral_init_is_truncated_gradient_step():
    G = rand(3, 10, 7)
    A, B = inits.spectral_init(G, 4, gamma=2.0)
    U, S, Vh = torch.linalg.svd(G, full_matrices=False)
    P4 = U[..., :4] * S[..., None, :4] @ Vh[..., :4, :]
    assert A.shape == (3, 10, 4) and B.shape == (3, 4, 7)
    assert torch.allclose(A @ B, 2.0 * P4, atol=1e-12)
    # √S on both factors: balanced Gram matrices
    assert torch.allclose(A.mT @ A, B @ B.mT, atol=1e-12)


def test_lora_one_init_sign_and_normalization():
    grad = rand(2, 8, 6)
    A, B = inits.lora_one_init(grad, 3, s=16.0)
    G = -grad
    U, S, Vh = torch.linalg.svd(G, full_matrices=False)
    expected = (U[..., :3] * S[..., None, :3] @ Vh[..., :3, :]) / (16.0 * S[..., :1, None])
    assert torch.allclose(A @ B, expected, atol=1e-12)
    # a descent direction: ⟨A B, −grad⟩ > 0
    assert ((A @ B) * G).sum((-2, -1)).min() > 0


def test_vanilla_init_shapes_and_zero_update():
    A, B = inits.vanilla_init(9, 5, 2, alpha=0.1, batch=(4,), generator=g)
    assert A.shape == (4, 9, 2) and B.shape == (4, 2, 5) and (B == 0).all()


def test_lora_ga_subtracts_and_uses_wrong_block():
    G, W = rand(12, 10), rand(12, 10)
    A, B, W_new = inits.lora_ga_init(G, W, 3)
    assert torch.allclose(W_new + A @ B, W, atol=1e-12)          # model unchanged at step 0
    U, _, Vh = torch.linalg.svd(G, full_matrices=False)
    assert subspace_distance(A, U[:, :3]) < 1e-6                   # A: top-r left block (arccos near 1)
    assert subspace_distance(B.mT, Vh[3:6].mT) < 1e-6              # B: right block r+1..2r


def test_lora_sb_and_pissa():
    G, W = rand(8, 8), rand(8, 8)
    U, R, Vh = inits.lora_sb_init(G, 3)
    Ug, S, Vg = torch.linalg.svd(G)
    assert torch.allclose(U @ R @ Vh, Ug[:, :3] * S[:3] @ Vg[:3], atol=1e-12)
    A, B, res = inits.pissa_init(W, 3)
    assert torch.allclose(res + A @ B, W, atol=1e-12)
    assert torch.linalg.matrix_rank(A @ B) == 3
