"""LoRA-One (Zhang, Liu, Chen 2025): teacher tasks, alignment metrics, the experiments E1–E7, claims and plots.

One module per part of the chapter; every public name is re-exported here, so ``from lora_companion.experiments
import lora_one as E`` then ``E.name`` reaches all of them:

- :mod:`.thresholds`: every claim threshold, fixed before any run, each with its justification;
- :mod:`.tasks`: the teacher tasks of Section 2, the methods (init + effective update) and the training harness;
- :mod:`.alignment`: E1, alignment under vanilla LoRA (Thm 3.1, Thm 3.2, Fig. 2);
- :mod:`.one_step`: E2, one step suffices (Thm 3.3, Lemma D.5);
- :mod:`.preconditioning`: E3 + E5, preconditioning and κ (App. C, Eq. 9, Thm 4.2);
- :mod:`.init_comparison`: E4 + E6, which subspace to start in (Fig. 4, Section 5) and the practical recipe;
- :mod:`.digits`: E7, a small real model (Fig. 1(b)/(c), Table 2 analogues);
- :mod:`.phase_portrait`: E8, the smallest problem drawn whole (Fig. 3);
- :mod:`.plots`: the figures of every experiment.
"""
from ...stats import loglog_slope
from .alignment import (AlignmentResult, alignment_angle, alignment_claims, alignment_experiment, row_space_leak,
                        singular_bases)
from .digits import (DIGITS_LABELS, DIGITS_METHODS, Digits, DigitsResult, accuracy, digits_claims, digits_experiment,
                     finetune, load_digits_task, make_mlp, one_step_update, pretrain, trajectory_distance)
from .init_comparison import (METHODS, InitResult, RecipeResult, censored_steps, init_claims, init_experiment, recipe_claims,
                              recipe_experiment)
from .one_step import (OneStepResult, one_step_claims, one_step_experiment, per_seed_slopes, sample_size_needed,
                       spectral_error)
from .phase_portrait import (PortraitResult, distance_to_minimizers, median_steps, plot_portrait, portrait_claims,
                             portrait_experiment)
from .plots import (LABELS, plot_alignment, plot_alignment_d, plot_contraction, plot_digits, plot_inits, plot_kappa,
                    plot_one_step, plot_recipe)
from .preconditioning import (ContractionResult, KappaResult, assumption_41, contraction_claims, kappa_claims, kappa_experiment,
                              relu_contraction)
from .tasks import Method, Teacher, Tracker, geometric_spectrum, make_method, make_teacher, run_method, steps_to
from .thresholds import (ALIGN_GAP_MIN, ALIGN_SMALL_INIT_MAX, ASSUMPTION_41, AUC_GAP_MIN, CONTRACTION_FLOOR,
                         EARLY_TARGET, FAIL_RISK, GD_KAPPA_MIN, HALF, INIT_ADVANTAGE_MIN, LEAK_TOL, N_KAPPA_SLOPE_MIN,
                         ONE_STEP_GAIN_MIN, PRECOND_KAPPA_MAX, RELU_GAMMA_RATIO_MAX, RHO_MAX, SLOPE_N_RANGE,
                         SUCCESS_RISK, THRESHOLD_CHANGES)

__all__ = [
    # thresholds
    "LEAK_TOL", "ALIGN_SMALL_INIT_MAX", "ALIGN_GAP_MIN", "SLOPE_N_RANGE", "N_KAPPA_SLOPE_MIN", "HALF",
    "RELU_GAMMA_RATIO_MAX", "PRECOND_KAPPA_MAX", "GD_KAPPA_MIN", "SUCCESS_RISK", "FAIL_RISK", "INIT_ADVANTAGE_MIN",
    "EARLY_TARGET", "CONTRACTION_FLOOR", "RHO_MAX", "ASSUMPTION_41", "AUC_GAP_MIN", "ONE_STEP_GAIN_MIN",
    "THRESHOLD_CHANGES",
    # tasks, methods, training
    "geometric_spectrum", "Teacher", "make_teacher", "Method", "make_method", "Tracker", "run_method", "steps_to",
    "loglog_slope",
    # E1
    "singular_bases", "alignment_angle", "row_space_leak", "AlignmentResult", "alignment_experiment",
    "alignment_claims",
    # E2
    "spectral_error", "per_seed_slopes", "sample_size_needed", "OneStepResult", "one_step_experiment", "one_step_claims",
    # E3 + E5
    "KappaResult", "kappa_experiment", "kappa_claims", "ContractionResult", "assumption_41", "relu_contraction", "contraction_claims",
    # E4 + E6
    "METHODS", "InitResult", "censored_steps", "init_experiment", "init_claims", "RecipeResult", "recipe_experiment", "recipe_claims",
    # E7
    "DIGITS_METHODS", "DIGITS_LABELS", "Digits", "load_digits_task", "make_mlp", "accuracy", "pretrain",
    "one_step_update", "DigitsResult", "finetune", "digits_experiment", "trajectory_distance", "digits_claims",
    # E8
    "PortraitResult", "portrait_experiment", "portrait_claims", "distance_to_minimizers", "median_steps",
    "plot_portrait",
    # plots
    "LABELS", "plot_alignment", "plot_alignment_d", "plot_one_step", "plot_kappa", "plot_contraction", "plot_inits",
    "plot_recipe", "plot_digits",
]
