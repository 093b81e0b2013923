"""LoRA-One E7: a small real model — digits (Fig. 1(b)/(c), Table 2 analogues).

A two-layer MLP pre-trained on odd digits, fine-tuned on even ones: full fine-tuning, LoRA, LoRA-One and
LoRA-GA through :mod:`lora_companion.peft`, and the one-step rank-r update W ← W + η P_r(−∇W).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ... import inits
from ...claims import Claim, check
from ...linalg import subspace_distance
from .thresholds import ONE_STEP_GAIN_MIN


DIGITS_METHODS = ("full", "lora", "lora_one", "lora_ga")
DIGITS_LABELS = {"full": "full fine-tuning", "lora": "LoRA", "lora_one": "LoRA-One", "lora_ga": "LoRA-GA"}


@dataclass
class Digits:
    """scikit-learn's bundled 8×8 digits (no download), standardized: odd digits to pre-train on, even digits
    split into a fine-tuning set and a test set (labels stay 0–9, so the task is new classes)."""

    X_odd: torch.Tensor
    y_odd: torch.Tensor
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_task(gen: torch.Generator, test_fraction: float = 0.4, device="cpu") -> Digits:
    from sklearn.datasets import load_digits
    data = load_digits()
    X = torch.tensor(data.data, dtype=torch.float64)
    X = (X - X.mean(0)) / (X.std(0) + 1.0)
    y = torch.tensor(data.target)
    odd, even = y % 2 == 1, y % 2 == 0
    Xe, ye = X[even], y[even]
    perm = torch.randperm(len(ye), generator=gen)
    n_test = int(test_fraction * len(ye))
    te, tr = perm[:n_test], perm[n_test:]
    to = lambda t: t.to(device)  # noqa: E731
    return Digits(to(X[odd]), to(y[odd]), to(Xe[tr]), to(ye[tr]), to(Xe[te]), to(ye[te]))


def make_mlp(hidden: int, gen: torch.Generator, device="cpu") -> torch.nn.Module:
    """Two-layer ReLU network 64 → hidden → 10 with U(±1/√fan_in) weights drawn from ``gen``."""
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)).double()
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[-1] if p.dim() == 2 else (64 if p.shape[0] == hidden else hidden)
            p.copy_((2 * torch.rand(p.shape, generator=gen, dtype=torch.float64) - 1) / fan_in ** 0.5)
    return model.to(device)


def _ce(model, X, y) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(model(X), y)


def accuracy(model, X, y) -> float:
    """Test accuracy in percent."""
    with torch.no_grad():
        return 100.0 * (model(X).argmax(-1) == y).double().mean().item()


def pretrain(model, X, y, steps: int, lr: float):
    """Full-batch Adam on the pre-training task (odd digits)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        _ce(model, X, y).backward()
        opt.step()
    return model


def one_step_update(pre: torch.nn.Module, data: Digits, r: int, lrs: list[float], grad_rows: int) -> list[float]:
    """Table 2 analogue: W ← W + η P_r(−∇W) for every linear layer, gradient from the first ``grad_rows``
    fine-tuning examples; test accuracy for each η (no training)."""
    import copy
    from ...peft import apply_lora, base_gradients
    probe = apply_lora(copy.deepcopy(pre), r, float(r))
    grads = base_gradients(probe, lambda m: _ce(m, data.X_train[:grad_rows], data.y_train[:grad_rows]))
    accs = []
    for lr in lrs:
        model = copy.deepcopy(pre)
        with torch.no_grad():
            for name, g in grads.items():
                w = model.get_submodule(name).weight
                L, R = inits.spectral_init(-g, r)
                w.add_(lr * L @ R)
        accs.append(accuracy(model, data.X_test, data.y_test))
    return accs


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


def finetune(pre: torch.nn.Module, method: str, data: Digits, r: int, lr: float, steps: int, grad_rows: int,
             s: float, acc_steps: list[int], angle_steps: list[int] | None = None):
    """Full-batch GD on the even digits from the pre-trained model: ``full`` (every weight) or a LoRA variant
    applied with :func:`lora_companion.peft.apply_lora` (α = r, so scaling 1). Returns (losses, accuracies,
    angles); angles (vanilla LoRA only) are sin θ_max of lora_A's row space / lora_B's column space in layer 1
    against the top-r right / left singular subspaces of the full-batch −∇W₁ at the pre-trained model."""
    import copy
    from ...peft import apply_lora, base_gradients
    model = copy.deepcopy(pre)
    loss_fn = lambda m: _ce(m, data.X_train, data.y_train)  # noqa: E731
    if method != "full":
        init = {"lora": "lora", "lora_one": "lora_one", "lora_ga": "lora_ga"}[method]
        model = apply_lora(model, r, float(r), init=init, s=s,
                           loss_fn=lambda m: _ce(m, data.X_train[:grad_rows], data.y_train[:grad_rows]))
    params = [p for p in model.parameters() if p.requires_grad]
    if method != "full":  # GD on the adapters only (biases frozen, as in LoRA)
        params = [p for n, p in model.named_parameters() if "lora_" in n]
    opt = torch.optim.SGD(params, lr=lr)
    bases = None
    if angle_steps is not None:
        G = -base_gradients(model, loss_fn)["0"]
        U, _, Vh = torch.linalg.svd(G, full_matrices=False)
        bases = (U[:, :r], Vh[:r].mT)
    losses, accs, angles = [], [], []
    for step in range(steps + 1):
        if step in acc_steps:
            accs.append(accuracy(model, data.X_test, data.y_test))
        layer = model.get_submodule("0")
        if bases is not None and step in angle_steps and not torch.isfinite(layer.delta()).all():
            angles.append([math.nan, math.nan])
        elif bases is not None and step in angle_steps:
            angles.append([subspace_distance(bases[1], layer.lora_A.detach().mT).item(),
                           subspace_distance(bases[0], layer.lora_B.detach()).item() if step else 1.0])
        opt.zero_grad()
        loss = loss_fn(model)
        losses.append(loss.item())
        if step < steps:
            loss.backward()
            opt.step()
    return torch.tensor(losses), torch.tensor(accs), torch.tensor(angles)


def digits_experiment(hidden: int, r: int, lrs: list[float], steps: int, grad_rows: int, s: float,
                      pretrain_steps: int, n_seeds: int, one_step_lrs: list[float], gen: torch.Generator,
                      device="cpu") -> DigitsResult:
    """Pre-train once per seed on odd digits, then fine-tune on even digits with every method of
    :data:`DIGITS_METHODS` at every step size of ``lrs`` (chosen per method by the median final training loss)."""
    acc_steps = sorted({0, min(10, steps), steps})
    angle_steps = sorted({0, 1, *range(0, steps + 1, max(1, steps // 20))})
    pres, datas = [], []
    for _ in range(n_seeds):
        data = load_digits_task(gen, device=device)
        pres.append(pretrain(make_mlp(hidden, gen, device), data.X_odd, data.y_odd, pretrain_steps, 1e-2))
        datas.append(data)
    loss, acc, best, angles = {}, {}, {}, {}
    for method in DIGITS_METHODS:
        runs = {}
        for lr in lrs:
            out = []
            for pre, data in zip(pres, datas):
                torch.manual_seed(int(torch.randint(2 ** 31, (1,), generator=gen)))  # PEFT's init draws
                out.append(finetune(pre, method, data, r, lr, steps, grad_rows, s, acc_steps,
                                    angle_steps if method == "lora" else None))
            runs[lr] = out
        final = {lr: torch.tensor([o[0][-1] for o in out]).nan_to_num(torch.inf).median().item()
                 for lr, out in runs.items()}
        lr = min(final, key=final.get)
        best[method] = lr
        loss[method] = torch.stack([o[0] for o in runs[lr]], -1)
        acc[method] = torch.stack([o[1] for o in runs[lr]], -1)
        if method == "lora":
            angles = {"lora_A": torch.stack([o[2][:, 0] for o in runs[lr]], -1),
                      "lora_B": torch.stack([o[2][:, 1] for o in runs[lr]], -1)}
    pre_acc = sum(accuracy(p, d.X_test, d.y_test) for p, d in zip(pres, datas)) / n_seeds
    one = torch.tensor([one_step_update(p, d, r, one_step_lrs, grad_rows) for p, d in zip(pres, datas)])
    return DigitsResult(loss, acc, acc_steps, best, angles, angle_steps, pre_acc, one_step_lrs,
                        one.mean(0).tolist())


def trajectory_distance(res: DigitsResult, method: str) -> float:
    """Mean over steps of |log L_method(t) − log L_full(t)| (median over seeds): distance to full FT's curve."""
    return (res.loss[method].log() - res.loss["full"].log()).abs().mean(0).median().item()


def digits_claims(res: DigitsResult) -> list[Claim]:
    gain = max(res.one_step_acc) - res.pre_acc
    d_one, d_lora = trajectory_distance(res, "lora_one"), trajectory_distance(res, "lora")
    return [
        check("loraone-digits-one-step", paper="zhang2025loraone",
              statement="Table 2 (top rows): one rank-r step along the small-batch full gradient, with a tuned step "
                        "size, already improves the pre-trained model on the new task.",
              test=f"best test accuracy over the step-size grid minus the pre-trained accuracy ≥ {ONE_STEP_GAIN_MIN} "
                   "points (mean over seeds)",
              measured=gain, passed=gain >= ONE_STEP_GAIN_MIN, figure="fig-loraone-digits"),
        check("loraone-digits-tracks-ft", paper="zhang2025loraone",
              statement="Fig. 1(c): under GD, LoRA-One's trajectory stays closer to full fine-tuning than LoRA's.",
              test="mean |log L(t) − log L_full(t)| over steps (tuned step sizes): LoRA-One < LoRA",
              measured=f"LoRA-One {d_one:.3f}, LoRA {d_lora:.3f}", passed=d_one < d_lora,
              figure="fig-loraone-digits"),
    ]
