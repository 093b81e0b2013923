"""The home-made LoRA (lora_companion.lora_linear) on an ordinary nn.Module, with PEFT shapes."""
import pytest
import torch
from torch import nn

from lora_companion import inits
from lora_companion.lora_linear import LoRALinear, apply_lora, base_gradients, lora_layers


def _model_and_batch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    X, y = torch.randn(16, 6, dtype=torch.float64), torch.randint(0, 3, (16,))
    return model, lambda m: nn.functional.cross_entropy(m(X), y)


def test_vanilla_lora_shapes_frozen_and_identity_at_init():
    model, loss = _model_and_batch()
    before = loss(model).item()
    apply_lora(model, 2, alpha=4.0)
    layers = lora_layers(model)
    assert set(layers) == {"0", "2"}
    assert layers["0"].lora_A.shape == (2, 6) and layers["0"].lora_B.shape == (8, 2)
    assert layers["0"].scaling == 2.0
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"0.lora_A", "0.lora_B", "2.lora_A", "2.lora_B"}
    assert loss(model).item() == before


def test_lora_one_is_algorithm_1_and_keeps_base():
    model, loss = _model_and_batch()
    W = {n: m.weight.clone() for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    ref = apply_lora(_model_and_batch()[0], 2, alpha=2.0)
    grads = base_gradients(ref, loss)
    apply_lora(model, 2, alpha=2.0, init="lora_one", loss_fn=loss, s=8.0)
    for name, layer in lora_layers(model).items():
        assert torch.equal(layer.base.weight, W[name])                     # base unchanged
        B, A = inits.lora_one_init(grads[name], 2, 8.0)
        assert torch.allclose(layer.delta(), layer.scaling * B @ A, atol=1e-12)
    # a small step along −∇: the loss goes down
    assert loss(model).item() < loss(ref).item()


def test_lora_ga_model_unchanged_at_step_zero():
    model, loss = _model_and_batch()
    before = loss(model).item()
    apply_lora(model, 1, alpha=1.0, init="lora_ga", loss_fn=loss)  # 2r ≤ 3 outputs
    assert abs(loss(model).item() - before) < 1e-12
    assert all(layer.delta().abs().max() > 0 for layer in lora_layers(model).values())


def test_bad_input():
    model, loss = _model_and_batch()
    with pytest.raises(ValueError, match="init"):
        apply_lora(model, 2, 2.0, init="pissa")
    with pytest.raises(ValueError, match="loss_fn"):
        apply_lora(model, 2, 2.0, init="lora_one")
    with pytest.raises(ValueError, match="r=9"):
        LoRALinear(nn.Linear(6, 8), 9, 1.0)
