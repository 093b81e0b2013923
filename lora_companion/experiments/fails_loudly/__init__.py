"""Kim, Kim, Ryu 2025 — "LoRA training provably converges to a low-rank global minimum or it fails loudly".

Convention (the paper's letters, Sec. 1.3): the update of a weight W₀ ∈ R^{m×n} is X = A Bᵀ with A (m×r) and
B (n×r); their A is PEFT's ``lora_B`` and their B is PEFT's ``lora_A``ᵀ (see :mod:`lora_companion.lora`). LoRA
objective with weight decay as an explicit L2 term (Sec. 1.3):

    L_λ^lora(A, B) = L_full(ABᵀ) + (λ/2)(‖A‖_F² + ‖B‖_F²),   global minimum := that of L_full(X) + λ‖X‖_*.

Every function is batched over runs (leading dimension). The modules:

* :mod:`.thresholds` — every claim threshold, fixed before any run;
* :mod:`.tasks` — the teacher–student and matrix-sensing tasks;
* :mod:`.regularized` — A1: the nuclear-norm-regularized full fine-tuning path (F*);
* :mod:`.lora_runs` — LoRA init, training, Newton refinement, end points and their SOSP certificates (A2, A3);
* :mod:`.corollary` — A4: restricted constants vs rank (Monte-Carlo and minimised RSC quotient);
* :mod:`.sgd_rank` — A5: Lemma 1, SGD with weight decay is approximately low rank;
* :mod:`.claims` — the claims of A1–A5; :mod:`.plots` — their figures.
"""
from ...restricted import estimate_constants
from .claims import (PAPER, corollary_claims, dichotomy_claims, distinct, lemma1_claims, regularized_claims,
                     rsc_claims, special_regime_claims, success_claims, take, theorem1_bounds, theorem1_claims,
                     theorem2_claims)
from .corollary import RSCProfile, constants_vs_rank
from .lora_runs import (EndPoints, end_points, factored_derivatives, init_factors, lora_loss, lora_objective,
                        newton_polish, run_sweep, stable_lr, train_lora)
from .plots import plot_constants, plot_corollary, plot_dichotomy, plot_lemma1, plot_regularized, plot_success
from .regularized import RegularizedPath, regularized_path
from .sgd_rank import SGDRuns, eps_rank, lemma1_bound, minibatch_grad, sgd_weight_decay
from .tasks import (MatrixSensing, TeacherStudent, batched_loss, hessian_max_at_zero, matrix_sensing,
                    teacher_student)
from .tasks import _planted  # noqa: F401  (tests rebuild a task from the same draws)
from .thresholds import (A2_GAP, A2_IMBALANCE, A2_UNDER_GAP, DISTINCT_TOL, DRIFT_TOL, EIG_TOL, EPS_RANK, GLOBAL_GAP,
                         GRAD_TOL, NORM_FACTOR, PROX_TOL, SMALL_INIT_RATE, SMALL_SCALE, ZERO_INIT_RATE)

__all__ = [
    # thresholds
    "A2_GAP", "A2_IMBALANCE", "A2_UNDER_GAP", "DISTINCT_TOL", "DRIFT_TOL", "EIG_TOL", "EPS_RANK", "GLOBAL_GAP",
    "GRAD_TOL", "NORM_FACTOR", "PROX_TOL", "SMALL_INIT_RATE", "SMALL_SCALE", "ZERO_INIT_RATE",
    # tasks
    "MatrixSensing", "TeacherStudent", "batched_loss", "hessian_max_at_zero", "matrix_sensing",
    "teacher_student",
    # experiments
    "RegularizedPath", "regularized_path",
    "EndPoints", "end_points", "factored_derivatives", "init_factors", "lora_loss", "lora_objective", "newton_polish", "run_sweep",
    "stable_lr", "train_lora",
    "RSCProfile", "constants_vs_rank", "estimate_constants",
    "SGDRuns", "eps_rank", "lemma1_bound", "minibatch_grad", "sgd_weight_decay",
    # claims and figures
    "PAPER", "corollary_claims", "dichotomy_claims", "distinct", "lemma1_claims", "regularized_claims", "rsc_claims",
    "special_regime_claims", "success_claims", "take", "theorem1_bounds", "theorem1_claims", "theorem2_claims",
    "plot_constants", "plot_corollary", "plot_dichotomy", "plot_lemma1", "plot_regularized", "plot_success",
]
