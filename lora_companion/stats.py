"""Small statistics shared by the chapters: power-law fits."""
from __future__ import annotations

import torch


def loglog_slope(x, y) -> float:
    """Ordinary least-squares slope of log y on log x: the exponent p of a power law y ∝ x^p.

    NaN when any y is ≤ 0 or non-finite (a censored or vanishing value has no logarithm to fit)."""
    x = torch.as_tensor(x, dtype=torch.float64).log()
    y = torch.as_tensor(y, dtype=torch.float64).log()
    xc = x - x.mean()
    return ((xc * (y - y.mean())).sum() / xc.square().sum()).item()
