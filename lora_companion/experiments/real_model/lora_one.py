"""LoRA-One on a real pretrained transformer (Zhang, Liu, Chen 2025, Fig. 1(b)/(c), Table 2 analogues).

all-MiniLM-L6-v2 + a logistic-regression head fitted on a small "pre-training" split of the VADER polarity task
(the pre-trained model W♮); fine-tuning adapts query/value of the top ``n_top`` layers on the training split, head
frozen, full-batch Adam, by: full fine-tuning of the same weights; PEFT LoRA (Kaiming lora_A, lora_B = 0); LoRA-One
(:func:`lora_companion.hf.initialize_lora_one_weights`); PEFT's LoRA-GA (``init_lora_weights="lora_ga"``, its
defaults) and PiSSA (``init_lora_weights="pissa"``). Seeds loop in Python (a PEFT model per seed and method).
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import torch
from torch import nn

from ... import hf, stats
from ...claims import Claim, check
from . import data
from . import model as M
from .thresholds import ALIGN_ENERGY_MIN, FINAL_LOSS_GAIN_MIN, ONE_STEP_GAIN_MIN, TRACKING_GAIN_MIN

METHODS = ("full", "lora", "lora_one", "lora_ga", "pissa")
LABELS = {"full": "full FT (q, v)", "lora": "LoRA", "lora_one": "LoRA-One (ours)", "lora_ga": "LoRA-GA (PEFT)",
          "pissa": "PiSSA (PEFT)"}
TARGETS = ["query", "value"]
PAPER = "zhang2025loraone"


@dataclass
class Split:
    """One seed's data: cached bottom activations and labels of the head / train / test splits, and the head."""

    train: M.Cached
    y_train: torch.Tensor
    test: M.Cached
    y_test: torch.Tensor
    head: nn.Linear


@lru_cache(maxsize=2)
def pool_activations(max_tokens: int, n_top: int) -> M.Cached:
    """The frozen bottom's activations of every polar VADER entry with ≤ ``max_tokens`` tokens, computed once."""
    lex = data.vader_polarity()
    return M.bottom_activations([lex.text[i] for i in M.short_entries(lex.text, max_tokens)], n_top)


@torch.no_grad()
def make_split(n_head: int, n_train: int, n_test: int, n_top: int, max_tokens: int, head_wd: float,
               gen: torch.Generator, pooled: bool = False) -> Split:
    """Draw disjoint head/train/test splits of the polar VADER entries with ≤ ``max_tokens`` tokens (special tokens
    included), run the frozen bottom on them (``pooled``: take them from :func:`pool_activations`, cheaper when
    many splits are drawn), and fit the head on the pre-trained top's features of the head split."""
    lex = data.vader_polarity()
    pool = M.short_entries(lex.text, max_tokens)
    if n_head + n_train + n_test > len(pool):
        raise ValueError(f"n_head + n_train + n_test = {n_head + n_train + n_test} exceeds the {len(pool)} polar "
                         f"entries with max_tokens ≤ {max_tokens}")
    pos = torch.cat(data.split(len(pool), (n_head, n_train, n_test), gen))
    idx = pool[pos]
    cached = (pool_activations(max_tokens, n_top)[pos] if pooled
              else M.bottom_activations([lex.text[i] for i in idx], n_top))
    y = lex.label[idx]
    feats = M.Top(n_top, nn.Linear(1, 1)).features(cached[:n_head])
    head = M.fit_head(feats, y[:n_head], head_wd)
    a, b = n_head, n_head + n_train
    return Split(cached[a:b], y[a:b], cached[b:], y[b:], head)


def _loss(model, split: Split) -> torch.Tensor:
    return nn.functional.cross_entropy(model(split.train), split.y_train)


def _top(split: Split, n_top: int) -> M.Top:
    return M.Top(n_top, copy.deepcopy(split.head))


def build(method: str, split: Split, n_top: int, r: int, alpha: float, s: float, seed: int) -> nn.Module:
    """The model of ``method`` at step 0 (trainable parameters set), for one seed."""
    from peft import LoraConfig, LoraGAConfig, get_peft_model
    from peft.tuners.lora.loraga import preprocess_loraga

    top = _top(split, n_top)
    if method == "full":
        for n, p in top.named_parameters():
            p.requires_grad_(any(f".{t}.weight" in n for t in TARGETS))
        return top
    torch.manual_seed(seed)
    init = {"lora": True, "lora_one": True, "lora_ga": "lora_ga", "pissa": "pissa"}[method]
    cfg = LoraConfig(r=r, lora_alpha=alpha, target_modules=TARGETS, init_lora_weights=init,
                     lora_ga_config=LoraGAConfig() if method == "lora_ga" else None)
    if method == "lora_ga":
        def train_step():
            _loss(top, split).backward()
        with warnings.catch_warnings():   # torch's note on full backward hooks inside PEFT's gradient pass
            warnings.simplefilter("ignore", UserWarning)
            preprocess_loraga(top, cfg, train_step)
    model = get_peft_model(top, cfg)
    if method == "lora_one":
        hf.initialize_lora_one_weights(model, [split], _loss, s=s)
    return model


@torch.no_grad()
def evaluate(model: nn.Module, split: Split) -> tuple[float, float]:
    """(test accuracy in %, held-out cross-entropy) of ``model`` on the test split."""
    logits = model(split.test)
    return M.accuracy(logits, split.y_test), nn.functional.cross_entropy(logits, split.y_test).item()


def train(model: nn.Module, split: Split, steps: int, lr: float, eval_at: list[int]):
    """Full-batch Adam on the trainable parameters; returns (train-loss curve (steps+1,), (test accuracy, held-out
    cross-entropy) at ``eval_at`` (len(eval_at), 2))."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    losses, accs = [], []
    for t in range(steps + 1):
        loss = _loss(model, split)
        losses.append(loss.item())
        if t in eval_at:
            accs.append(evaluate(model, split))
        if t == steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    if not all(map(lambda v: v == v and abs(v) != float("inf"), losses)):
        raise FloatingPointError("training diverged (non-finite loss)")
    return torch.tensor(losses), torch.tensor(accs)


@torch.no_grad()
def one_step_eval(split: Split, grads: dict, n_top: int, r: int, etas: list[float]):
    """(training loss, (test accuracy, held-out cross-entropy)) of W♮ + η P_r(−∇W)/σ₁ on every adapted weight, for
    each η (Algorithm 1's model at step 0 with s = 1/η). ``grads`` as returned by ``initialize_lora_one_weights`` on
    a query/value PEFT model."""
    tr, te = [], []
    svds = {name: hf.top_singular(G, r) for name, G in grads.items()}   # one SVD per weight, every η
    for eta in etas:
        top = _top(split, n_top)
        for name, usv in svds.items():
            lin = top.get_submodule(name.split("base_model.model.", 1)[-1])
            B, A = hf.factors_from_svd(*usv, s=1.0 / eta)
            lin.weight += B @ A
        tr.append(_loss(top, split).item())
        te.append(evaluate(top, split))
    return torch.tensor(tr), torch.tensor(te)


def energy_in_top(update: torch.Tensor, grad: torch.Tensor, r: int) -> float:
    """‖U_rᵀ ΔW‖²_F / ‖ΔW‖²_F with U_r the top-r left singular vectors of −∇W (out×in): the share of the update's
    energy in the gradient's top-r output-side subspace (Thm 3.1's B-row-space object, PEFT's lora_B side)."""
    U = torch.linalg.svd(-grad.double(), full_matrices=False)[0][:, :r]
    D = update.detach().double()
    return float((U.mT @ D).square().sum() / D.square().sum())


@dataclass
class LoRAOneResult:
    methods: tuple
    loss: dict                 # method → (n_seeds, steps+1) training loss
    acc: dict                  # method → (n_seeds, len(eval_at)) test accuracy (%)
    ce: dict                   # method → (n_seeds, len(eval_at)) held-out cross-entropy
    eval_at: list
    best_lr: dict
    pre_acc: torch.Tensor      # (n_seeds,) test accuracy of the pre-trained model
    pre_ce: torch.Tensor       # (n_seeds,) its held-out cross-entropy
    one_step_etas: list
    one_step_loss: torch.Tensor    # (n_seeds, n_eta) training loss
    one_step_test: torch.Tensor    # (n_seeds, n_eta) test accuracy
    one_step_ce: torch.Tensor      # (n_seeds, n_eta) held-out cross-entropy
    align_energy: torch.Tensor     # (n_seeds,) vanilla LoRA, mean over adapted modules
    r: int
    chance: float                  # r / out: the energy share of a random r-dim subspace
    extra: dict = field(default_factory=dict)


def lora_one_experiment(*, n_head, n_train, n_test, n_top, max_tokens, head_wd, r, alpha, s, steps, lrs,
                        one_step_etas, n_seeds, gen: torch.Generator, methods=METHODS) -> LoRAOneResult:
    """Every method of ``methods`` (full, lora and lora_one always; lora_ga and pissa optional) × seeds; each
    method's lr picked from ``lrs[method]`` by the median over seeds of the final training loss."""
    unknown = set(methods) - set(METHODS)
    if unknown or not {"full", "lora", "lora_one"} <= set(methods):
        raise ValueError(f"methods must include full, lora and lora_one, from {METHODS}; got {list(methods)}")
    methods = tuple(m for m in METHODS if m in methods)
    eval_at = [steps]   # the pre-trained model (step 0 of full FT and LoRA) is evaluated once per seed
    loss, acc, ce, best = {}, {}, {}, {}
    pre, os_tr, os_te, energy = [], [], [], []
    splits = [make_split(n_head, n_train, n_test, n_top, max_tokens, head_wd, gen, pooled=True)
              for _ in range(n_seeds)]
    seeds = torch.randint(0, 2 ** 31 - 1, (n_seeds,), generator=gen).tolist()
    runs, updates = {}, {}
    for m in methods:
        for lr in lrs[m]:
            curves = []
            for sp, sd in zip(splits, seeds):
                model = build(m, sp, n_top, r, alpha, s, sd)
                curves.append(train(model, sp, steps, lr, eval_at))
                if m == "lora":      # the trained vanilla-LoRA updates, for the alignment claim
                    updates[(lr, sd)] = {n: hf.effective_update(l).detach() for n, l in hf.lora_modules(model).items()}
            runs[(m, lr)] = curves
        best[m] = min(lrs[m], key=lambda lr: torch.stack([c[0][-1] for c in runs[(m, lr)]]).median().item())
        loss[m] = torch.stack([c[0] for c in runs[(m, best[m])]])
        acc[m] = torch.stack([c[1][:, 0] for c in runs[(m, best[m])]])
        ce[m] = torch.stack([c[1][:, 1] for c in runs[(m, best[m])]])
    trained_updates = {sd: updates[(best["lora"], sd)] for sd in seeds}
    for sp, sd in zip(splits, seeds):
        model = build("lora", sp, n_top, r, alpha, s, sd)
        grads = hf.initialize_lora_one_weights(model, [sp], _loss, s=s)   # ∇W at W♮ (adapters disabled)
        pre.append(evaluate(_top(sp, n_top), sp))
        a, b = one_step_eval(sp, grads, n_top, r, one_step_etas)
        os_tr.append(a)
        os_te.append(b)
        upd = trained_updates[sd]
        energy.append(sum(energy_in_top(upd[n], grads[n], r) for n in upd) / len(upd))
    out = M.load_minilm()[0].config.hidden_size
    pre, os_te = torch.tensor(pre), torch.stack(os_te)
    return LoRAOneResult(methods, loss, acc, ce, eval_at, best, pre[:, 0], pre[:, 1], list(one_step_etas),
                         torch.stack(os_tr), os_te[..., 0], os_te[..., 1], torch.tensor(energy), r, r / out)


def one_step_gain(res: LoRAOneResult) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_seeds,) gains of the one-step model over the pre-trained one, η chosen per seed by the training loss
    (ties → the smallest η): (held-out cross-entropy reduction in nats, test-accuracy gain in points)."""
    pick = res.one_step_loss.argmin(-1)[:, None]
    return (res.pre_ce - res.one_step_ce.gather(-1, pick)[:, 0],
            res.one_step_test.gather(-1, pick)[:, 0] - res.pre_acc)


def tracking_gap(loss: dict) -> dict:
    """method → (n_seeds,) mean over the curve of |log L_method − log L_full|."""
    ref = loss["full"].log()
    return {m: (loss[m].log() - ref).abs().mean(-1) for m in loss if m != "full"}


def paired_effects(res: LoRAOneResult) -> dict[str, tuple[torch.Tensor, float]]:
    """claim id → ((n_seeds,) per-seed statistic, threshold) of the claims decided on a mean over seeds."""
    gaps = tracking_gap(res.loss)
    return {"loraone-minilm-one-step": (one_step_gain(res)[0], ONE_STEP_GAIN_MIN),
            "loraone-minilm-tracks-full": (gaps["lora"] - gaps["lora_one"], TRACKING_GAIN_MIN),
            "loraone-minilm-alignment": (res.align_energy, ALIGN_ENERGY_MIN),
            "loraone-minilm-final-loss": (res.ce["lora"][:, -1] - res.ce["lora_one"][:, -1], FINAL_LOSS_GAIN_MIN)}


def seeds_needed(res: LoRAOneResult) -> dict[str, tuple[float, float]]:
    """claim id → (per-seed effect over spread |μ − threshold|/σ, seeds at which a rerun at another base seed
    reaches the same verdict with 95 % probability: :func:`stats.seeds_for_power`)."""
    out = {}
    for cid, (x, thr) in paired_effects(res).items():
        out[cid] = ((x.mean() - thr).abs() / x.std()).item(), stats.seeds_for_power(x, thr)
    return out


def lora_one_claims(res: LoRAOneResult, model: str = M.MODEL) -> list[Claim]:
    figure = "fig-loraone-minilm"
    acc_gain = one_step_gain(res)[1]
    d, dt, da, df = (stats.decide(x, thr, ">") for x, thr in paired_effects(res).values())
    fin_acc = (res.acc["lora_one"][:, -1] - res.acc["lora"][:, -1]).mean().item()
    return [
        check("loraone-minilm-one-step", paper=PAPER, kind="empirical", source="Alg. 1, Table 2", model=model,
              statement="One rank-r step along the full gradient of a small batch (Algorithm 1's model at step 0) "
                        "already improves the pre-trained model, before any training.",
              test=f"held-out cross-entropy of W♮ minus that of W♮ + η P_r(−∇W)/σ₁ (η picked per seed by the training "
                   f"loss), mean over seeds, 95% interval > {ONE_STEP_GAIN_MIN} nats (test accuracy: "
                   f"{acc_gain.mean().item():+.2f} points)",
              measured=round(d.estimate, 4), decision=d, figure=figure),
        check("loraone-minilm-tracks-full", paper=PAPER, kind="empirical", source="Fig. 1(c)", model=model,
              statement="LoRA-One's training loss tracks full fine-tuning more closely than vanilla LoRA's.",
              test="mean |log L − log L_full| over the curve: LoRA's minus LoRA-One's, mean over seeds, 95% interval "
                   f"> {TRACKING_GAIN_MIN}",
              measured=round(dt.estimate, 3), decision=dt, figure=figure),
        check("loraone-minilm-alignment", paper=PAPER, kind="empirical", source="Fig. 1(b), Thm 3.1", model=model,
              statement="Vanilla LoRA's trained update aligns with the top-r singular subspace of the one-step "
                        "full gradient.",
              test=f"share of ‖ΔW‖²_F (trained LoRA, query/value) in the top-r left singular space of −∇W at W♮, "
                   f"mean over seeds, 95% interval > {ALIGN_ENERGY_MIN} (chance {res.chance:.3f})",
              measured=round(da.estimate, 3), decision=da, figure=figure),
        check("loraone-minilm-final-loss", paper=PAPER, kind="empirical", source="Table 2", model=model,
              statement="LoRA-One fine-tunes to a better held-out model than vanilla LoRA at the same rank and budget.",
              test=f"final held-out cross-entropy, LoRA's minus LoRA-One's (nats), mean over seeds, 95% interval "
                   f"> {FINAL_LOSS_GAIN_MIN} (test accuracy, LoRA-One minus LoRA: {fin_acc:+.2f} points)",
              measured=round(df.estimate, 4), decision=df, figure=figure),
    ]


def plot_lora_one(res: LoRAOneResult):
    """Left: training loss (median over seeds) per method. Middle: held-out cross-entropy of the one-step model vs η.
    Right: share of vanilla LoRA's update energy in the gradient's top-r subspace, per seed, with chance."""
    from ... import figures

    fig, axes = figures.subplots(1, 3)
    for m in res.methods:
        axes[0].plot(res.loss[m].median(0).values, label=LABELS[m])
    axes[0].set(xlabel="step", ylabel="training loss", yscale="log")
    etas = res.one_step_etas
    axes[1].plot(etas, res.one_step_ce.mean(0), marker="o", label="one spectral step")
    axes[1].axhline(res.pre_ce.mean().item(), color="gray", ls="--", label="pre-trained")
    axes[1].set(xscale="log", xlabel=r"step size $\eta$", ylabel="held-out cross-entropy")
    figures.swept_ticks(axes[1], etas, max_labels=3)
    x = figures.jitter([0.0] * len(res.align_energy), spread=0.05)
    axes[2].scatter(x, res.align_energy, label="LoRA, trained")
    axes[2].axhline(res.chance, color="gray", ls=":", label="chance r/d")
    axes[2].axhline(ALIGN_ENERGY_MIN, color="black", ls="--", lw=0.8, label="threshold")
    axes[2].set(xticks=[], xlim=(-0.5, 0.5), ylim=(0, 1), ylabel="energy share in top-r of $-\\nabla W$")
    figures.legend_below(fig)
    return fig
