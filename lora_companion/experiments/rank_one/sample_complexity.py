"""B2/B3, sample complexity (Dayi & Chen, COLT 2025): samples to strong recovery grow linearly in d (GLM
baseline with He3: ≈ d²) and polynomially in k; slopes from log-log fits of censored medians, intervals by
bootstrap over seeds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ... import student_teacher as st
from ...claims import Claim, check
from ...stats import loglog_slope
from .tasks import _grid, make_problem, step_sizes
from .thresholds import D_SLOPE_RANGE, GLM_SLOPE_MIN, K_EXPONENT_MAX, M_STRONG, N_BOOT


# --- log-log fits with bootstrap over seeds -------------------------------------------------------------------------

@dataclass
class Fit:
    slope: float          # OLS slope of log(median T) on log(x); NaN if a median is censored
    lo: float             # 2.5% bootstrap quantile (seeds resampled with replacement at every x)
    hi: float             # 97.5%
    medians: torch.Tensor  # censored medians per x


def loglog_fit(x: list[float], T: torch.Tensor, gen: torch.Generator, n_boot: int = N_BOOT) -> Fit:
    """Fit log med_s T[x, s] = slope·log x + b. T (n_x, S) may hold inf (censored runs): a censored median makes
    the fit undefined (NaN); bootstrap resamples whose median is censored are dropped."""
    def slope(med):
        return loglog_slope(x, med)

    med = st.censored_median(T)
    idx = torch.randint(0, T.shape[1], (n_boot, *T.shape), generator=gen)
    boot = st.censored_median(torch.gather(T.expand(n_boot, -1, -1), 2, idx))
    s = torch.tensor([slope(b) for b in boot])
    s = s[torch.isfinite(s)]
    lo, hi = (torch.quantile(s, torch.tensor([0.025, 0.975], dtype=s.dtype)).tolist() if len(s) > 10
              else (float("nan"), float("nan")))
    return Fit(slope=slope(med), lo=lo, hi=hi, medians=med)


# --- B2/B3: scaling in d and in k ----------------------------------------------------------------------------------

@dataclass
class ScalingResult:
    xs: list[int]            # swept values (d or k)
    labels: list[str]        # one label per curve
    T: dict[str, torch.Tensor]  # label -> (len(xs), S) samples to strong recovery (inf = censored)
    fits: dict[str, Fit]
    budget_per_d: float
    budget: torch.Tensor     # (len(xs),) sample budget at each x


def scaling(axis: str, xs: list[int], curves: list[tuple[str, bool]], n_seeds: int, d: int, k: int, rho: float,
            c: float, batch: int, budget_per_d: float, gen: torch.Generator, device="cpu") -> ScalingResult:
    """B2 (axis='d') or B3 (axis='k'): samples to strong recovery for each curve (activation, GLM?) at each x,
    all runs batched (dimensions by masking, widths by zero outer weights). The budget is budget_per_d·d samples
    for a run of dimension d (runs of smaller d are stopped by censoring at their own budget)."""
    g = _grid(curve=list(range(len(curves))), x=xs, seed=list(range(n_seeds)))
    acts = [curves[i][0] for i in g["curve"]]
    glm = [curves[i][1] for i in g["curve"]]
    dims = g["x"] if axis == "d" else [d] * len(acts)
    ks = g["x"] if axis == "k" else [k] * len(acts)
    P = make_problem(acts, dims, ks, [rho] * len(acts), glm, gen, device=device)
    lr = step_sizes(P, c, batch, gen)
    steps = int(budget_per_d * max(dims)) // batch
    tr = st.online_sgd(P, "sphere", steps=steps, batch=batch, lr=lr, gen=gen, record_every=max(1, min(dims) // (4 * batch)))
    glm_t = torch.tensor(glm)
    m = torch.where(glm_t, tr.overlap.cpu().abs(), tr.overlap.cpu())
    T = st.hitting_time(tr.samples, m, M_STRONG)
    dims_t = torch.tensor(dims, dtype=T.dtype)
    T = torch.where(T <= budget_per_d * dims_t, T, torch.full_like(T, float("inf")))
    T = torch.where(tr.failed.cpu(), torch.full_like(T, float("nan")), T)
    out, fits, labels = {}, {}, []
    for i, (a, gl) in enumerate(curves):
        lab = f"{a}, {'GLM' if gl else 'fine-tuning'}"
        labels.append(lab)
        out[lab] = T[torch.tensor(g["curve"]) == i].view(len(xs), n_seeds)
        fits[lab] = loglog_fit(xs, out[lab], gen)
    budget = budget_per_d * torch.tensor(xs if axis == "d" else [d] * len(xs), dtype=torch.float64)
    return ScalingResult(xs=xs, labels=labels, T=out, fits=fits, budget_per_d=budget_per_d, budget=budget)


def d_claims(res: ScalingResult) -> list[Claim]:
    claims = []
    for lab in res.labels:
        if "GLM" in lab:
            continue
        f = res.fits[lab]
        ok = None if not math.isfinite(f.slope) else D_SLOPE_RANGE[0] <= f.slope <= D_SLOPE_RANGE[1]
        claims.append(check(f"rankone-linear-in-d-{lab.split(',')[0]}", paper="dayi2025lowrank",
                            statement="Fine-tuning reaches strong recovery in a number of samples linear in d.",
                            test=f"log-log slope of median samples-to-m≥{M_STRONG} vs d ({lab}) in "
                                 f"[{D_SLOPE_RANGE[0]}, {D_SLOPE_RANGE[1]}] (bootstrap 95% interval "
                                 f"[{f.lo:.2f}, {f.hi:.2f}])",
                            measured=f.slope, passed=ok, figure="fig-rankone-dimension", digits=3))
    for lab in res.labels:
        if "GLM" not in lab:
            continue
        f = res.fits[lab]
        censored_top = not math.isfinite(f.medians[-1].item())
        ok = True if censored_top else (None if not math.isfinite(f.slope) else f.slope >= GLM_SLOPE_MIN)
        reached = torch.isfinite(res.T[lab][-1]).float().mean().item()
        claims.append(check("rankone-glm-superlinear", paper="dayi2025lowrank",
                            statement="GLM regression with information exponent 3 needs superlinearly many samples "
                                      "in d (≈ d² for online SGD).",
                            test=f"{lab}: median censored at the largest d within {res.budget_per_d:g}·d samples, "
                                 f"or log-log slope ≥ {GLM_SLOPE_MIN} (measured: fraction of runs recovered at d = {res.xs[-1]})",
                            measured=reached, passed=ok, figure="fig-rankone-dimension"))
    return claims


def k_claims(res: ScalingResult) -> list[Claim]:
    his = [res.fits[lab].hi for lab in res.labels]
    worst = max(his) if all(math.isfinite(h) for h in his) else float("nan")
    slopes = ", ".join(f"{lab.split(',')[0]}: {res.fits[lab].slope:.2f}" for lab in res.labels)
    return [check("rankone-poly-in-k", paper="dayi2025lowrank",
                  statement="The number of samples grows polynomially in the width k (d·k^{O(1)}).",
                  test=f"every k reaches strong recovery (finite medians) and the upper end of the bootstrap "
                       f"interval of the k-exponent ≤ {K_EXPONENT_MAX:g} for every activation (fitted: {slopes}; "
                       f"measured: the largest upper end)",
                  measured=worst, passed=None if not math.isfinite(worst) else worst <= K_EXPONENT_MAX,
                  figure="fig-rankone-width", digits=3)]
