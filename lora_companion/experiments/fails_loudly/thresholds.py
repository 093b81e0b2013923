"""Every claim threshold of the fails-loudly chapter (Kim, Kim, Ryu 2025), fixed before any run, each with its
justification: the claims (:mod:`.claims`), the SOSP test (:mod:`.lora_runs`) and the ε-rank (:mod:`.sgd_rank`)
read them from here."""
from ...claims import ThresholdChange

#: A1: prox-gradient solutions count only if their relative prox residual is below this
PROX_TOL = 1e-8
#: A2 (brief): zero-init LoRA with r ≥ r* is "global" if (F − F*)/F* < this
A2_GAP = 1e-6
#: A2: balancedness ‖AᵀA − BᵀB‖_F / ‖X‖_F below this (0 at every stationary point of the weight-decayed objective)
A2_IMBALANCE = 1e-3
#: A2: for r < r* the gap must be at least this (a clearly positive gap, far above A2_GAP)
A2_UNDER_GAP = 1e-3
#: A3: an end point is global if its relative gap is below this (spurious gaps are O(1) when they occur)
GLOBAL_GAP = 1e-4
#: A3: approximate SOSP: ‖∇L_λ^lora‖ ≤ GRAD_TOL and λ_min(∇²L_λ^lora) ≥ −EIG_TOL (absolute, float64)
GRAD_TOL = 1e-6
EIG_TOL = 1e-6
#: Newton refinement stops once every run's gradient norm is below this (a solver tolerance, not a claim threshold:
#: 10⁻⁶ × GRAD_TOL, so stopping there changes no certificate; quadratic convergence gets there in a few steps)
NEWTON_TOL = 1e-12
#: A3: "large norm": a spurious point's ‖X‖_F must exceed this multiple of the largest global end point's
NORM_FACTOR = 1.5
#: A3: initialization scales s ≤ this count as "small" (the regime LoRA actually uses: s = 0 is B = 0)
SMALL_SCALE = 1.0
#: A5: the tolerance ε of the ε-rank (relative Frobenius distance of X̃/‖X̃‖_F to the nearest rank-k matrix)
EPS_RANK = 0.2
#: A2/A3: distinct end points: two end points are the same point if ‖X_i − X_j‖_F ≤ this × max(1, ‖X_i‖_F)
#: (end points are Newton-polished to ‖∇‖ ≤ 1e-6, so one SOSP reached twice agrees to ~1e-6; distinct SOSPs
#: of these tasks are O(0.1–1) apart)
DISTINCT_TOL = 1e-4
#: A2/A3: success-rate thresholds decided on the exact Clopper–Pearson interval (stats.decide_rate). The paper
#: reports that zero/small initializations never ended at a spurious point (Sec. 3.4, App. C), i.e. a rate near 1;
#: with the book's 8–12 (A2: 4 seeds × the LoRA ranks ≥ r*) and 30 (A3) runs, a perfect record has a 95 % lower bound
#: of 0.63–0.74 and 0.884, so "most runs succeed" (rate > 1/2) is what A2 can establish and "rate ≥ 0.8" what 30 runs
#: can. Fixed before the run.
ZERO_INIT_RATE = 0.5
SMALL_INIT_RATE = 0.8
#: A5: Lemma 1 assumes the SGD iterates converge; a run counts as (approximately) converged when max/min of ‖X_t‖_F
#: over the last 100 steps is at most this (a 10 % fluctuation)
DRIFT_TOL = 1.1
#: thresholds changed after a run was seen (shown on the claims page)
THRESHOLD_CHANGES: list[ThresholdChange] = []
