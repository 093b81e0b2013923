"""Every claim threshold of the fails-loudly chapter (Kim, Kim, Ryu 2025), fixed before any run, each with its
justification: the claims (:mod:`.claims`), the SOSP test (:mod:`.lora_runs`) and the ε-rank (:mod:`.sgd_rank`)
read them from here."""

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
#: A3: "large norm": a spurious point's ‖X‖_F must exceed this multiple of the largest global end point's
NORM_FACTOR = 1.5
#: A3: initialization scales s ≤ this count as "small" (the regime LoRA actually uses: s = 0 is B = 0)
SMALL_SCALE = 1.0
#: A5: the tolerance ε of the ε-rank (relative Frobenius distance of X̃/‖X̃‖_F to the nearest rank-k matrix)
EPS_RANK = 0.2
