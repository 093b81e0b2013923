"""A1: regularized full fine-tuning, min L_full(X) + λ‖X‖_* by proximal gradient over a grid of λ (Table 1
analogue); its value F* = min L_full + λ‖·‖_* is the global minimum every LoRA end point is measured against."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...landscape import solve_nuclear
from ...linalg import nuclear_norm, numerical_rank
from .tasks import batched_loss, hessian_max_at_zero
from .thresholds import PROX_TOL


@dataclass
class RegularizedPath:
    """Proximal-gradient solutions X_λ of min L_full(X) + λ‖X‖_* for a grid of λ (Table 1 analogue)."""

    lams: torch.Tensor       # (K,)
    X: torch.Tensor          # (K, m, n)
    objective: torch.Tensor  # (K,) L_full(X_λ) + λ‖X_λ‖_*
    residual: torch.Tensor   # (K,) relative prox residual
    rank: torch.Tensor       # (K,) numerical rank (rtol = linalg.RANK_RTOL)
    nuclear: torch.Tensor    # (K,) ‖X_λ‖_*
    loss0: float             # L_full(0)

    @property
    def nuclear_bound_ratio(self) -> torch.Tensor:
        """λ‖X_λ‖_* / L(0): ≤ 1 whenever X_λ beats X = 0 (Sec. 3.4, ‖X⋆‖_* ≤ L(0)/λ)."""
        return self.lams * self.nuclear / self.loss0


def regularized_path(task, lams: torch.Tensor, *, max_iter: int, step_scale: float = 1.0,
                      accelerated: bool = True) -> RegularizedPath:
    """Proximal gradient (ISTA: gradient step, then singular-value soft-thresholding), started at X = 0, for
    every λ at once (:func:`landscape.solve_nuclear` with ``accelerated=False``).

    On a convex loss this is the global minimizer. On the non-convex teacher–student loss it is, as in the paper's
    Table 1, the stationary point proximal gradient reaches from the pre-trained model; A3 compares it with every
    LoRA end point. The step is 1/(``step_scale``·λ_max(∇²L(0))), a heuristic Lipschitz bound for the
    non-convex case; convergence is checked through the prox residual.
    """
    m, n = task.shape
    lams = torch.as_tensor(lams, dtype=task.X_true.dtype, device=task.X_true.device)
    lip = step_scale * hessian_max_at_zero(task)
    sol = solve_nuclear(batched_loss(task), (len(lams), m, n), lams, lipschitz=lip, max_iter=max_iter,
                        tol=PROX_TOL, accelerated=accelerated, loss_grad=lambda X: task.loss_and_grad(X)[1],
                        x0=torch.zeros(len(lams), m, n, dtype=lams.dtype, device=lams.device))
    return RegularizedPath(lams=lams, X=sol.X, objective=sol.objective, residual=sol.residual,
                           rank=numerical_rank(sol.X), nuclear=nuclear_norm(sol.X),
                           loss0=task.loss(torch.zeros(m, n, dtype=lams.dtype, device=lams.device)).item())
