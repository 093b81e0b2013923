import pytest
import torch

from lora_companion.linalg import nuclear_norm
from lora_companion.lora import LoRAFactors, check_rank


def test_delta_penalty_and_balance(gen):
    f = LoRAFactors(B=torch.randn(3, 6, 2, generator=gen, dtype=torch.float64),
                    A=torch.randn(3, 2, 5, generator=gen, dtype=torch.float64), scaling=2.0)
    assert f.delta().shape == (3, 6, 5) and f.rank == 2
    assert torch.allclose(f.delta(), 2.0 * f.B @ f.A)
    assert torch.allclose(f.penalty(), 0.5 * (f.A.square().sum((1, 2)) + f.B.square().sum((1, 2))))
    g = LoRAFactors.balanced(f.delta(), 2)
    assert torch.allclose(g.delta(), f.delta())
    assert torch.allclose(g.penalty(), nuclear_norm(f.delta()))
    assert g.imbalance().max() < 1e-10 < f.imbalance().min()


def test_standard_init_starts_at_zero(gen):
    f = LoRAFactors.standard_init(8, 4, 3, batch=(5,), generator=gen)
    assert f.A.shape == (5, 3, 4) and f.B.shape == (5, 8, 3)
    assert torch.count_nonzero(f.delta()) == 0 and f.A.abs().sum() > 0


def test_shape_errors():
    with pytest.raises(ValueError, match="rank mismatch"):
        LoRAFactors(B=torch.zeros(4, 2), A=torch.zeros(3, 5))
    with pytest.raises(ValueError, match="batch mismatch"):
        LoRAFactors(B=torch.zeros(2, 4, 2), A=torch.zeros(3, 2, 5))
    with pytest.raises(ValueError, match="r=9"):
        LoRAFactors.standard_init(8, 4, 9)
    with pytest.raises(TypeError, match="r must be an int"):
        check_rank(2.0, 4, 4)
    with pytest.raises(ValueError, match="r=0"):
        check_rank(0, 4, 4)
