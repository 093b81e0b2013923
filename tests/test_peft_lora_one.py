"""LoRA-One for Hugging Face PEFT models (lora_companion.hf): Linear, Conv1D, rsLoRA, save/load, optimizer."""
import pytest
import torch
from torch import nn

peft = pytest.importorskip("peft")
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402
from transformers.pytorch_utils import Conv1D  # noqa: E402

from lora_companion import hf, inits  # noqa: E402

R, S = 2, 8.0
# PEFT corrects fan_in_fan_out per layer type (Linear vs Conv1D) with a warning; the tests set it for Conv1D
pytestmark = pytest.mark.filterwarnings("ignore:fan_in_fan_out is set")


class Net(nn.Module):
    """Two adaptable layers: an nn.Linear and a GPT-2 style Conv1D (weight stored in×out)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 8)
        self.conv = Conv1D(5, 8)   # nf = 5 outputs, nx = 8 inputs; weight (8, 5)
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        return self.head(torch.tanh(self.conv(torch.tanh(self.fc(x)))))


def _setup(targets, rslora=False, alpha=4.0, fan_in_fan_out=False, seed=0):
    torch.manual_seed(seed)
    base = Net().double()
    X, y = torch.randn(4, 16, 6, dtype=torch.float64), torch.randint(0, 3, (4, 16))
    batches = list(zip(X, y))
    loss_fn = lambda m, b: nn.functional.cross_entropy(m(b[0]), b[1])  # noqa: E731
    # the reference gradient of the un-adapted model, averaged over the batches
    ref = Net().double()
    ref.load_state_dict(base.state_dict())
    cfg = LoraConfig(r=R, lora_alpha=alpha, target_modules=targets, use_rslora=rslora,
                     fan_in_fan_out=fan_in_fan_out, init_lora_weights=True)
    model = get_peft_model(base, cfg)
    return model, ref, batches, loss_fn


def _ref_grad(ref, batches, loss_fn, name):
    w = ref.get_submodule(name).weight
    g = sum(torch.autograd.grad(loss_fn(ref, b), w)[0] for b in batches) / len(batches)
    return g.mT if name == "conv" else g          # (out×in)


def _layer(model, name):
    return model.base_model.model.get_submodule(name)


def test_linear_matches_inits_lora_one_init_and_keeps_base():
    model, ref, batches, loss_fn = _setup(["fc"])
    W0 = _layer(model, "fc").get_base_layer().weight.clone()
    hf.initialize_lora_one_weights(model, batches, loss_fn, s=S)
    layer = _layer(model, "fc")
    G = _ref_grad(ref, batches, loss_fn, "fc")
    left, right = inits.lora_one_init(G, R, S)                   # paper's A₀B₀ = P_r(−G)/(s σ₁)
    update = hf.effective_update(layer)
    assert torch.allclose(update, left @ right, atol=1e-12)
    assert torch.linalg.matrix_rank(update) == R
    sin_u, sin_v = hf.top_subspace_distance(update, G, R)
    assert sin_u < 1e-8 and sin_v < 1e-8
    assert torch.equal(layer.get_base_layer().weight, W0)         # base unchanged
    assert not layer.get_base_layer().weight.requires_grad        # flags restored


def test_conv1d_fan_in_fan_out():
    model, ref, batches, loss_fn = _setup(["conv"], fan_in_fan_out=True)
    hf.initialize_lora_one_weights(model, batches, loss_fn, s=S)
    layer = _layer(model, "conv")
    G = _ref_grad(ref, batches, loss_fn, "conv")                 # (out×in) = (5×8)
    left, right = inits.lora_one_init(G, R, S)
    assert layer.lora_A["default"].weight.shape == (R, 8) and layer.lora_B["default"].weight.shape == (5, R)
    assert torch.allclose(hf.effective_update(layer), left @ right, atol=1e-12)
    # the adapted forward pass is the base layer with W + ΔW (PEFT's own merge agrees)
    x = torch.randn(3, 8, dtype=torch.float64)
    W = layer.get_base_layer().weight                             # (in×out)
    expect = x @ (W + (left @ right).mT) + layer.get_base_layer().bias
    assert torch.allclose(layer(x), expect, atol=1e-12)


@pytest.mark.parametrize("alpha", [1.0, 16.0])
def test_rslora_gives_the_same_effective_update(alpha):
    plain, _, batches, loss_fn = _setup(["fc", "conv"], fan_in_fan_out=True)
    rs, _, _, _ = _setup(["fc", "conv"], rslora=True, alpha=alpha, fan_in_fan_out=True)
    hf.initialize_lora_one_weights(plain, batches, loss_fn, s=S)
    hf.initialize_lora_one_weights(rs, batches, loss_fn, s=S)
    for name in ("fc", "conv"):
        assert _layer(rs, name).scaling["default"] == pytest.approx(alpha / R ** 0.5)
        assert torch.allclose(hf.effective_update(_layer(rs, name)), hf.effective_update(_layer(plain, name)),
                              atol=1e-12)


def test_without_scaling_account_the_official_step_is_scaled():
    a, _, batches, loss_fn = _setup(["fc"], alpha=6.0)
    b, _, _, _ = _setup(["fc"], alpha=6.0)
    hf.initialize_lora_one_weights(a, batches, loss_fn, s=S)
    hf.initialize_lora_one_weights(b, batches, loss_fn, s=S, account_for_scaling=False)
    scaling = _layer(a, "fc").scaling["default"]
    assert torch.allclose(hf.effective_update(_layer(b, "fc")), scaling * hf.effective_update(_layer(a, "fc")))


def test_one_spectral_step_lowers_the_loss_and_lowrank_svd_agrees():
    model, ref, batches, loss_fn = _setup(["fc", "conv"], fan_in_fan_out=True)
    low, _, _, _ = _setup(["fc", "conv"], fan_in_fan_out=True)
    before = sum(loss_fn(ref, b) for b in batches).item()
    hf.initialize_lora_one_weights(model, batches, loss_fn, s=1.0)
    hf.initialize_lora_one_weights(low, batches, loss_fn, s=1.0, svd="lowrank", niter=8)
    assert sum(loss_fn(model, b) for b in batches).item() < before
    for name in ("fc", "conv"):
        assert torch.allclose(hf.effective_update(_layer(low, name)), hf.effective_update(_layer(model, name)),
                              atol=1e-8)


def test_save_pretrained_round_trip(tmp_path):
    model, ref, batches, loss_fn = _setup(["fc", "conv"], fan_in_fan_out=True)
    hf.initialize_lora_one_weights(model, batches, loss_fn, s=S)
    x = batches[0][0]
    out = model(x)
    model.save_pretrained(tmp_path)
    fresh = Net().double()
    fresh.load_state_dict(ref.state_dict())
    loaded = PeftModel.from_pretrained(fresh, tmp_path)
    assert torch.allclose(loaded(x), out, atol=1e-12)
    for name in ("fc", "conv"):
        assert torch.allclose(hf.effective_update(_layer(loaded, name)), hf.effective_update(_layer(model, name)))


def test_scaled_adamw_pairs_by_name_and_preconditions():
    model, _, batches, loss_fn = _setup(["fc", "conv"], fan_in_fan_out=True)
    hf.initialize_lora_one_weights(model, batches, loss_fn, s=S)
    pairs = hf.lora_pairs(model)
    layers = hf.lora_modules(model)
    assert [(id(b), id(a)) for b, a in pairs] == [
        (id(layers[n].lora_B["default"].weight), id(layers[n].lora_A["default"].weight)) for n in sorted(layers)]
    B, A = pairs[0]
    B0, A0 = B.detach().clone(), A.detach().clone()
    opt = hf.scaled_adamw(model, lr=1e-3, damping=0.0)
    loss_fn(model, batches[0]).backward()
    gB = B.grad @ torch.linalg.inv(A0 @ A0.mT)                   # ∇_B (AAᵀ)⁻¹
    gA = torch.linalg.inv(B0.mT @ B0) @ A.grad                   # (BᵀB)⁻¹ ∇_A
    opt.step()
    # first Adam step: θ ← θ − η g/(|g| + ε), elementwise
    assert torch.allclose(B, B0 - 1e-3 * gB / (gB.abs() + 1e-8), atol=1e-10)
    assert torch.allclose(A, A0 - 1e-3 * gA / (gA.abs() + 1e-8), atol=1e-10)


def test_bad_input_names_the_parameter():
    model, _, batches, loss_fn = _setup(["fc"])
    with pytest.raises(ValueError, match="adapter_name"):
        hf.initialize_lora_one_weights(model, batches, loss_fn, adapter_name="other")
    with pytest.raises(ValueError, match="batches"):
        hf.initialize_lora_one_weights(model, [], loss_fn)
    with pytest.raises(ValueError, match="svd"):
        hf.initialize_lora_one_weights(model, batches, loss_fn, svd="exact")
    with pytest.raises(ValueError, match="lr"):
        hf.scaled_adamw(model, lr=0.0)
