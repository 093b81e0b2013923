"""Figures with stable IDs.

A figure's ID is its book label (``fig-<chapter>-<what>``), set together with its caption in the notebook
cell's ``mystnb.figure`` metadata, so ``{numref}`fig-…``` works from any page. :func:`show` displays the figure
and, inside a ``lora-companion run``, also writes ``figures/<id>.{png,pdf,svg}`` and ``figures/<id>.json``
(provenance: parameters, commit, package version, sha256 of each file) into the run folder. Outside a run it
writes nothing, so executing the committed notebooks never touches the record.
"""
from __future__ import annotations

import hashlib
import json
import re

import matplotlib.pyplot as plt
import seaborn as sns

from .provenance import Context

FORMATS = ("png", "pdf", "svg")
ID_PATTERN = re.compile(r"^fig-[a-z0-9]+(-[a-z0-9]+)*$")
# Fixed metadata keeps the files byte-identical between runs with the same parameters.
_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None}, "svg": {"Date": None}}


def style() -> None:
    """The book's plotting style (seaborn ``ticks``, colour-blind palette)."""
    sns.set_theme(context="notebook", style="ticks", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 150, "figure.figsize": (7.0, 3.6),
                         "svg.hashsalt": "lora-companion", "axes.titlesize": "medium"})


def save(fig, fig_id: str, ctx: Context) -> dict | None:
    """Write the figure in every format of :data:`FORMATS` plus its provenance JSON into ``ctx.run_dir``."""
    if not ID_PATTERN.match(fig_id):
        raise ValueError(f"figure id {fig_id!r} must look like 'fig-<chapter>-<name>' (lowercase, dashes)")
    if ctx.run_dir is None:
        return None
    folder = ctx.run_dir / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for fmt in FORMATS:
        path = folder / f"{fig_id}.{fmt}"
        fig.savefig(path, format=fmt, bbox_inches="tight", metadata=_METADATA[fmt])
        files[fmt] = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    record = {"id": fig_id, "notebook": ctx.notebook, "files": files, **{
        k: ctx.provenance[k] for k in ("params", "commit", "package", "torch", "device", "seed")}}
    (folder / f"{fig_id}.json").write_text(json.dumps(record, indent=2, sort_keys=True))
    return record


def show(fig, fig_id: str, ctx: Context) -> None:
    """Save the figure (inside a run) and display it inline; the cell's metadata gives its label and caption."""
    save(fig, fig_id, ctx)
    plt.show()
