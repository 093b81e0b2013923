"""Claim thresholds of the rank-1 chapter (Dayi & Chen, COLT 2025): all in one place, each with its derivation.

Every statistical claim is decided over seeds by :func:`lora_companion.stats.decide` (Student-t interval of a
mean, percentile bootstrap interval of any other statistic) or :func:`lora_companion.stats.decide_rate`
(Clopper–Pearson interval of a success rate) against one of these thresholds: ``reproduced`` when the whole 95 %
interval lies on the claimed side.
"""
from lora_companion.claims import ThresholdChange

#: strong and weak recovery thresholds on the overlap m = ⟨v, v*⟩ (the brief's T_strong / T_weak)
M_STRONG, M_WEAK = 0.95, 0.5
#: "w.h.p." read as a majority: a success rate is claimed above 1/2 (the least a convergence theorem must give)
RATE_MIN = 0.5
#: B1: the GLM baseline "stays on the equator" if the median of |m|·√d over runs is below 3: at a uniformly random
#: start |m|·√d ≈ |N(0, 1)| (median 0.67), and 3 is three standard deviations of the start
GLM_STUCK_SQRT_D = 3.0
#: B2: the d-exponent of the samples to strong recovery is claimed below 1.5, the midpoint between the theorem's
#: linear rate (exponent 1) and the GLM rate d^{p−1} = d² for information exponent p = 3
D_SLOPE_MAX = 1.5
#: B3 (extension): "a modest polynomial" in k: the k-exponent below 3
K_EXPONENT_MAX = 3.0
#: B4/B5: a predictor "fits" when its relative test error is at most this (the brief's MSE ≤ 0.05)
MSE_FIT = 0.05
#: B5: the kernel predictor keeps a Θ(1) residual at ρ = 1 if its median relative error is above this
KERNEL_RICH_MIN = 0.2
#: B5 (sanity): the kernel is "near-perfect" in the lazy regime if its relative error at the smallest ρ is below this
KERNEL_LAZY_MAX = 0.05
#: bootstrap resamples for the slope intervals shown in tables (claims use stats.decide)
N_BOOT = 400

#: B6 (extension, :mod:`.base_strength`): from ρ = 1 to ρ = 4 the drift at the equator D_σ(ρ) falls 38-fold for He3
#: (c₁ = c₂ = 0: D ∝ ξ²·3q₀², q₀ = 1/(1+ρ²)) and rises 1.5-fold for ReLU (c₁ = ½). The κ-normalised step and the GLM
#: drift 3m² at |m| ~ 1/√d both shorten He3's slow phase, so we claim an order of magnitude less than 38: a median
#: slowdown of at least 4 for He3, and at most 2 for ReLU (predicted 0.67; 2 leaves a factor 3 for the step
#: normalisation). Fixed before the run, from the derivation alone.
SLOWDOWN_SLOW_MIN, SLOWDOWN_FAST_MAX = 4.0, 2.0

THRESHOLD_CHANGES: list[ThresholdChange] = []
