"""What every notebook does first: validate its parameters, set up the run, show provenance and rerun commands."""
from __future__ import annotations

from typing import Any, Mapping

from . import figures
from .params import validate_globals
from .provenance import Context, setup, show_provenance


def rerun_commands(notebook: str) -> str:
    """The commands that re-execute this notebook at the book and paper profiles (into a new run folder)."""
    return "\n".join(f"  lora-companion run {notebook} --profile {p}" for p in ("book", "paper"))


def start(notebook: str, namespace: Mapping[str, Any]) -> Context:
    """Validate the declared parameters found in ``namespace`` (the notebook's ``globals()``), seed and set up
    torch, apply the plotting style, and print provenance and the rerun commands."""
    ctx = setup(notebook, validate_globals(notebook, namespace))
    figures.style()
    show_provenance(ctx)
    print("rerun this page:\n" + rerun_commands(notebook))
    return ctx
