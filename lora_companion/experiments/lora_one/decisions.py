"""Combining decisions over seeds (:class:`lora_companion.stats.Decision`) into one verdict.

A claim that needs two conditions is reproduced when both intervals are on the claimed side, not reproduced when
either is wholly on the wrong side, and inconclusive otherwise.
"""
from __future__ import annotations

from ...stats import Decision, decide


def both(*decisions: Decision) -> bool | None:
    """True if every decision passed, False if any failed, None otherwise."""
    outcomes = [d.passed for d in decisions]
    if any(o is False for o in outcomes):
        return False
    return True if all(o is True for o in outcomes) else None


def within(samples, low: float, high: float, statistic: str = "mean") -> tuple[Decision, bool | None]:
    """Decide ``low < statistic(samples) < high``: the decision against ``low`` (recorded on the claim: its interval
    is the statistic's) and the combined verdict."""
    lo, hi = decide(samples, low, ">", statistic), decide(samples, high, "<", statistic)
    return lo, both(lo, hi)
