"""LoRA-One for Hugging Face PEFT models: the spectral initialization and the preconditioned optimizer.

PEFT (``peft.get_peft_model``) ships LoRA-GA, PiSSA, EVA and CorDA initializations but not LoRA-One
(Zhang, Liu, Chen 2025, ICML). This module adds it, in the style of PEFT's ``initialize_lora_eva_weights``::

    from peft import LoraConfig, get_peft_model
    from lora_companion.hf import initialize_lora_one_weights, scaled_adamw

    model = get_peft_model(base_model, LoraConfig(r=8, lora_alpha=16, target_modules=["query", "value"]))
    initialize_lora_one_weights(model, batches, lambda m, b: m(**b).loss)   # Algorithm 1, base weights untouched
    opt = scaled_adamw(model, lr=2e-4)                                       # Adam on Eq. (9)'s gradients

Conventions (PEFT's): base weight W (out×in; ``fan_in_fan_out=True`` layers such as GPT-2's ``Conv1D`` store Wᵀ),
``lora_A`` (r×in), ``lora_B`` (out×r), effective update ``scaling · lora_B @ lora_A`` with scaling = α/r, or α/√r
with rsLoRA. The paper's A (input side, d×r) and B (r×k) are ``lora_Aᵀ`` and ``lora_Bᵀ``.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Callable, Iterable

import torch
from torch import nn

from . import optim

SVD_METHODS = ("full", "lowrank")


def lora_modules(model: nn.Module, adapter_name: str = "default") -> dict[str, nn.Module]:
    """Every PEFT LoRA layer of ``model`` that carries ``adapter_name``, by module name."""
    from peft.tuners.lora import LoraLayer

    found = {n: m for n, m in model.named_modules() if isinstance(m, LoraLayer) and adapter_name in m.lora_A}
    if not found:
        raise ValueError(f"adapter_name={adapter_name!r}: the model has no LoRA layer with this adapter "
                         "(build it with peft.get_peft_model)")
    return found


def _check_supported(name: str, layer: nn.Module) -> None:
    from peft.tuners.lora import Linear

    if not isinstance(layer, Linear):
        raise TypeError(f"LoRA layer {name!r} is a {type(layer).__name__}; LoRA-One supports nn.Linear and "
                        "Conv1D (fan_in_fan_out) layers")


def base_weight_gradients(model: nn.Module, batches: Iterable, loss_fn: Callable[[nn.Module, object], torch.Tensor],
                          adapter_name: str = "default") -> dict[str, torch.Tensor]:
    """∇_W L of every LoRA layer's frozen base weight, in the (out×in) layout, averaged over ``batches``.

    Adapters are disabled while the gradient is taken (Algorithm 1, line 1: the gradient of the pre-trained
    model W♮), and the base weights' ``requires_grad`` flags are restored afterwards. ``loss_fn(model, batch)``
    returns a scalar; the model's train/eval mode is the caller's (dropout included).
    """
    layers = lora_modules(model, adapter_name)
    for name, layer in layers.items():
        _check_supported(name, layer)
    weights = {n: m.get_base_layer().weight for n, m in layers.items()}
    flags = {n: w.requires_grad for n, w in weights.items()}
    total = {n: torch.zeros_like(w, dtype=torch.float32 if w.dtype in (torch.float16, torch.bfloat16) else w.dtype)
             for n, w in weights.items()}
    count = 0
    try:
        for w in weights.values():
            w.requires_grad_(True)
        with model.disable_adapter() if hasattr(model, "disable_adapter") else nullcontext():
            for batch in batches:
                grads = torch.autograd.grad(loss_fn(model, batch), list(weights.values()), allow_unused=True)
                for n, g in zip(weights, grads):
                    if g is not None:
                        total[n] += g.to(total[n].dtype)
                count += 1
    finally:
        for n, w in weights.items():
            w.requires_grad_(flags[n])
    if count == 0:
        raise ValueError("batches is empty: LoRA-One needs at least one batch to estimate the gradient")
    return {n: (g / count).mT if layers[n].fan_in_fan_out else g / count for n, g in total.items()}


def top_singular(grad: torch.Tensor, r: int, svd: str = "full", niter: int = 4,
                 generator_seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(U_r, S_r, V_rᵀ) of −``grad`` (out×in): the full SVD truncated, or with ``svd="lowrank"``
    ``torch.svd_lowrank`` (randomized, q = min(2r + 8, m, n) columns, ``niter`` power iterations, seeded)."""
    if svd not in SVD_METHODS:
        raise ValueError(f"svd must be one of {SVD_METHODS}, got {svd!r}")
    if not 1 <= r <= min(grad.shape):
        raise ValueError(f"r={r} must satisfy 1 ≤ r ≤ min(out, in) = {min(grad.shape)}")
    G = -grad
    if svd == "full":
        U, S, Vh = torch.linalg.svd(G, full_matrices=False)
        return U[:, :r], S[:r], Vh[:r]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(generator_seed)
        U, S, V = torch.svd_lowrank(G, q=min(2 * r + 8, *G.shape), niter=niter)
    return U[:, :r], S[:r], V[:, :r].mT


def factors_from_svd(U: torch.Tensor, S: torch.Tensor, Vh: torch.Tensor, s: float = 128.0,
                     scaling: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(lora_B, lora_A) = (√(γ/scaling) U √S, √(γ/scaling) √S Vᵀ) with S ← S/σ₁ and γ = 1/s, from
    :func:`top_singular`'s output (see :func:`lora_one_factors`)."""
    if s <= 0 or scaling <= 0:
        raise ValueError(f"s and scaling must be > 0, got s={s}, scaling={scaling}")
    if S[0] <= 0:
        raise ValueError("the gradient is zero: LoRA-One has no direction to start from")
    root = (S / S[0] / (s * scaling)).sqrt()
    return U * root, root[:, None] * Vh


def lora_one_factors(grad: torch.Tensor, r: int, s: float = 128.0, scaling: float = 1.0, svd: str = "full",
                     niter: int = 4, generator_seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(lora_B, lora_A) of Algorithm 1 for one layer, with ``grad`` = ∇_W L (out×in):

        −∇W ≈ U S Vᵀ (top r),  S ← S/σ₁,  γ = 1/s,  lora_B = √(γ/scaling) U √S,  lora_A = √(γ/scaling) √S Vᵀ,

    so that PEFT's effective update scaling · lora_B lora_A = P_r(−∇W)/(s σ₁) is the paper's A₀B₀ (Algorithm 1,
    lines 3–5: spectral init with S/σ₁ normalization) whatever α, r and rsLoRA. ``svd="lowrank"`` uses
    ``torch.svd_lowrank`` (:func:`top_singular`) for large layers.
    """
    return factors_from_svd(*top_singular(grad, r, svd, niter, generator_seed), s=s, scaling=scaling)


@torch.no_grad()
def initialize_lora_one_weights(model: nn.Module, batches: Iterable,
                                loss_fn: Callable[[nn.Module, object], torch.Tensor], *,
                                adapter_name: str = "default", s: float = 128.0, svd: str = "full",
                                niter: int = 4, account_for_scaling: bool = True) -> dict[str, torch.Tensor]:
    """Set every LoRA layer's ``lora_A``/``lora_B`` of a ``PeftModel`` by LoRA-One (Algorithm 1 of Zhang, Liu,
    Chen 2025), in place; base weights are not modified (unlike LoRA-GA and PiSSA).

    1. G = ∇_W L(W♮) of every adapted layer's base weight, averaged over ``batches`` with the adapters disabled
       (``loss_fn(model, batch) -> scalar``).
    2. Top-r SVD of −G (``svd="full"`` or ``"lowrank"``), S ← S/σ₁, γ = 1/s (the official code's default s = 128).
    3. lora_B = U_r √(γ S_r), lora_A = √(γ S_r) V_rᵀ, divided by √scaling when ``account_for_scaling`` so that the
       model at step 0 is W♮ + P_r(−G)/(s σ₁) — one truncated, normalized gradient step — for any α, r, rsLoRA.
       ``account_for_scaling=False`` leaves PEFT's scaling on top, as the official code does (step α/(s r) or
       α/(s √r)).

    Conv1D layers (``fan_in_fan_out=True``) are handled: the gradient is transposed to (out×in) first. The r of
    each layer is PEFT's (``r`` or ``rank_pattern``). Returns the gradients (out×in) by module name, for
    diagnostics (e.g. the alignment of the trained update with them).
    """
    layers = lora_modules(model, adapter_name)
    with torch.enable_grad():
        grads = base_weight_gradients(model, batches, loss_fn, adapter_name)
    for name, layer in layers.items():
        A, B = layer.lora_A[adapter_name].weight, layer.lora_B[adapter_name].weight
        scaling = layer.scaling[adapter_name] if account_for_scaling else 1.0
        new_B, new_A = lora_one_factors(grads[name].to(torch.float32 if A.dtype != torch.float64 else A.dtype),
                                        layer.r[adapter_name], s, scaling, svd, niter)
        B.copy_(new_B.to(B.dtype))
        A.copy_(new_A.to(A.dtype))
    return grads


def lora_pairs(model: nn.Module, adapter_name: str = "default") -> list[tuple[nn.Parameter, nn.Parameter]]:
    """(lora_B, lora_A) weight pairs of every LoRA layer, matched by module name (never by parameter order)."""
    return [(m.lora_B[adapter_name].weight, m.lora_A[adapter_name].weight)
            for _, m in sorted(lora_modules(model, adapter_name).items())]


def scaled_adamw(model: nn.Module, lr: float, *, adapter_name: str = "default", betas=(0.9, 0.999),
                 eps: float = 1e-8, damping: float = 1e-6, weight_decay: float = 0.0,
                 precondition: bool = True) -> torch.optim.Optimizer:
    """Adam on the preconditioned gradients of Eq. (9) for a ``PeftModel`` (our reading of the official repo's
    withdrawn "Scaled AdamW"), each layer's ``lora_B`` (left, out×r) paired with its ``lora_A`` (right, r×in):

        g_B ← ∇_B L (AAᵀ + λI)⁻¹,   g_A ← (BᵀB + λI)⁻¹ ∇_A L   (PEFT layout; the paper's ∇_A(BBᵀ)⁻¹, (AᵀA)⁻¹∇_B),

    then bias-corrected Adam moments of g, and decoupled weight decay θ ← θ(1 − η·wd) when ``weight_decay`` > 0.
    ``precondition=False`` gives plain Adam(W) over the same pairs.
    """
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be ≥ 0, got {weight_decay}")
    params = [p for pair in lora_pairs(model, adapter_name) for p in pair]
    return _ScaledAdamW(params, lr, betas=betas, eps=eps, damping=damping, precondition=precondition,
                        weight_decay=weight_decay)


class _ScaledAdamW(optim.PreconditionedAdam):
    """:class:`optim.PreconditionedAdam` (params in (left, right) pairs) plus decoupled weight decay."""

    def __init__(self, params, lr, weight_decay: float = 0.0, **kwargs):
        super().__init__(params, lr, **kwargs)
        self.weight_decay = weight_decay

    @torch.no_grad()
    def step(self, closure=None):
        if self.weight_decay:
            for group in self.param_groups:
                for p in group["params"]:
                    p.mul_(1 - group["lr"] * self.weight_decay)
        return super().step(closure)


def effective_update(layer: nn.Module, adapter_name: str = "default") -> torch.Tensor:
    """scaling · lora_B lora_A of one PEFT LoRA layer, in the (out×in) layout."""
    return layer.scaling[adapter_name] * layer.lora_B[adapter_name].weight @ layer.lora_A[adapter_name].weight


def top_subspace_distance(update: torch.Tensor, grad: torch.Tensor, r: int) -> tuple[float, float]:
    """‖sin Θ‖ (spectral norm, in [0, 1]) between the top-r left and right singular subspaces of ``update`` and
    of −``grad`` (both out×in): 0 when the update spans exactly the gradient's top-r subspaces."""
    update, grad = update.detach(), grad.detach()
    Uu, _, Vu = torch.linalg.svd(update, full_matrices=False)
    Ug, _, Vg = torch.linalg.svd(-grad, full_matrices=False)

    def sin(P, Q):
        return float(torch.linalg.matrix_norm(P - Q @ (Q.mT @ P), ord=2).clamp(max=1.0))

    return sin(Uu[:, :r], Ug[:, :r]), sin(Vu[:r].mT, Vg[:r].mT)
