"""Claim thresholds of the rank-1 chapter (Dayi & Chen, COLT 2025) and the bootstrap size of its slope
intervals: all in one place, fixed before any run, each with its one-line justification.
"""

#: strong and weak recovery thresholds on the overlap m = ⟨v, v*⟩
M_STRONG, M_WEAK = 0.95, 0.5
#: B1: the GLM baseline "stays near 1/√d" if its median final |m|·√d is at most this
GLM_STUCK_SQRT_D = 3.0
#: B2: accepted window for the log-log slope of samples-to-strong-recovery vs d (theory: 1)
D_SLOPE_RANGE = (0.75, 1.25)
#: B2: the GLM baseline with He3 is "superlinear" if censored at the largest d or its slope is at least this
GLM_SLOPE_MIN = 1.5
#: B3: "polynomial in k with a modest exponent": upper end of the bootstrap interval of the k-exponent at most this
K_EXPONENT_MAX = 3.0
#: B4/B5: a predictor "fits" when its relative test error is at most this
MSE_FIT = 0.05
#: B5: the kernel predictor keeps a Θ(1) residual at ρ = 1 if its relative error is at least this
KERNEL_RICH_MIN = 0.2
#: B5: the kernel is "near-perfect" in the lazy regime if its relative error at the smallest ρ is at most this
KERNEL_LAZY_MAX = 0.05
#: bootstrap resamples for slope intervals
N_BOOT = 400
