"""A4: restricted strong convexity/smoothness constants α̂, β̂ against the rank bound (Table 2 analogue) and
Corollary 1 at every end point: σ_r/σ_{r*} ≤ 2α/β at an SOSP within D of X⋆ certifies a global minimum."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...restricted import RestrictedEstimate, estimate_constants_nested
from .lora_runs import EndPoints


def constants_vs_rank(task, X_star: torch.Tensor, ranks: list[int], D: float, n_samples: int,
                      gen: torch.Generator) -> list[RestrictedEstimate]:
    """α̂, β̂ of L_full about X⋆ for each rank bound r (Table 2 analogue), from nested samples (the rank-r sample
    is contained in the rank-r′ sample for r < r′): :func:`restricted.estimate_constants_nested`."""
    return estimate_constants_nested(task.loss, X_star, ranks, D, n_samples, gen)


@dataclass
class CorollaryCheck:
    """Corollary 1 at every certified end point: ratio σ_r/σ_{r*} against 2α̂/β̂ (r > r*)."""

    ratio: torch.Tensor        # (B,) σ_r(X)/σ_{r*}(X)
    threshold: float           # 2α̂/β̂
    says_global: torch.Tensor  # (B,) ratio ≤ threshold
    in_ball: torch.Tensor      # (B,) ‖X − X⋆‖_F ≤ D (where the corollary applies)
    consistent: torch.Tensor   # (B,) verdict agrees with the measured gap (only meaningful where certified)
    tail_bound: torch.Tensor   # (B,) Corollary 1(ii) lower bound on ‖X‖_F (nan where it does not apply)


def corollary_check(e: EndPoints, est: RestrictedEstimate, X_star: torch.Tensor, r_star: int, D: float) -> CorollaryCheck:
    sv = e.sv
    tiny = torch.finfo(sv.dtype).tiny
    ratio = sv[:, e.r - 1] / sv[:, r_star - 1].clamp(min=tiny)
    thr = est.ratio
    says = ratio <= thr
    in_ball = torch.linalg.matrix_norm(e.X - X_star) <= D
    consistent = says == e.is_global
    tail = sv[:, r_star:e.r].square().sum(-1)
    denom = 1 - thr * sv[:, r_star - 1] / sv[:, e.r - 1].clamp(min=tiny)
    bound = torch.where(~says & (denom > 0), (tail / denom.clamp(min=tiny)).sqrt() - X_star.norm(),
                        torch.full_like(tail, float("nan")))
    return CorollaryCheck(ratio=ratio, threshold=thr, says_global=says, in_ball=in_ball, consistent=consistent,
                          tail_bound=bound)
