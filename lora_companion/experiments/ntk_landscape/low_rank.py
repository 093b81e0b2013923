"""E1: rank of the regularized solution (Jang, Lee, Ryu 2024, claim (i)).

rank(δ*_λ) against N for several K and λ, compared with the bound r_P(KN) (r(r+1)/2 ≤ KN), the √N growth, and the
minimum-Frobenius (ridge) interpolant, which is not low rank.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...claims import Claim, Hypothesis, check
from ...landscape import nuclear_certificate
from ...linalg import numerical_rank, pataki_rank_bound
from ...stats import decide_between, decide_rate, loglog_slope
from .tasks import random_task, ridge_interpolant, solve_convex
from .thresholds import RATE_MIN, RIDGE_FULL_FRACTION, SQRT_SLOPE_RANGE


@dataclass
class RankSweep:
    Ns: list[int]
    K: int
    lam_rels: list[float]
    rank: torch.Tensor          # (n_lam, n_N, n_seeds) rank of δ*_λ
    ridge_rank: torch.Tensor    # (n_N, n_seeds)
    pataki: list[int]           # r_P(KN) per N
    full_rank: list[int]        # min(KN, m, n) per N
    min_mn: int
    certified: torch.Tensor     # (n_lam, n_N, n_seeds) dual certificate holds at δ*
    converged: torch.Tensor     # same shape, solver residual ≤ tol


def rank_sweep(Ns, K, m, n, n_seeds, lam_rels, gen, device="cpu") -> RankSweep:
    """rank(δ*_λ) for λ = λ_rel·λ_max over N and seeds (one batched solve per λ), and the ridge contrast."""
    task = random_task(Ns, K, m, n, n_seeds, gen, device=device)
    lmax = task.lam_max()
    ranks, cert, conv = [], [], []
    for rel in lam_rels:
        sol = solve_convex(task, rel * lmax)
        ranks.append(numerical_rank(sol.X))
        cert.append(nuclear_certificate(lambda X: task.risk(X[:, None])[:, 0], sol.X, rel * lmax).holds(1e-4))
        conv.append(sol.converged)
    shape = (len(lam_rels), len(Ns), n_seeds)
    return RankSweep(Ns=list(Ns), K=K, lam_rels=list(lam_rels), rank=torch.stack(ranks).reshape(shape).cpu(),
                     ridge_rank=numerical_rank(ridge_interpolant(task)).reshape(shape[1:]).cpu(),
                     pataki=[pataki_rank_bound(K * N) for N in Ns], full_rank=[min(K * N, m, n) for N in Ns], min_mn=min(m, n),
                     certified=torch.stack(cert).reshape(shape).cpu(), converged=torch.stack(conv).reshape(shape).cpu())


def rank_bound_claims(claim_id: str, setting: str, rank: torch.Tensor, pataki: torch.Tensor, valid: torch.Tensor,
                      lam: float, loss: str, figure: str) -> list[Claim]:
    """Theorem (i) on a family of instances: rank(δ*_λ) ≤ r_P(KN) on every instance.

    ``rank``, ``pataki`` (r_P(KN) broadcast to the same shape) and ``valid`` (the solve converged and its dual
    certificate holds) are flat tensors over instances. A single certified violation is a counterexample and
    decides "not reproduced"; otherwise the Clopper–Pearson interval of the rate of certified instances within the
    bound must lie above RATE_MIN (uncertified solves count as failures)."""
    violations = int(((rank > pataki) & valid).sum())
    ok = int(((rank <= pataki) & valid).sum())
    d = decide_rate(ok, rank.numel(), RATE_MIN, ">=")
    hyps = [Hypothesis("weight decay λ > 0", lam, lam > 0),
            Hypothesis("loss convex and twice differentiable", loss, loss in ("squared", "ce"))]
    return [check(claim_id, paper="jang2024lora", kind="theorem", source="abstract (i); Sec. 3 (our reading)",
                  statement="Full fine-tuning with nuclear-norm regularization (weight decay) has a solution of rank r "
                            f"with r(r+1)/2 ≤ KN ({setting}).",
                  test=f"no certified instance with rank(δ*_λ) > r_P(KN), and the rate of certified instances within "
                       f"the bound has its 95 % Clopper–Pearson interval ≥ {RATE_MIN} (measured: max rank − r_P)",
                  measured=int((rank - pataki).max()), passed=False if violations else d.passed, decision=d,
                  hypotheses=hyps, figure=figure)]


def sqrt_growth_claims(Ns, rank: torch.Tensor) -> list[Claim]:
    """Extension: rank(δ*) grows roughly like √N. ``rank`` (n_seeds, n_N) per seed (one K, one λ — or rows stacked
    over them); decided on the Student-t interval of the mean per-seed log-log slope."""
    slopes = torch.tensor([loglog_slope(Ns, row.double().clamp_min(0.5)) for row in rank])
    d = decide_between(slopes, *SQRT_SLOPE_RANGE)
    return [check("ntk-rank-sqrt-growth", paper="jang2024lora", kind="extension",
                  statement="The rank of the nuclear-norm solution grows roughly like √N (the bound r_P(KN) ≈ √(2KN) "
                            "is an upper bound; the growth of the actual rank is our question).",
                  test=f"95 % interval of the mean per-seed log-log slope of rank(δ*_λ) against N inside "
                       f"({SQRT_SLOPE_RANGE[0]}, {SQRT_SLOPE_RANGE[1]})",
                  measured=d.estimate, decision=d, figure="fig-ntk-rank-vs-n")]


def ridge_claims(ridge_rank: torch.Tensor, pataki: torch.Tensor) -> list[Claim]:
    """Sanity: the ridge interpolant exceeds r_P(KN) (``ridge_rank``, ``pataki`` flat over runs with r_P < min(m, n))."""
    frac = (ridge_rank > pataki).double().mean().item()
    return [check("ntk-ridge-full-rank", paper="jang2024lora", kind="sanity",
                  statement="Without the nuclear-norm bias, full fine-tuning is not low rank: the minimum-Frobenius "
                            "(ridge) interpolant of generic full-rank features has rank min(m, n) > r_P(KN).",
                  test=f"fraction of runs (where r_P(KN) < min(m, n)) with ridge rank > r_P(KN) ≥ {RIDGE_FULL_FRACTION}",
                  measured=frac, passed=frac >= RIDGE_FULL_FRACTION, figure="fig-ntk-rank-vs-n")]


def rank_claims(sweeps: list[RankSweep]) -> list[Claim]:
    """(i) rank ≤ r_P(KN) in every run (theorem); growth ~ √N (extension); ridge not low rank (sanity)."""
    rank = torch.cat([s.rank.flatten() for s in sweeps])
    pat = torch.cat([torch.tensor(s.pataki)[None, :, None].expand_as(s.rank).flatten() for s in sweeps])
    valid = torch.cat([(s.converged & s.certified).flatten() for s in sweeps])
    per_seed = torch.cat([s.rank.permute(0, 2, 1).reshape(-1, len(s.Ns)) for s in sweeps])
    keep = [torch.tensor(s.pataki) < s.min_mn for s in sweeps]
    ridge = torch.cat([s.ridge_rank[k].flatten() for s, k in zip(sweeps, keep)])
    ridge_p = torch.cat([torch.tensor(s.pataki)[k][:, None].expand_as(s.ridge_rank[k]).flatten()
                         for s, k in zip(sweeps, keep)])
    return (rank_bound_claims("ntk-rank-below-pataki", "whitened Gaussian features, squared loss, K ∈ "
                              + str([s.K for s in sweeps]), rank, pat, valid, min(min(s.lam_rels) for s in sweeps),
                              "squared", "fig-ntk-rank-vs-n")
            + sqrt_growth_claims(sweeps[0].Ns, per_seed) + ridge_claims(ridge, ridge_p))
