"""Claims: a paper's statement, our test of it, the measured value and a verdict.

A claim check compares a measurement with a threshold fixed in code before the experiment runs; the verdict is
derived, never typed. Notebooks end with :func:`report`, which prints the claims as text (checked by nbval), glues
each claim's verdict and measured value for the prose (``{glue}`nb.ipynb::<id>-verdict```) and stores the
claims as JSON in the output's metadata, where ``lora-companion claims`` and the runner read them back.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
#: key under which claims live in a notebook output's metadata
METADATA_KEY = "lora_companion_claims"


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
    ``verdict``: one of :data:`VERDICTS`; ``figure``: the label of the figure that shows it, if any.
    """

    id: str
    paper: str
    statement: str
    test: str
    measured: float | int | str
    verdict: str
    figure: str | None = None
    chapter: str = ""
    notebook: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def check(id: str, *, paper: str, statement: str, test: str, measured, passed: bool | None,
          figure: str | None = None, digits: int = 4) -> Claim:
    """Build a :class:`Claim` whose verdict is derived from ``passed``; floats are rounded to ``digits``
    significant digits so that the printed record is stable. A non-finite measurement is inconclusive."""
    if isinstance(measured, float):
        if not math.isfinite(measured):
            passed = None
        measured = float(f"{measured:.{digits}g}")
    return Claim(id=id, paper=paper, statement=statement, test=test, measured=measured,
                 verdict=verdict(passed), figure=figure)


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
        return [asdict(c) for c in self.claims]

    def text(self) -> str:
        lines = []
        for c in self.claims:
            lines += [f"[{c.verdict.upper()}] {c.id} ({c.paper})",
                      f"    claim:    {c.statement}",
                      f"    test:     {c.test}",
                      f"    measured: {c.measured}"]
        counts = {v: sum(c.verdict == v for c in self.claims) for v in VERDICTS}
        lines.append(", ".join(f"{n} {v}" for v, n in counts.items()))
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
