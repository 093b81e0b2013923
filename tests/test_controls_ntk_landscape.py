"""Controls of the NTK-landscape claims: each decision function, fed constructed inputs, says ``reproduced`` where
the claimed property holds and ``not reproduced`` on a counterexample."""
import torch
from controls import make_tests

from lora_companion.experiments import ntk_landscape as E
from lora_companion.linalg import pataki_rank_bound


def _no_spurious(claim_id: str, stuck: bool, n=60, loss="squared"):
    """n runs in the theorem's regime plus 10 still descending: all others at gap 1e-8, or (counterexample) all
    at certified second-order stationary points with a 5 % gap."""
    gap = torch.full((n + 10, 1), 0.05 if stuck else 1e-8, dtype=torch.float64)
    gap[n:] = 0.02
    sosp = torch.ones(n + 10, 1, dtype=torch.bool)
    sosp[n:] = False
    above = torch.ones(n + 10, 1, dtype=torch.bool)
    return E.no_spurious_claims(claim_id, "control", gap, above, sosp, torch.zeros_like(above),
                                torch.full((n + 10,), 0.1, dtype=torch.float64), loss)


def _rank_star(stuck: bool, n=60):
    """n datasets with rank δ* = 2, one run at r = 3 below the threshold each: reaches f*, or stuck."""
    gap = torch.full((n, 1), 0.05 if stuck else 1e-8, dtype=torch.float64)
    return E.rank_star_claims(gap, torch.tensor([3]), torch.full((n,), 2), torch.zeros(n, 1, dtype=torch.bool),
                              torch.zeros(n, 1, dtype=torch.bool))


def _rank_bound(claim_id: str, excess: int, n=60):
    """n certified instances at r_P(KN) = 5 with rank 5 − 2 (holds) or 5 + excess (violates)."""
    pat = torch.full((n,), 5)
    rank = pat + excess if excess > 0 else pat - 2
    return E.rank_bound_claims(claim_id, "control", rank, pat, torch.ones(n, dtype=torch.bool), 0.1, "squared", None)


def _growth(exponent: float):
    """Ranks growing like N^exponent over 8 seeds (with a little seed-to-seed spread)."""
    Ns = [5, 10, 20, 40, 80]
    base = torch.tensor(Ns, dtype=torch.float64) ** exponent
    rank = torch.stack([base * (1 + 0.02 * s) for s in range(8)])
    return E.sqrt_growth_claims(Ns, rank)


def _ridge(full: bool):
    pat = torch.full((40,), 6)
    return E.ridge_claims(torch.full((40,), 24 if full else 6), pat)


def _balance(broken: bool):
    """Defects below their bound; the broken case has an imbalance twice the bound (a wrongly scaled penalty)."""
    bound = torch.logspace(-8, -3, 20, dtype=torch.float64)
    bal = E.BalanceResult(balance_defect=bound * (2.0 if broken else 0.3), prediction_defect=bound * 0.5, bound=bound,
                          recon=torch.zeros(1), imbalance=torch.zeros(1))
    ctrl = E.ControlResult(loss=torch.zeros(6, 2), distance=torch.full((6,), 0.8), rank=torch.zeros(6, 2),
                           penalty_ratio=torch.ones(6, 2))
    return E.balance_claims(bal, ctrl)


def _zero_decay(same: bool):
    bound = torch.ones(4, dtype=torch.float64)
    bal = E.BalanceResult(balance_defect=0.1 * bound, prediction_defect=0.1 * bound, bound=bound,
                          recon=torch.zeros(1), imbalance=torch.zeros(1))
    ctrl = E.ControlResult(loss=torch.zeros(6, 2), distance=torch.full((6,), 1e-4 if same else 0.8),
                           rank=torch.zeros(6, 2), penalty_ratio=torch.ones(6, 2))
    return E.balance_claims(bal, ctrl)


def _drift(exponent: float):
    """Per-draw slopes around the exponent of the drift's power law in α."""
    return E.drift_claims(exponent + 0.02 * torch.linspace(-1, 1, 6, dtype=torch.float64))


def _real_rank(excess: int):
    Ns = [4, 8, 16]
    pat = torch.tensor([pataki_rank_bound(2 * N) for N in Ns])[:, None].expand(3, 20)
    ranks = pat + excess if excess > 0 else (pat - 1).clamp_min(1)
    return E.real_claims(ranks, torch.ones(3, 20, dtype=torch.bool), Ns, 2, 0.05)


def _generalization(rate: float, lora_factor: float):
    """Gap ∝ N^rate over 6 seeds; LoRA's held-out loss = convex's × lora_factor."""
    Ns = [20, 40, 80, 160]
    N = torch.tensor(Ns, dtype=torch.float64)[:, None]
    seeds = 1 + 0.05 * torch.arange(6, dtype=torch.float64)[None, :]
    train = torch.full((4, 6), 0.1, dtype=torch.float64)
    test = train + seeds * N ** rate
    g = E.GeneralizationResult(Ns=Ns, test={"convex": test, "lora": test * lora_factor, "ridge": test},
                               train={k: train for k in ("convex", "lora", "ridge")}, rank={}, slope=0.0)
    return E.generalization_claims(g)


CONTROLS = {
    "ntk-rank-below-pataki": (lambda: _rank_bound("ntk-rank-below-pataki", 0),
                              lambda: _rank_bound("ntk-rank-below-pataki", 2)),
    "ntk-rank-sqrt-growth": (lambda: _growth(0.5), lambda: _growth(1.0)),
    "ntk-ridge-full-rank": (lambda: _ridge(True), lambda: _ridge(False)),
    "ntk-no-spurious-above-threshold": (lambda: _no_spurious("ntk-no-spurious-above-threshold", False),
                                        lambda: _no_spurious("ntk-no-spurious-above-threshold", True)),
    "ntk-no-spurious-cross-entropy": (lambda: _no_spurious("ntk-no-spurious-cross-entropy", False, loss="ce"),
                                      lambda: _no_spurious("ntk-no-spurious-cross-entropy", True, loss="ce")),
    "ntk-rank-star-suffices": (lambda: _rank_star(False), lambda: _rank_star(True)),
    "ntk-weight-decay-nuclear": (lambda: _balance(False), lambda: _balance(True)),
    "ntk-zero-decay-control": (lambda: _zero_decay(False), lambda: _zero_decay(True)),
    "ntk-real-rank-below-pataki": (lambda: _real_rank(0), lambda: _real_rank(3)),
    "ntk-real-no-spurious": (lambda: _no_spurious("ntk-real-no-spurious", False),
                             lambda: _no_spurious("ntk-real-no-spurious", True)),
    "ntk-linearization-drift": (lambda: _drift(-1.0), lambda: _drift(-0.3)),
    "ntk-generalization-rate": (lambda: _generalization(-1.0, 1.0), lambda: _generalization(0.0, 1.0)),
    "ntk-lora-generalizes-like-convex": (lambda: _generalization(-1.0, 1.0), lambda: _generalization(-1.0, 1.5)),
}

test_positive_control, test_negative_control = make_tests(CONTROLS)


def test_theorem_claims_outside_hypotheses_are_inconclusive():
    """λ = 0 is outside the theorem: the no-spurious verdict is inconclusive, never 'not reproduced'."""
    gap = torch.full((40, 1), 0.05, dtype=torch.float64)
    above = torch.ones(40, 1, dtype=torch.bool)
    c, = E.no_spurious_claims("x", "control", gap, above, above, ~above, torch.zeros(40, dtype=torch.float64),
                              "squared")
    assert c.verdict == "inconclusive" and c.outside
