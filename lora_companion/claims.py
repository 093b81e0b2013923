"""Claims: a paper's statement, our test of it, the measured value and a verdict.

Every claim has a *kind*: ``theorem`` (the paper proves it), ``empirical`` (the paper reports it from its
experiments, a figure or a table), ``sanity`` (a property of our own machinery, true by construction when the code
is right) or ``extension`` (our own question beyond the paper). Only theorem and empirical claims count as
reproductions (:data:`COUNTED`). A theorem claim carries the theorem's hypotheses as measured on the instance; when
one fails, the theorem is silent there and the verdict is ``inconclusive``, never ``not reproduced``. A claim decided
over seeds records the number of seeds and the confidence interval of its statistic (:class:`stats.Decision`).

A claim check compares a measurement with a threshold fixed in code before the experiment runs; the verdict is
derived, never typed. Notebooks end with :func:`report`, which prints the claims as text (checked by nbval), glues
each claim's verdict and measured value for the prose (``{glue}`nb.ipynb::<id>-verdict```) and stores the
claims as JSON in the output's metadata, where ``lora-companion claims`` and the runner read them back.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Iterable

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
#: key under which claims live in a notebook output's metadata
METADATA_KEY = "lora_companion_claims"
KINDS = ("theorem", "empirical", "sanity", "extension")
#: the kinds that count as reproductions of a paper in every tally
COUNTED = ("theorem", "empirical")
_UNSET = object()


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis of a theorem, measured on the instance: ``name`` says what is required (e.g. "RSC α > 0,
    restricted-Hessian lower bound"), ``measured`` what we found, ``holds`` whether it is satisfied."""

    name: str
    measured: float | int | str
    holds: bool


@dataclass(frozen=True)
class ThresholdChange:
    """A claim threshold changed after a run had been seen: disclosed on the claims page with its reason."""

    name: str
    old: float | str
    new: float | str
    reason: str


def verdict(passed: bool | None) -> str:
    """``True`` → reproduced, ``False`` → not reproduced, ``None`` (the test could not decide) → inconclusive."""
    if passed is None:
        return INCONCLUSIVE
    return REPRODUCED if bool(passed) else NOT_REPRODUCED


@dataclass(frozen=True)
class Claim:
    """One claim of the book.

    ``id``: stable, kebab-case and unique in the book (e.g. ``prelim-nuclear-identity``); ``paper``: BibTeX key
    of the source (``companion`` for the book's own sanity checks); ``statement``: the paper's claim in our
    words; ``test``: our test with its threshold; ``measured``: the measured value (rounded to what matters);
    ``verdict``: one of :data:`VERDICTS`; ``figure``: the label of the figure that shows it, if any; ``kind``:
    one of :data:`KINDS`; ``source``: the paper's result it tests ("Thm 1", "Fig. 2"); ``hypotheses``: measured
    hypotheses (records of :class:`Hypothesis`); ``seeds``, ``interval`` and ``interval_method``: the number of
    seeds, the confidence interval of the statistic the verdict was decided on and how it was computed (e.g.
    "Student-t 95% interval of the mean"); ``model``: the pretrained model, if any.
    """

    id: str
    paper: str
    statement: str
    test: str
    measured: float | int | str
    verdict: str
    kind: str = "sanity"
    source: str | None = None
    hypotheses: tuple = ()
    seeds: int | None = None
    interval: tuple | None = None
    interval_method: str | None = None
    model: str | None = None
    figure: str | None = None
    chapter: str = ""
    notebook: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind in COUNTED and not self.source:
            raise ValueError(f"claim {self.id!r}: a {self.kind} claim needs the paper's source (e.g. 'Thm 1')")
        if self.kind == "theorem" and not self.hypotheses:
            raise ValueError(f"claim {self.id!r}: a theorem claim needs its hypotheses, measured on the instance")

    @property
    def outside(self) -> list[str]:
        """The hypotheses that fail on the instance (the theorem is silent there)."""
        return [h["name"] for h in self.hypotheses if not h["holds"]]


def _round(value, digits: int):
    return float(f"{value:.{digits}g}") if isinstance(value, float) and math.isfinite(value) else value


def check(id: str, *, paper: str, kind: str, statement: str, test: str, measured, passed=_UNSET,
          source: str | None = None, hypotheses: Iterable[Hypothesis] = (), decision=None,
          figure: str | None = None, model: str | None = None, digits: int = 4) -> Claim:
    """Build a :class:`Claim` whose verdict is derived, never typed.

    ``passed`` (True / False / None = undecided) defaults to ``decision.passed`` when a :class:`stats.Decision`
    is given; its seed count and interval are recorded. A theorem whose measured ``hypotheses`` fail on the
    instance is ``inconclusive`` whatever ``passed`` says. Floats are rounded to ``digits`` significant digits so
    the printed record is stable; a non-finite measurement or interval (NaN from a degenerate instance, ±inf
    when every run is censored) is inconclusive, the interval then recorded as None.
    """
    if passed is _UNSET:
        if decision is None:
            raise ValueError(f"claim {id!r}: give passed= or decision=")
        passed = decision.passed
    hyps = tuple(asdict(h) if isinstance(h, Hypothesis) else dict(h) for h in hypotheses)
    hyps = tuple({**h, "measured": _round(h["measured"], digits), "holds": bool(h["holds"])} for h in hyps)
    if any(not h["holds"] for h in hyps):
        passed = None
    if isinstance(measured, float):
        if not math.isfinite(measured):
            passed = None
        measured = _round(measured, digits)
    seeds = interval = method = None
    if decision is not None:
        seeds, method = decision.seeds, decision.method
        if all(math.isfinite(float(v)) for v in decision.interval):
            interval = tuple(_round(float(v), digits) for v in decision.interval)
        else:   # NaN (a degenerate instance) or ±inf (every run censored): the statistic cannot be decided
            passed = None
    return Claim(id=id, paper=paper, statement=statement, test=test, measured=measured, verdict=verdict(passed),
                 kind=kind, source=source, hypotheses=hyps, seeds=seeds, interval=interval,
                 interval_method=method, model=model,
                 figure=figure)


@dataclass
class ClaimSet:
    """The claims of one notebook; ``notebook`` is its id relative to ``book/`` without suffix."""

    notebook: str
    claims: list[Claim] = field(default_factory=list)

    @property
    def chapter(self) -> str:
        return self.notebook.split("/")[0] if "/" in self.notebook else self.notebook

    def add(self, claim: Claim) -> Claim:
        if any(c.id == claim.id for c in self.claims):
            raise ValueError(f"duplicate claim id {claim.id!r}")
        claim = Claim(**{**asdict(claim), "chapter": self.chapter, "notebook": self.notebook})
        self.claims.append(claim)
        return claim

    def records(self) -> list[dict]:
        """The claims as JSON-native records (tuples become lists), as stored in the notebook's metadata."""
        return json.loads(json.dumps([asdict(c) for c in self.claims]))

    def text(self) -> str:
        lines = []
        for c in self.claims:
            where = f"{c.kind}, {c.paper}" + (f" {c.source}" if c.source else "")
            lines += [f"[{c.verdict.upper()}] {c.id} ({where})",
                      f"    claim:    {c.statement}",
                      f"    test:     {c.test}",
                      f"    measured: {c.measured}"]
            if c.seeds is not None:
                lines.append(f"    seeds:    {c.seeds}, " + (f"{c.interval_method} [{c.interval[0]}, {c.interval[1]}]"
                                                       if c.interval else "interval undefined (a non-finite statistic)"))
            for h in c.hypotheses:
                lines.append(f"    {'holds' if h['holds'] else 'FAILS'}:    {h['name']} (measured {h['measured']})")
            if c.outside:
                lines.append(f"    inconclusive: outside the theorem's hypotheses: {'; '.join(c.outside)}")
        counted = [c for c in self.claims if c.kind in COUNTED]
        counts = {v: sum(c.verdict == v for c in counted) for v in VERDICTS}
        lines.append("theorem/empirical: " + ", ".join(f"{n} {v}" for v, n in counts.items())
                     + f"; {len(self.claims) - len(counted)} sanity/extension checks")
        return "\n".join(lines)

    def report(self) -> None:
        """Display the claims (text for readers and nbval, JSON in metadata) and glue each claim's verdict and
        measured value as plain text, for ``{glue}`notebook.ipynb::<id>-verdict``` on other pages."""
        from IPython.display import display
        from myst_nb import glue

        display({"text/plain": self.text()}, raw=True, metadata={METADATA_KEY: self.records()})
        for c in self.claims:
            glue(f"{c.id}-verdict", _Text(c.verdict), display=False)
            glue(f"{c.id}-measured", _Text(c.measured), display=False)


class _Text:
    """A value whose plain-text form has no quotes, so glued strings read as prose."""

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return str(self.value)


def claims_from_notebook(nb) -> list[dict]:
    """Every claim stored in the outputs of an executed notebook (an ``nbformat`` node)."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            found.extend(out.get("metadata", {}).get(METADATA_KEY, []))
    return found
