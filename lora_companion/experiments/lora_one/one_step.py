"""LoRA-One E2: one step suffices (Thm 3.3, Lemma D.5).

The spectral init from G♮ alone, with zero training steps: error ~ √(d/N), relative to λ*_{r*} growing with κ;
for the ReLU model E[G♮] ≈ Δ/2, so γ = 2.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ... import inits
from ...claims import Claim, check
from ...stats import loglog_slope
from .tasks import Teacher, geometric_spectrum, make_teacher
from .thresholds import RELU_GAMMA_RATIO_MAX, SLOPE_KAPPA_RANGE, SLOPE_N_RANGE


def spectral_error(task: Teacher, r: int, gamma: float, ord="fro") -> torch.Tensor:
    """‖A₀B₀ − Δ‖ / ‖Δ‖ (same norm) for (Spectral-init) from the full-sample G♮: zero training steps."""
    A, B = inits.spectral_init(task.neg_grad(), r, gamma)
    return torch.linalg.matrix_norm(A @ B - task.delta, ord=ord) / torch.linalg.matrix_norm(task.delta, ord=ord)


@dataclass
class OneStepResult:
    ratios: list[float]          # N/d
    err_n: torch.Tensor          # (n_ratio, n_seeds) relative op error, linear, κ = 1
    kappas: list[float]
    err_kappa: torch.Tensor      # (n_kappa, n_seeds) op error / λ_{r*}(Δ), linear
    gammas: list[float]
    err_relu: torch.Tensor       # (n_gamma, n_seeds) relative Frobenius error, ReLU
    slope_n: float = 0.0
    slope_kappa: float = 0.0


def one_step_experiment(d: int, r_star: int, ratios: list[int], kappas: list[float], relu_d: int, relu_N: int,
                        kappa_ratio: int, n_seeds: int, gen: torch.Generator, device="cpu") -> OneStepResult:
    """Spectral-init error with zero training steps: vs N/d (κ = 1), vs κ (N = kappa_ratio·d), ReLU γ ∈ {1, 2}."""
    flat = geometric_spectrum(r_star, 1.0)
    err_n = torch.stack([spectral_error(make_teacher("linear", d, d, flat, q * d, n_seeds, gen, device), r_star, 1.0,
                                        ord=2) for q in ratios]).cpu()
    err_k = []
    for kappa in kappas:
        t = make_teacher("linear", d, d, geometric_spectrum(r_star, kappa), kappa_ratio * d, n_seeds, gen, device)
        err_k.append(spectral_error(t, r_star, 1.0, ord=2) * kappa)  # ‖Δ‖_op = 1, λ_{r*} = 1/κ
    relu = make_teacher("relu", relu_d, relu_d, flat, relu_N, n_seeds, gen, device)
    gammas = [1.0, 2.0]
    err_r = torch.stack([spectral_error(relu, r_star, g) for g in gammas]).cpu()
    err_k = torch.stack(err_k).cpu()
    return OneStepResult(ratios, err_n, kappas, err_k, gammas, err_r,
                         slope_n=loglog_slope(ratios, err_n.median(-1).values),
                         slope_kappa=loglog_slope(kappas, err_k.median(-1).values))


def one_step_claims(res: OneStepResult) -> list[Claim]:
    ratio = (res.err_relu[1].median() / res.err_relu[0].median()).item()
    return [
        check("loraone-one-step-rate", paper="zhang2025loraone",
              statement="Thm 3.3: the spectral init alone has ‖A₀B₀ − Δ‖_op ≤ ε‖Δ‖_op with ε ~ √(d/N).",
              test=f"log-log slope of the median error against N/d in [{SLOPE_N_RANGE[0]}, {SLOPE_N_RANGE[1]}]",
              measured=res.slope_n, passed=SLOPE_N_RANGE[0] <= res.slope_n <= SLOPE_N_RANGE[1],
              figure="fig-loraone-one-step"),
        check("loraone-one-step-kappa", paper="zhang2025loraone",
              statement="Thm 3.3: to stay below λ*_{r*}/2 the sample size must grow with κ (ε ≤ 1/(2κ)): the error "
                        "relative to λ*_{r*} grows with κ.",
              test=f"log-log slope of the median ‖A₀B₀ − Δ‖_op/λ*_{{r*}} against κ in "
                   f"[{SLOPE_KAPPA_RANGE[0]}, {SLOPE_KAPPA_RANGE[1]}]",
              measured=res.slope_kappa, passed=SLOPE_KAPPA_RANGE[0] <= res.slope_kappa <= SLOPE_KAPPA_RANGE[1],
              figure="fig-loraone-one-step"),
        check("loraone-relu-gamma", paper="zhang2025loraone",
              statement="Lemma D.5 / Thm 4.2: for the ReLU model E[G♮] ≈ Δ/2, so γ = 2 is the right spectral-init scale.",
              test=f"median relative error with γ = 2 ≤ {RELU_GAMMA_RATIO_MAX} × that with γ = 1",
              measured=ratio, passed=ratio <= RELU_GAMMA_RATIO_MAX, figure="fig-loraone-one-step"),
    ]
