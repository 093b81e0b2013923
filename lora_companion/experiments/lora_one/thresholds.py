"""LoRA-One (Zhang, Liu, Chen 2025): every claim threshold of the chapter, each with its justification.

They are fixed before any run; the claims functions of the experiment modules only compare measurements with them.
"""
#: Thm 3.1 is exact: the part of B_t's row space outside V_{r*}(G♮), relative to ‖B_t‖, is float64 round-off.
LEAK_TOL = 1e-10
#: Thm 3.2 / Fig. 2: the smallest init scale must bring A's top-r* subspace within this sin θ_max of U_{r*}(G♮).
ALIGN_SMALL_INIT_MAX = 0.3
#: "aligned" level used to time alignment in the d sweep (sin θ_max)
ALIGN_LEVEL = 0.5
#: Thm 3.3: accepted range of the log-log slope of the spectral-init error against N/d (theory: −½).
SLOPE_N_RANGE = (-0.6, -0.4)
#: Thm 3.3: error relative to λ_{r*}(Δ) grows about linearly in κ: accepted log-log slope range.
SLOPE_KAPPA_RANGE = (0.75, 1.25)
#: Lemma D.5 (ReLU): γ = 2 must at least halve the spectral-init error of γ = 1.
RELU_GAMMA_RATIO_MAX = 0.5
#: Appendix C.3: preconditioned GD is κ-free: steps(κ_max) / steps(κ=1) at most this; plain GD at least GD_KAPPA_MIN.
PRECOND_KAPPA_MAX, GD_KAPPA_MIN = 2.0, 3.0
#: Fig. 4: LoRA-One reaches relative risk ≤ SUCCESS_RISK within the step budget; LoRA-GA/LoRA-SB stay ≥ FAIL_RISK.
SUCCESS_RISK, FAIL_RISK = 1e-6, 1e-2
#: the spectral advantage over random init under the same optimizer: steps ratio at least this.
INIT_ADVANTAGE_MIN = 2.0
#: Thm 4.2: ‖A_tB_t − Δ‖_F / ‖A_0B_0 − Δ‖_F ≤ (1 − η/4)^t while the error is above this floor (float64 noise).
CONTRACTION_FLOOR = 1e-9
#: E7: the tuned one-step rank-r update must raise test accuracy on the new task by at least this (points).
ONE_STEP_GAIN_MIN = 20.0
