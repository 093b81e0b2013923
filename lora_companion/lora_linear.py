"""A home-made LoRA for the ``nn.Linear`` layers of an ordinary ``torch.nn.Module`` (no PEFT dependency), with HF
PEFT's shapes; for real PEFT models see :mod:`lora_companion.hf`.

A wrapped layer computes  y = base(x) + scaling · x lora_Aᵀ lora_Bᵀ  with ``lora_A`` (r×in), ``lora_B`` (out×r),
``scaling`` = α/r (or α/√r with rsLoRA), the base weight (out×in) frozen. Initializations:

* ``"lora"``: PEFT's default, lora_A Kaiming-uniform (a = √5), lora_B = 0.
* ``"lora_one"``: Algorithm 1 of Zhang, Liu, Chen 2025 — one gradient of the loss w.r.t. every base weight on a
  small batch, then (lora_B, lora_A) = :func:`inits.lora_one_init` of it (PEFT's lora_B, lora_A are the paper's
  Bᵀ, Aᵀ; the SVD of −∇W in PEFT's out×in layout gives them directly). Base weights are unchanged, so the model
  at step 0 is W − (scaling/(s σ₁)) P_r(∇W): one truncated, normalized gradient step.
* ``"lora_ga"``: :func:`inits.lora_ga_init` on the same gradient, with its subtraction from the base weight.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from . import inits

INITS = ("lora", "lora_one", "lora_ga")


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a rank-r adapter scaling · lora_B lora_A (PEFT shapes)."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, rslora: bool = False):
        super().__init__()
        if not 1 <= r <= min(base.in_features, base.out_features):
            raise ValueError(f"r={r} must satisfy 1 ≤ r ≤ min(in, out) = {min(base.in_features, base.out_features)}")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        kw = {"dtype": base.weight.dtype, "device": base.weight.device}
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, **kw))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, **kw))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = alpha / (math.sqrt(r) if rslora else r)

    def delta(self) -> torch.Tensor:
        """The weight update scaling · lora_B lora_A (out×in)."""
        return self.scaling * self.lora_B @ self.lora_A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scaling * (x @ self.lora_A.mT) @ self.lora_B.mT


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    """The adapted layers of ``model`` by name."""
    return {n: m for n, m in model.named_modules() if isinstance(m, LoRALinear)}


def base_gradients(model: nn.Module, loss_fn: Callable[[nn.Module], torch.Tensor]) -> dict[str, torch.Tensor]:
    """∇_W L of every adapted layer's base weight (out×in) at the current model, adapters included as they are
    (with lora_B = 0 this is the gradient of the un-adapted model, Algorithm 1 line 1)."""
    layers = lora_layers(model)
    weights = [m.base.weight for m in layers.values()]
    for w in weights:
        w.requires_grad_(True)
    try:
        grads = torch.autograd.grad(loss_fn(model), weights)
    finally:
        for w in weights:
            w.requires_grad_(False)
    return dict(zip(layers, grads))


def apply_lora(model: nn.Module, r: int, alpha: float, *, init: str = "lora", rslora: bool = False,
               loss_fn: Callable[[nn.Module], torch.Tensor] | None = None, s: float = 128.0,
               ga_scale: float = 1.0, targets: Callable[[str, nn.Linear], bool] | None = None) -> nn.Module:
    """Replace (in place) every ``nn.Linear`` of ``model`` (or those with ``targets(name, layer)``) by a
    :class:`LoRALinear`, freeze everything else, initialize the adapters, and return the model.

    ``init="lora_one"`` and ``"lora_ga"`` need ``loss_fn(model) -> scalar`` on the small batch that estimates
    the full gradient; ``s`` is LoRA-One's scale (γ = 1/s), ``ga_scale`` LoRA-GA's c.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if init != "lora" and loss_fn is None:
        raise ValueError(f"init={init!r} needs loss_fn (the loss on the batch that estimates ∇W)")
    for p in model.parameters():
        p.requires_grad_(False)
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and (targets is None or targets(n, m))]
    for name in names:
        parent, _, child = name.rpartition(".")
        holder = model.get_submodule(parent) if parent else model
        setattr(holder, child, LoRALinear(getattr(holder, child), r, alpha, rslora))
    if init == "lora":
        return model
    grads = base_gradients(model, loss_fn)  # lora_B = 0 here, so this is ∇L of the pre-trained model
    with torch.no_grad():
        for name, layer in lora_layers(model).items():
            if init == "lora_one":
                B, A = inits.lora_one_init(grads[name], r, s)
            else:  # LoRA-GA is defined in the paper's (in×out) layout: its A = lora_Aᵀ, its B = lora_Bᵀ
                At, Bt, _ = inits.lora_ga_init(-grads[name].mT, layer.base.weight.mT, r, ga_scale)
                A, B = At.mT, Bt.mT
                layer.base.weight.sub_(layer.scaling * B @ A)
            layer.lora_B.copy_(B)
            layer.lora_A.copy_(A)
    return model
