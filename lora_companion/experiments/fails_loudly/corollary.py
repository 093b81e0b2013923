"""A4: restricted strong convexity/smoothness against the rank bound (Table 2 analogue), computed two ways.

* the paper's Table 2 method: Monte-Carlo min/max of the RSC/RSM quotients over random feasible points
  (:func:`restricted.estimate_constants_nested`) — α̂ can only over-estimate α and, with isotropic random
  directions, misses the few negative-curvature directions of a non-convex loss;
* a method that can find negative curvature: the RSC quotient *minimised* over rank-r points
  (:func:`restricted.minimize_rsc_quotient`), a rigorous upper bound on α (cumulative over the rank grid, since
  {rank ≤ r} ⊂ {rank ≤ r′} for r < r′), beside the smallest Hessian eigenvalue at X⋆.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...restricted import RestrictedEstimate, estimate_constants_nested, hessian_min_eig, minimize_rsc_quotient


@dataclass
class RSCProfile:
    ranks: list[int]
    mc: list[RestrictedEstimate]   # Table 2's Monte-Carlo estimates α̂, β̂
    alpha_upper: list[float]       # rigorous upper bounds on α(r) (minimised quotient, cumulative over r)
    hess_min: float                # λ_min(∇²L_full(X⋆)) (the whole space, no rank restriction)

    @property
    def alpha_mc(self) -> list[float]:
        return [e.alpha for e in self.mc]

    @property
    def beta_mc(self) -> list[float]:
        return [e.beta for e in self.mc]


def constants_vs_rank(task, X_star: torch.Tensor, ranks: list[int], D: float, n_samples: int,
                      gen: torch.Generator) -> RSCProfile:
    """Both estimates of the (r, D)-constants of L_full about X⋆ for each rank bound r of ``ranks`` (sorted)."""
    ranks = sorted(ranks)
    mc = estimate_constants_nested(task.loss, X_star, ranks, D, n_samples, gen)
    ups, best = [], float("inf")
    for r in ranks:
        best = min(best, minimize_rsc_quotient(task.loss, X_star, r, D, gen).alpha_upper)
        ups.append(best)
    return RSCProfile(ranks=ranks, mc=mc, alpha_upper=ups, hess_min=hessian_min_eig(task.loss, X_star))
