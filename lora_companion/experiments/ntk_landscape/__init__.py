"""LoRA in the NTK regime (Jang, Lee, Ryu 2024): the linearized fine-tuning problem, its convex (nuclear-norm)
relaxation and LoRA's factored form, as batched experiments whose checks can fail.

Setting (paper Sec. 2, our notation). Pre-trained weight W0 (m×n), features G(x) = ∂f(W0; x)/∂W ∈ R^{K×m×n},
linearized outputs f0(x) + ⟨G(x), δ⟩. Empirical risk L̂(δ) = (1/N) Σ_i ℓ(f0(x_i) + ⟨G(x_i), δ⟩, y_i) with ℓ the
squared loss ½‖·−y‖² or softmax cross-entropy. LoRA writes δ = U Vᵀ (U m×r = PEFT ``lora_B``, V n×r = ``lora_A``ᵀ)
and minimizes L̂(UVᵀ) + (λ/2)(‖U‖² + ‖V‖²), the factored form of the convex problem min L̂(δ) + λ‖δ‖_*.

Data layout: D datasets (sweep points × seeds), each padded to N_max points with weight 0 on padding; P runs
(ranks × inits) share each dataset, so LoRA parameters have a leading dimension D·P and predictions are one
batched matmul per dataset.

Modules: ``thresholds`` (every claim threshold, fixed before any run), ``tasks`` (linearized problems and their
convex solutions), ``factored`` (LoRA on the factored objective), one module per experiment group with its claims —
``low_rank`` (E1), ``no_spurious`` (E2, E3), ``real_features`` (E4), ``generalization`` (E5) — and ``plots``.
"""
from ...stats import loglog_slope
from .factored import INITS, LoRARuns, init_factors, lora_objective, rank_mask, train_lora
from .generalization import GeneralizationResult, generalization_claims, generalization_experiment
from .low_rank import RankSweep, rank_bound_claims, rank_claims, rank_sweep, ridge_claims, sqrt_growth_claims
from .no_spurious import (BalanceResult, ControlResult, LandscapeResult, above_threshold, balance, balance_claims,
                          landscape_claims, landscape_experiment, landscape_on_task, no_spurious_claims,
                          rank_star_claims, zero_decay_control)
from .plots import (plot_balance, plot_curves, plot_drift, plot_generalization, plot_rank_vs_n, plot_real_rank,
                    plot_thresholds)
from .real_features import (DriftResult, Pretrained, drift_claims, drift_experiment, jacobian_task, mlp_batched,
                            pretrain_mlp, real_claims, real_rank_sweep)
from .tasks import (LinearTask, normalized, random_task, ridge_interpolant, solve_convex, teacher_task,
                    unit_lipschitz)
from .thresholds import (BOUND_SLACK, DRIFT_SLOPE_RANGE, EIG_TOL, GEN_SLOPE_MAX, GRAD_TOL, INIT_DEPENDENCE_MIN,
                         LORA_CONVEX_TEST_RTOL, RATE_MIN, REACH_TOL, RIDGE_FULL_FRACTION, SQRT_SLOPE_RANGE,
                         THRESHOLD_CHANGES)

__all__ = [
    "BOUND_SLACK", "DRIFT_SLOPE_RANGE", "EIG_TOL", "GEN_SLOPE_MAX", "GRAD_TOL", "INIT_DEPENDENCE_MIN",
    "LORA_CONVEX_TEST_RTOL", "RATE_MIN", "REACH_TOL", "RIDGE_FULL_FRACTION", "SQRT_SLOPE_RANGE", "THRESHOLD_CHANGES",
    "LinearTask", "random_task", "solve_convex", "normalized", "ridge_interpolant", "teacher_task", "unit_lipschitz",
    "INITS", "LoRARuns", "rank_mask", "lora_objective", "init_factors", "train_lora",
    "RankSweep", "rank_sweep", "rank_claims", "rank_bound_claims", "sqrt_growth_claims", "ridge_claims",
    "LandscapeResult", "landscape_experiment", "landscape_on_task", "landscape_claims", "no_spurious_claims",
    "rank_star_claims", "above_threshold",
    "BalanceResult", "ControlResult", "balance", "zero_decay_control", "balance_claims",
    "mlp_batched", "Pretrained", "pretrain_mlp", "jacobian_task", "real_rank_sweep", "DriftResult",
    "drift_experiment", "drift_claims", "real_claims",
    "GeneralizationResult", "generalization_experiment", "generalization_claims",
    "plot_rank_vs_n", "plot_thresholds", "plot_curves", "plot_balance", "plot_real_rank", "plot_drift",
    "plot_generalization",
    "loglog_slope",
]
