"""LoRA-One E7: a small real model — digits (Fig. 1(b)/(c), Table 2 analogues).

A two-layer MLP pre-trained on odd digits, fine-tuned on even ones: full fine-tuning, LoRA, LoRA-One and
LoRA-GA through :mod:`lora_companion.lora_linear`, and the one-step rank-r update W ← W + η P_r(−∇W).

Seeds and step sizes are an ensemble (PyTorch's model-ensembling pattern): the per-member parameters of one
``nn.Module`` are stacked along a leading dimension with :func:`torch.func.stack_module_state` and the module is
evaluated with :func:`torch.func.vmap` over :func:`torch.func.functional_call`. Members never interact: the
gradient of the *sum* of their losses is each member's own gradient, and Adam / GD act elementwise. The training
loops (pre-training and fine-tuning) take their gradients from :func:`mlp_grads`, the same network's backward pass
written out (tested against autograd), which lets LoRA compute layer 1's frozen product once.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch.func import functional_call, stack_module_state, vmap

from ... import inits
from ...claims import Claim, check
from ...stats import decide
from ...linalg import subspace_distance
from .thresholds import ONE_STEP_GAIN_MIN


DIGITS_METHODS = ("full", "lora", "lora_one", "lora_ga")
#: the MLP's precision: float32, as the network is trained in practice; its claims are read to two or three digits
#: (the closed-form gradients are tested against autograd in float64). Random draws are made in float64 and
#: rounded, so both precisions start from the same numbers.
DTYPE = torch.float32
DIGITS_LABELS = {"full": "full fine-tuning", "lora": "LoRA", "lora_one": "LoRA-One", "lora_ga": "LoRA-GA"}

Params = dict[str, torch.Tensor]


@dataclass
class Digits:
    """scikit-learn's bundled 8×8 digits (no download), standardized: odd digits to pre-train on (shared by all
    seeds), even digits split per seed into a fine-tuning set and a test set, stacked along a leading seed
    dimension (labels stay 0–9, so the task is new classes)."""

    X_odd: torch.Tensor    # (n_odd, 64)
    y_odd: torch.Tensor    # (n_odd,)
    X_train: torch.Tensor  # (n_seeds, n_train, 64)
    y_train: torch.Tensor  # (n_seeds, n_train)
    X_test: torch.Tensor   # (n_seeds, n_test, 64)
    y_test: torch.Tensor   # (n_seeds, n_test)


def load_digits_task(gen: torch.Generator, n_seeds: int = 1, test_fraction: float = 0.4, device="cpu",
                     dtype=DTYPE) -> Digits:
    """One random train/test split of the even digits per seed (permutations drawn from ``gen``), features in
    ``dtype``."""
    from sklearn.datasets import load_digits
    data = load_digits()
    X = torch.tensor(data.data, dtype=torch.float64)
    X = ((X - X.mean(0)) / (X.std(0) + 1.0)).to(dtype)
    y = torch.tensor(data.target)
    odd, even = y % 2 == 1, y % 2 == 0
    Xe, ye = X[even], y[even]
    perm = torch.rand(n_seeds, len(ye), generator=gen, dtype=torch.float64).argsort(-1)
    n_test = int(test_fraction * len(ye))
    te, tr = perm[:, :n_test], perm[:, n_test:]
    to = lambda t: t.to(device)  # noqa: E731
    return Digits(to(X[odd]), to(y[odd]), to(Xe[tr]), to(ye[tr]), to(Xe[te]), to(ye[te]))


def make_mlp(hidden: int, gen: torch.Generator, device="cpu", dtype=DTYPE) -> torch.nn.Module:
    """Two-layer ReLU network 64 → hidden → 10 in ``dtype`` with U(±1/√fan_in) weights drawn from ``gen``."""
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[-1] if p.dim() == 2 else (64 if p.shape[0] == hidden else hidden)
            p.copy_((2 * torch.rand(p.shape, generator=gen, dtype=torch.float64) - 1) / fan_in ** 0.5)
    return model.to(device)


def make_ensemble(hidden: int, n_seeds: int, gen: torch.Generator, device="cpu",
                  dtype=DTYPE) -> tuple[torch.nn.Module, Params]:
    """``n_seeds`` independent :func:`make_mlp` draws as (template module on the meta device, stacked parameters
    with a leading seed dimension)."""
    models = [make_mlp(hidden, gen, device, dtype) for _ in range(n_seeds)]
    params, _ = stack_module_state(models)
    return copy.deepcopy(models[0]).to("meta"), {k: v.detach() for k, v in params.items()}


def member(net: torch.nn.Module, params: Params, i: int, device="cpu") -> torch.nn.Module:
    """The ordinary module of ensemble member ``i`` (a copy of ``net`` holding the i-th slice of ``params``)."""
    model = copy.deepcopy(net).to_empty(device=device)
    model.load_state_dict({k: v[i] for k, v in params.items()})
    return model


def losses(net: torch.nn.Module, params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every member: ``params`` and ``X`` (M, n, in), ``y`` (M, n) → (M,)."""
    logits = vmap(lambda p, x: functional_call(net, p, (x,)))(params, X)
    return torch.nn.functional.cross_entropy(logits.mT, y, reduction="none").mean(-1)


def accuracy(net: torch.nn.Module, params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Test accuracy of every member in percent: (M,)."""
    with torch.no_grad():
        logits = vmap(lambda p, x: functional_call(net, p, (x,)))(params, X)
        return 100.0 * (logits.argmax(-1) == y).double().mean(-1)


def weight_gradients(net: torch.nn.Module, params: Params, X: torch.Tensor, y: torch.Tensor) -> Params:
    """∇_W L of every member's linear weights (keys ending in ``weight``), each (M, out, in)."""
    w = {k: v.detach().requires_grad_() for k, v in params.items() if k.endswith("weight")}
    grads = torch.autograd.grad(losses(net, {**params, **w}, X, y).sum(), list(w.values()))
    return dict(zip(w, grads))


def mlp_grads(params: Params, X: torch.Tensor, y: torch.Tensor, scaling: float | None = None,
              first: torch.Tensor | None = None) -> tuple[torch.Tensor, Params]:
    """Cross-entropy of every member of the two-layer ReLU network and its gradient, in closed form (no autograd).

    ``params`` (leading member dimension M) are :func:`make_mlp`'s (keys ``0.weight`` … ``2.bias``; gradients of
    all four) or, with ``scaling`` = α/r, those of :func:`lora_companion.lora_linear.apply_lora` on it (``k.base.*``
    frozen; gradients of ``k.lora_A``, ``k.lora_B``). With zᵢ = x_{i-1} Wᵢᵀ + bᵢ + s (x_{i-1} Aᵢᵀ) Bᵢᵀ, x₁ = relu(z₁),
    L = (1/n) Σ CE(z₂, y) and δ₂ = (softmax z₂ − onehot y)/n, δ₁ = (δ₂ (W₂ + s B₂A₂)) ⊙ 1[z₁ > 0]:

        ∇Wᵢ = δᵢᵀ x_{i-1},  ∇bᵢ = Σ_rows δᵢ,  ∇Bᵢ = s δᵢᵀ (x_{i-1} Aᵢᵀ),  ∇Aᵢ = s (δᵢ Bᵢ)ᵀ x_{i-1}.

    ``first`` may hold X W₁ᵀ + b₁ (fixed when layer 1's base is frozen), computed once by the caller. ``X`` (M, n,
    64), ``y`` (M, n) → (losses (M,), gradients by key)."""
    lora = scaling is not None
    base = "base." if lora else ""
    W1, b1, W2, b2 = (params[f"{k}.{base}{w}"] for k in "02" for w in ("weight", "bias"))
    z1 = torch.baddbmm(b1[:, None], X, W1.mT) if first is None else first
    if lora:
        u1 = (params["0.lora_A"] @ X.mT).mT
        z1 = torch.baddbmm(z1, u1, params["0.lora_B"].mT, alpha=scaling)
    h = z1.clamp_min(0)
    z2 = h @ W2.mT + b2[:, None]
    if lora:
        u2 = (params["2.lora_A"] @ h.mT).mT
        z2 = z2 + scaling * u2 @ params["2.lora_B"].mT
    logp = z2.log_softmax(-1)
    loss = -logp.gather(-1, y[..., None])[..., 0].mean(-1)
    d2 = logp.exp()
    d2.scatter_add_(-1, y[..., None], -torch.ones_like(d2[..., :1]))
    d2 /= y.shape[-1]
    W2eff = W2 + scaling * params["2.lora_B"] @ params["2.lora_A"] if lora else W2
    d1 = (d2 @ W2eff).masked_fill_(z1 <= 0, 0.0)
    if lora:   # products ordered so that the long dimension n is the inner one (MKL is slow on skinny outputs)
        B1t, B2t = params["0.lora_B"].mT, params["2.lora_B"].mT
        return loss, {"0.lora_A": scaling * (B1t @ d1.mT) @ X, "0.lora_B": scaling * (u1.mT @ d1).mT,
                      "2.lora_A": scaling * (B2t @ d2.mT) @ h, "2.lora_B": scaling * (u2.mT @ d2).mT}
    return loss, {"0.weight": d1.mT @ X, "0.bias": d1.sum(1), "2.weight": d2.mT @ h, "2.bias": d2.sum(1)}


def pretrain(net: torch.nn.Module, params: Params, X: torch.Tensor, y: torch.Tensor, steps: int, lr: float) -> Params:
    """Full-batch Adam on the pre-training task (odd digits, shared by all members), every member at once
    (Adam is elementwise, so this is each member's own Adam run; gradients from :func:`mlp_grads`)."""
    params = {k: v.detach().clone() for k, v in params.items()}
    n = next(iter(params.values())).shape[0]
    Xs, ys = X.expand(n, *X.shape), y.expand(n, *y.shape)
    opt = torch.optim.Adam(params.values(), lr=lr)
    for _ in range(steps):
        for k, g in mlp_grads(params, Xs, ys)[1].items():
            params[k].grad = g
        opt.step()
    return params


def _lr_grid(t: torch.Tensor, n_lrs: int) -> torch.Tensor:
    """Repeat a seed-stacked tensor (S, ...) over a step-size grid: member l·S + i is (step size l, seed i)."""
    return t.repeat(n_lrs, *[1] * (t.dim() - 1))


def one_step_update(net: torch.nn.Module, params: Params, data: Digits, r: int, lrs: list[float],
                    grad_rows: int) -> torch.Tensor:
    """Table 2 analogue: W ← W + η P_r(−∇W) for every linear layer, gradient from the first ``grad_rows``
    fine-tuning examples; test accuracy (len(lrs), n_seeds) for each η (no training)."""
    grads = weight_gradients(net, params, data.X_train[:, :grad_rows], data.y_train[:, :grad_rows])
    eta = torch.tensor(lrs, dtype=data.X_train.dtype, device=data.X_train.device).repeat_interleave(len(data.y_train))
    stepped = {k: _lr_grid(v, len(lrs)) for k, v in params.items()}
    for k, g in grads.items():
        L, R = inits.spectral_init(-g, r)
        stepped[k] = stepped[k] + eta[:, None, None] * _lr_grid(L @ R, len(lrs))
    acc = accuracy(net, stepped, _lr_grid(data.X_test, len(lrs)), _lr_grid(data.y_test, len(lrs)))
    return acc.view(len(lrs), -1)


@dataclass
class DigitsResult:
    loss: dict[str, torch.Tensor]        # (steps+1, n_seeds) training loss at the tuned step size
    acc: dict[str, torch.Tensor]         # (len(acc_steps), n_seeds) test accuracy
    acc_steps: list[int]
    best_lr: dict[str, float]
    angles: dict[str, torch.Tensor]      # vanilla LoRA, layer 1: sin θ_max to the one-step gradient's subspaces
    angle_steps: list[int]
    pre_acc: float
    one_step_lrs: list[float]
    one_step_acc: list[float]
    one_step_gain: torch.Tensor | None = None   # (n_seeds,) accuracy gain of the one-step update at the best lr


def _adapted(net: torch.nn.Module, params: Params, method: str, data: Digits, r: int, s: float,
             grad_rows: int) -> tuple[torch.nn.Module, Params]:
    """Every seed's pre-trained module with :func:`lora_companion.lora_linear.apply_lora` (α = r, so scaling 1; LoRA-One
    and LoRA-GA from the gradient on the first ``grad_rows`` fine-tuning examples), stacked. The adapters are drawn
    and initialized in float64 and then rounded to the data's dtype (see :data:`DTYPE`)."""
    from ...lora_linear import apply_lora
    device, dtype = data.X_train.device, data.X_train.dtype
    models = []
    for i in range(len(data.y_train)):  # building the ensemble: one PEFT init per seed, on an ordinary module
        Xg, yg = data.X_train[i, :grad_rows].double(), data.y_train[i, :grad_rows]
        models.append(apply_lora(member(net, params, i, device).double(), r, float(r), init=method, s=s,
                                 loss_fn=lambda m, X=Xg, y=yg: torch.nn.functional.cross_entropy(m(X), y)))
    stacked, _ = stack_module_state(models)
    return copy.deepcopy(models[0]).to("meta"), {k: v.detach().to(dtype) for k, v in stacked.items()}


def _angles(G: torch.Tensor, A: torch.Tensor, B: torch.Tensor, r: int, step: int) -> torch.Tensor:
    """sin θ_max of span lora_Aᵀ / span lora_B against the top-r right / left singular subspaces of G, per
    member: (M, 2); NaN where the adapter is not finite, 1 for lora_B = 0 at step 0."""
    U, _, Vh = torch.linalg.svd(G, full_matrices=False)
    ok = (A.isfinite().flatten(1).all(-1) & B.isfinite().flatten(1).all(-1))[:, None, None]
    a = subspace_distance(Vh[:, :r].mT, torch.where(ok, A.mT, Vh[:, :r].mT))
    b = subspace_distance(U[:, :, :r], torch.where(ok, B, U[:, :, :r])) if step else torch.ones_like(a)
    return torch.where(ok[:, 0, 0, None], torch.stack([a, b], -1), torch.nan)


def finetune(net: torch.nn.Module, params: Params, method: str, data: Digits, r: int, lrs: list[float],
             steps: int, grad_rows: int, s: float, acc_steps: list[int], angle_steps: list[int] | None = None):
    """Full-batch GD on the even digits from the pre-trained members (``params``, leading seed dimension), at
    every step size of ``lrs`` at once: ``full`` (every weight and bias) or a LoRA variant (GD on the adapters
    only, biases frozen, as in LoRA), with the gradients of :func:`mlp_grads`. Returns (losses (steps+1, L, S),
    accuracies (len(acc_steps), L, S), angles (len(angle_steps), L, S, 2) or None); angles (vanilla LoRA) are
    sin θ_max of lora_A's row space / lora_B's column space in layer 1 against the top-r right / left singular
    subspaces of the full-batch −∇W₁ at the pre-trained model."""
    n_lrs, n_seeds = len(lrs), len(data.y_train)
    model, start = (net, params) if method == "full" else _adapted(net, params, method, data, r, s, grad_rows)
    train = {k: _lr_grid(v, n_lrs) for k, v in start.items() if method == "full" or "lora_" in k}
    frozen = {k: _lr_grid(v, n_lrs) for k, v in start.items() if k not in train}
    X, y = _lr_grid(data.X_train, n_lrs), _lr_grid(data.y_train, n_lrs)
    Xt, yt = _lr_grid(data.X_test, n_lrs), _lr_grid(data.y_test, n_lrs)
    eta = torch.tensor(lrs, dtype=X.dtype, device=X.device).repeat_interleave(n_seeds)
    scaling, first = None, None
    if method != "full":   # layer 1's base is frozen: its part of z₁ is computed once
        scaling, first = model[0].scaling, X @ frozen["0.base.weight"].mT + frozen["0.base.bias"][:, None]
    G = None
    if angle_steps is not None:
        G = -_lr_grid(weight_gradients(net, params, data.X_train, data.y_train)["0.weight"], n_lrs)
    loss_t, acc_t, angle_t = [], [], []
    for step in range(steps + 1):
        if step in acc_steps:
            acc_t.append(accuracy(model, {**frozen, **train}, Xt, yt))
        if G is not None and step in angle_steps:
            angle_t.append(_angles(G, train["0.lora_A"], train["0.lora_B"], r, step))
        loss, grads = mlp_grads({**frozen, **train}, X, y, scaling, first)
        loss_t.append(loss)
        if step < steps:
            for k, g in grads.items():
                train[k] = train[k] - eta.view(-1, *[1] * (g.dim() - 1)) * g
    grid = lambda ts: torch.stack(ts).unflatten(1, (n_lrs, n_seeds))  # noqa: E731
    return grid(loss_t), grid(acc_t), grid(angle_t) if G is not None else None


def digits_experiment(hidden: int, r: int, lrs: list[float], steps: int, grad_rows: int, s: float,
                      pretrain_steps: int, n_seeds: int, one_step_lrs: list[float], gen: torch.Generator,
                      device="cpu") -> DigitsResult:
    """Pre-train one MLP per seed on odd digits (all seeds at once), then fine-tune on even digits with every
    method of :data:`DIGITS_METHODS` at every step size of ``lrs`` (all seeds and step sizes at once; the step
    size is chosen per method by the median over seeds of the final training loss)."""
    acc_steps = sorted({0, min(10, steps), steps})
    angle_steps = sorted({0, 1, *range(0, steps + 1, max(1, steps // 20))})
    data = load_digits_task(gen, n_seeds, device=device)
    net, params = make_ensemble(hidden, n_seeds, gen, device)
    params = pretrain(net, params, data.X_odd, data.y_odd, pretrain_steps, 1e-2)
    loss, acc, best, angles = {}, {}, {}, {}
    for method in DIGITS_METHODS:
        torch.manual_seed(int(torch.randint(2 ** 31, (1,), generator=gen)))  # PEFT's init draws (vanilla LoRA)
        L, A, T = finetune(net, params, method, data, r, lrs, steps, grad_rows, s, acc_steps,
                           angle_steps if method == "lora" else None)
        i = int(L[-1].nan_to_num(torch.inf).median(-1).values.argmin())
        best[method], loss[method], acc[method] = lrs[i], L[:, i], A[:, i]
        if T is not None:
            angles = {"lora_A": T[:, i, :, 0], "lora_B": T[:, i, :, 1]}
    pre = accuracy(net, params, data.X_test, data.y_test)
    one = one_step_update(net, params, data, r, one_step_lrs, grad_rows)
    gain = one[int(one.mean(-1).argmax())] - pre
    return DigitsResult(loss, acc, acc_steps, best, angles, angle_steps, pre.mean().item(), one_step_lrs,
                        one.mean(-1).tolist(), gain.cpu())


def trajectory_distance(res: DigitsResult, method: str) -> torch.Tensor:
    """Per seed, the mean over steps of |log L_method(t) − log L_full(t)|: distance to full FT's loss curve."""
    return (res.loss[method].log() - res.loss["full"].log()).abs().mean(0)


def digits_claims(res: DigitsResult) -> list[Claim]:
    """Table 2 (top rows) and Fig. 1(c) analogues, decided over seeds."""
    d_gain = decide(res.one_step_gain, ONE_STEP_GAIN_MIN, ">=")
    gap = trajectory_distance(res, "lora") - trajectory_distance(res, "lora_one")
    d_track = decide(gap, 0.0, ">")
    return [
        check("loraone-digits-one-step", paper="zhang2025loraone", kind="empirical", source="Table 2 (top rows)",
              statement="One rank-r step along the small-batch full gradient, with a tuned step size, already "
                        "improves the pre-trained model on the new task (digits analogue).",
              test=f"per seed, test accuracy after the one-step update (step size best on the seed mean) minus the "
                   f"pre-trained accuracy; mean ≥ {ONE_STEP_GAIN_MIN:g} points (95 % interval)",
              measured=float(res.one_step_gain.mean()), decision=d_gain, figure="fig-loraone-digits"),
        check("loraone-digits-tracks-ft", paper="zhang2025loraone", kind="empirical", source="Fig. 1(c)",
              statement="Under GD, LoRA-One's trajectory stays closer to full fine-tuning than LoRA's (digits "
                        "analogue of MNIST).",
              test="per seed, mean over steps of |log L(t) − log L_full(t)| (tuned step sizes); LoRA minus LoRA-One, "
                   "mean > 0 (95 % interval)",
              measured=f"LoRA-One {trajectory_distance(res, 'lora_one').mean().item():.3f}, "
                       f"LoRA {trajectory_distance(res, 'lora').mean().item():.3f}",
              decision=d_track, figure="fig-loraone-digits"),
    ]
