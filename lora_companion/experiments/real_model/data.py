"""The VADER polarity task: words and short phrases of the VADER lexicon (Hutto & Gilbert 2014, MIT; shipped in
the ``vaderSentiment`` wheel) with their mean human rating; label 1 (positive) when the mean rating is ≥ +τ,
0 when ≤ −τ, the rest dropped (τ = 1 by default: on the −4…+4 scale, clearly polar entries only).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import torch


@dataclass(frozen=True)
class Lexicon:
    """Polar VADER entries: ``text`` (tuple of str), ``rating`` (mean of 10 human ratings), ``label`` (0/1)."""

    text: tuple
    rating: torch.Tensor
    label: torch.Tensor


@lru_cache(maxsize=4)
def vader_polarity(threshold: float = 1.0) -> Lexicon:
    """The entries of ``vader_lexicon.txt`` with |mean rating| ≥ ``threshold``, in file order."""
    if not 0 < threshold <= 4:
        raise ValueError(f"threshold must lie in (0, 4], got {threshold}")
    lines = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    text, rating = [], []
    for line in lines.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and abs(float(parts[1])) >= threshold:
            text.append(parts[0])
            rating.append(float(parts[1]))
    rating_t = torch.tensor(rating, dtype=torch.float64)
    return Lexicon(tuple(text), rating_t, (rating_t > 0).long())


def split(n_items: int, sizes: tuple[int, ...], gen: torch.Generator) -> list[torch.Tensor]:
    """Disjoint random index sets of the given ``sizes`` out of ``n_items`` (a fixed permutation per generator)."""
    if sum(sizes) > n_items:
        raise ValueError(f"sizes {sizes} need {sum(sizes)} items, only {n_items} available")
    perm = torch.randperm(n_items, generator=gen)
    out, start = [], 0
    for s in sizes:
        out.append(perm[start:start + s])
        start += s
    return out
