"""The init-scale sweep of Kim, Kim, Ryu 2025 (Fig. 2, SST-2 on RoBERTa) on all-MiniLM-L6-v2 / VADER polarity.

LoRA (PEFT, query/value of the top layer, rank r) trained by full-batch gradient descent on
L_full(scaling·BA) + (λ/2)(‖A‖²_F + ‖B‖²_F) — weight decay as an explicit L2 term, the paper's object (Sec. 2), not
AdamW's decoupled decay — from two initializations: PEFT's standard one (Kaiming lora_A, lora_B = 0: the update
starts at X = 0) and a large random one (both factors i.i.d. N(0, σ²)). We compare the end points after the same
budget: ‖X‖_F, the stable rank ‖X‖²_F/‖X‖²_op (mean over adapted matrices) and the test accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ... import hf, stats
from ...claims import Claim, check
from . import model as M
from .lora_one import TARGETS, Split, _loss, _top, make_split
from .thresholds import LOUD_ACC_DROP_MIN, LOUD_LOG_NORM_RATIO_MIN, LOUD_STABLE_RANK_GAIN_MIN

INITS = ("standard", "large")
PAPER = "kim2025lora"


def build(split: Split, n_top: int, r: int, alpha: float, init: str, large_std: float, seed: int) -> nn.Module:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    model = get_peft_model(_top(split, n_top), LoraConfig(r=r, lora_alpha=alpha, target_modules=TARGETS))
    if init == "large":
        with torch.no_grad():
            for B, A in hf.lora_pairs(model):
                B.normal_(0.0, large_std)
                A.normal_(0.0, large_std)
    return model


def train_gd(model: nn.Module, split: Split, steps: int, lr: float, lam: float) -> torch.Tensor:
    """Full-batch GD on the training loss + (λ/2)Σ(‖A‖² + ‖B‖²); returns the penalized objective curve."""
    pairs = hf.lora_pairs(model)
    params = [p for pair in pairs for p in pair]
    opt = torch.optim.SGD(params, lr=lr)
    curve = []
    for t in range(steps + 1):
        obj = _loss(model, split) + 0.5 * lam * sum(p.square().sum() for p in params)
        curve.append(obj.item())
        if t == steps:
            break
        opt.zero_grad()
        obj.backward()
        opt.step()
    if not torch.isfinite(torch.tensor(curve)).all():
        raise FloatingPointError("training diverged (non-finite objective)")
    return torch.tensor(curve)


def stable_rank(X: torch.Tensor) -> float:
    """‖X‖²_F / ‖X‖²_op (between 1 and rank X)."""
    return float(X.square().sum() / torch.linalg.matrix_norm(X, ord=2) ** 2)


@dataclass
class LoudResult:
    scales: list
    norm: torch.Tensor         # (n_seeds, 2) ‖X‖_F over all adapted matrices, at the end
    stable_rank: torch.Tensor  # (n_seeds, 2) mean over adapted matrices
    test_acc: torch.Tensor     # (n_seeds, 2) %
    train_loss: torch.Tensor   # (n_seeds, 2) unpenalized training loss at the end
    curves: torch.Tensor       # (n_seeds, 2, steps+1) penalized objective
    r: int
    lam: float


def loud_experiment(*, n_head, n_train, n_test, n_top, max_tokens, head_wd, r, alpha, large_std, lam, lr, steps,
                    n_seeds, gen: torch.Generator) -> LoudResult:
    norm, srank, acc, tl, curves = [], [], [], [], []
    for _ in range(n_seeds):
        split = make_split(n_head, n_train, n_test, n_top, max_tokens, head_wd, gen)
        seed = int(torch.randint(0, 2 ** 31 - 1, (1,), generator=gen))
        row = [], [], [], [], []
        for init in INITS:
            model = build(split, n_top, r, alpha, init, large_std, seed)
            curve = train_gd(model, split, steps, lr, lam)
            with torch.no_grad():
                X = [hf.effective_update(m) for m in hf.lora_modules(model).values()]
                row[0].append(float(sum(x.square().sum() for x in X).sqrt()))
                row[1].append(sum(stable_rank(x) for x in X) / len(X))
                row[2].append(M.accuracy(model(split.test), split.y_test))
                row[3].append(_loss(model, split).item())
            row[4].append(curve)
        for lst, vals in zip((norm, srank, acc, tl), row[:4]):
            lst.append(torch.tensor(vals))
        curves.append(torch.stack(row[4]))
    return LoudResult(list(INITS), torch.stack(norm), torch.stack(srank), torch.stack(acc), torch.stack(tl),
                      torch.stack(curves), r, lam)


def loud_claims(res: LoudResult, model: str = M.MODEL) -> list[Claim]:
    fig = "fig-loud-minilm"
    dn = stats.decide((res.norm[:, 1] / res.norm[:, 0]).log(), LOUD_LOG_NORM_RATIO_MIN, ">")
    da = stats.decide(res.test_acc[:, 0] - res.test_acc[:, 1], LOUD_ACC_DROP_MIN, ">")
    dr = stats.decide(res.stable_rank[:, 1] - res.stable_rank[:, 0], LOUD_STABLE_RANK_GAIN_MIN, ">")
    common = dict(paper=PAPER, kind="empirical", source="Fig. 2", model=model, figure=fig)
    return [
        check("loud-minilm-large-init-norm", **common,
              statement="A large random initialization ends at a large-norm point; the standard (B = 0) init does not.",
              test=f"log(‖X_large‖_F / ‖X_standard‖_F) at the end, mean over seeds, 95% interval > "
                   f"{LOUD_LOG_NORM_RATIO_MIN}", measured=round(dn.estimate, 3), decision=dn),
        check("loud-minilm-large-init-accuracy", **common,
              statement="The large-init end point generalizes worse than the standard init's.",
              test=f"test accuracy, standard minus large (points), mean over seeds, 95% interval > {LOUD_ACC_DROP_MIN}",
              measured=round(da.estimate, 2), decision=da),
        check("loud-minilm-large-init-rank", **common,
              statement="The large-init end point is high rank; the standard init's is low rank.",
              test=f"stable rank ‖X‖²_F/‖X‖²_op, large minus standard, mean over seeds, 95% interval > "
                   f"{LOUD_STABLE_RANK_GAIN_MIN}", measured=round(dr.estimate, 3), decision=dr),
    ]


def plot_loud(res: LoudResult):
    """Left: the penalized objective per init (median over seeds). Right: end points, ‖X‖_F against stable rank,
    marker area ∝ test error."""
    from ... import figures

    fig, axes = figures.subplots(1, 2)
    labels = {"standard": "standard init (B = 0)", "large": "large random init"}
    for i, name in enumerate(res.scales):
        axes[0].plot(res.curves[:, i].median(0).values, label=labels[name])
        axes[1].scatter(res.stable_rank[:, i], res.norm[:, i], s=20 + 8 * (100 - res.test_acc[:, i]),
                        alpha=0.7, label=None)
    axes[0].set(xlabel="GD step", ylabel="objective (loss + L2)", yscale="log")
    axes[1].set(xlabel="stable rank of X", ylabel=r"$\|X\|_F$", yscale="log")
    figures.legend_below(fig)
    return fig
