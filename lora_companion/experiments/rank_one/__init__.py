"""Rank-1 fine-tuning beyond kernels (Dayi & Chen, COLT 2025): experiments B1–B5, fits, claims and figures.

Modules: ``thresholds`` (claim thresholds, fixed before any run), ``tasks`` (student–teacher problems, step sizes),
``recovery`` (B1), ``sample_complexity`` (B2/B3, log-log fits), ``method_comparison`` (B4), ``lazy_rich`` (B5), ``base_strength`` (B6, our extension),
``plots``. Every public name is re-exported here, so ``rank_one.name`` works for all of them.
"""
from .base_strength import BaseStrengthResult, base_strength, base_strength_claims, drift, plot_base_strength, slowdown
from .lazy_rich import LazyRichResult, lazy_rich_claims, lazy_to_rich
from .method_comparison import METHODS, MethodsResult, methods, methods_claims, methods_table
from .plots import plot_lazy_rich, plot_methods, plot_overlap, plot_scaling
from .recovery import RecoveryResult, b1_claims, b1_table, hermite_independence, theorem_hypotheses
from .sample_complexity import (Fit, ScalingResult, d_claims, dlogd_note, k_claims, loglog_fit, scaling,
                                scaling_decision)
from .tasks import lora_step_u, make_problem, step_sizes
from .thresholds import (D_SLOPE_MAX, GLM_STUCK_SQRT_D, K_EXPONENT_MAX, KERNEL_LAZY_MAX, KERNEL_RICH_MIN, M_STRONG,
                         M_WEAK, MSE_FIT, N_BOOT, RATE_MIN, SLOWDOWN_FAST_MAX, SLOWDOWN_SLOW_MIN, THRESHOLD_CHANGES)

__all__ = [
    "D_SLOPE_MAX", "GLM_STUCK_SQRT_D", "K_EXPONENT_MAX", "KERNEL_LAZY_MAX", "KERNEL_RICH_MIN",
    "M_STRONG", "M_WEAK", "MSE_FIT", "N_BOOT", "RATE_MIN", "SLOWDOWN_SLOW_MIN", "SLOWDOWN_FAST_MAX", "THRESHOLD_CHANGES",
    "make_problem", "step_sizes", "lora_step_u",
    "RecoveryResult", "hermite_independence", "b1_table", "b1_claims", "theorem_hypotheses",
    "Fit", "loglog_fit", "ScalingResult", "scaling", "scaling_decision", "dlogd_note", "d_claims", "k_claims",
    "METHODS", "MethodsResult", "methods", "methods_table", "methods_claims",
    "LazyRichResult", "lazy_to_rich", "lazy_rich_claims",
    "BaseStrengthResult", "base_strength", "base_strength_claims", "drift", "slowdown", "plot_base_strength",
    "plot_overlap", "plot_scaling", "plot_methods", "plot_lazy_rich",
]
