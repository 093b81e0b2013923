"""Figures: one house style, stable IDs, and the files behind every figure of the record.

**Showing a figure.** A figure's ID is its book label (``fig-<chapter>-<what>``), set together with its caption
in the notebook cell's ``mystnb.figure`` metadata, so ``{numref}`fig-…``` works from any page. ``show(fig, id,
ctx)`` renders the figure once per format and displays the PNG (:data:`PNG_DPI` dpi, sized as a percentage of the
text column, so the page and the PDF show it at the same relative width). Inside a ``lora-companion run`` it also
writes ``figures/<id>.{png,pdf,svg}`` and ``figures/<id>.json`` (provenance: parameters, commit, package version,
sha256 of each file) into the run folder. Inside a run, or when :data:`EMBED_ENV` is ``1`` (set by
``lora-companion record``), it embeds the PDF, the SVG and the provenance in the output's metadata, so the
committed record carries every file of its figures and ``figures export`` is a copy. nbval compares neither
``image/png`` nor output metadata, so re-executing a notebook stays comparable with its record.

**House style** (:func:`style`, applied by ``notebook.start``): seaborn ``ticks`` style at the ``notebook``
context, the colour-blind-safe ``colorblind`` palette, mathtext for symbols. Helpers for chapter ``plots.py``:

- ``fig, axes = subplots(nrows, ncols, height=...)`` — a figure as wide as the text column (:data:`COLUMN_WIDTH`
  inches) with constrained layout; ``width=`` for a narrower one.
- ``legend_below(fig)`` — one legend for the whole figure, centred under the axes, off the data;
  ``legend_right(ax)`` — an axes' legend outside its right edge.
- ``swept_ticks(ax, values, axis="x")`` — major ticks exactly at the swept values with plain labels (``2 4 8 16``,
  not ``3×10⁰``), no minor ticks; works on linear and log axes.
- ``jitter(x, spread, log=...)`` — deterministic horizontal jitter for points that share an x value;
  ``overplot_alpha(n)`` — an opacity that keeps ``n`` overlapping markers readable.
- ``ordered_colors(n)`` — colour-blind-safe sequential colours for an ordered sweep (init scales, κ, d).
- ``lint(fig)`` — house-style problems of a drawn figure (TeX outside ``$…$``, a legend over the data, labelled
  minor ticks on a log axis, data outside the view, text below 8 pt); chapter tests assert it returns ``[]``.

Labels use matplotlib mathtext: ``ax.set(xlabel=r"$\\lambda$", ylabel=r"$\\|X_\\lambda\\|_*$")``; legends
likewise (``label=rf"$\\alpha^2 = {a:g}$"``). Plain Unicode letters are fine; TeX commands must sit inside ``$…$``.
"""
from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib import ticker
from matplotlib.collections import PathCollection
from matplotlib.layout_engine import ConstrainedLayoutEngine

from .figure_files import EMBED_ENV, EMBED_KEY, FORMATS, pack, provenance_json, provenance_record

if TYPE_CHECKING:
    from .provenance import Context

ID_PATTERN = re.compile(r"^fig-[a-z0-9]+(-[a-z0-9]+)*$")
#: width of the book's text column in inches: a figure this wide fills it (100 % in HTML and in the PDF)
COLUMN_WIDTH = 7.5
#: default height of one row of panels, inches
ROW_HEIGHT = 3.2
#: resolution of the PNG shown in the page and written to the run folder (≥ 150 dpi: sharp on HiDPI screens)
PNG_DPI = 150
#: smallest legible text, points (at 100 CSS px per inch of figure: 11 px)
MIN_FONT_PT = 8
# Fixed metadata keeps the files byte-identical between runs with the same parameters.
_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None}, "svg": {"Date": None}}


def style() -> None:
    """The book's plotting style: seaborn ``ticks`` at the ``notebook`` context, colour-blind palette, 100 px/in."""
    sns.set_theme(context="notebook", style="ticks", palette="colorblind", font_scale=0.9)
    plt.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": PNG_DPI, "figure.figsize": (COLUMN_WIDTH, ROW_HEIGHT),
        "svg.hashsalt": "lora-companion", "axes.titlesize": "medium", "legend.frameon": False,
        "lines.markersize": 5, "axes.spines.top": False, "axes.spines.right": False,
        "mathtext.fontset": "dejavusans"})


def warm_up() -> None:
    """Draw a throwaway figure (not registered with pyplot, so figure numbering is untouched) in the house style,
    with mathtext, into every format: a process's first draw loads fonts and parsers, which a warm kernel
    (:mod:`lora_companion.kernels`) thereby has done before its notebook starts."""
    from matplotlib.figure import Figure

    style()
    fig = Figure(figsize=(2, 1.5), layout="constrained")
    ax = fig.subplots()
    ax.plot([1, 10], [1, 2], label=r"$\alpha^2$")
    ax.set(xscale="log", xlabel=r"step size $\eta$", ylabel="risk")
    ax.legend()
    for fmt in FORMATS:
        fig.savefig(io.BytesIO(), format=fmt, dpi=PNG_DPI, bbox_inches="tight", metadata=_METADATA[fmt])


# --- layout helpers -------------------------------------------------------------------------------------------

def subplots(nrows: int = 1, ncols: int = 1, *, height: float | None = None, width: float = COLUMN_WIDTH, **kw):
    """``plt.subplots`` with a column-wide figure (``width`` inches), ``height`` inches (default
    :data:`ROW_HEIGHT` per row) and constrained layout, so labels and outside legends never overlap."""
    if not 0 < width <= COLUMN_WIDTH:
        raise ValueError(f"width must be in (0, {COLUMN_WIDTH}] inches (the text column), got {width}")
    height = ROW_HEIGHT * nrows if height is None else height
    if height <= 0:
        raise ValueError(f"height must be positive, got {height}")
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kw)


def _labelled_handles(axes) -> tuple[list, list[str]]:
    """Handles and labels of ``axes``, first occurrence of each label only."""
    seen: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    return list(seen.values()), list(seen)


def legend_below(fig, axes=None, ncol: int | None = None, **kw):
    """One legend for ``fig`` (labels of ``axes``, default all, each once), centred below the axes, outside the
    data. Removes the axes' own legends. Needs constrained layout (set here when the figure has none)."""
    axes = fig.axes if axes is None else list(axes)
    handles, labels = _labelled_handles(axes)
    if not labels:
        raise ValueError("legend_below: no labelled artists (pass label=... when plotting)")
    for ax in axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        try:
            fig.set_layout_engine("constrained")
        except RuntimeError as err:   # a colorbar fixed the old layout
            raise ValueError("legend_below needs a constrained-layout figure: create it with figures.subplots(...) "
                             "before adding colorbars") from err
    return fig.legend(handles, labels, loc="outside lower center", ncol=ncol or min(len(labels), 4), **kw)


def legend_right(ax, **kw):
    """The legend of ``ax`` outside its right edge, top-aligned (off the data)."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kw)


def swept_ticks(ax, values, axis: str = "x", fmt: str = "{:g}", max_labels: int = 8) -> None:
    """Major ticks of ``axis`` exactly at the swept ``values``, labelled ``fmt.format(v)`` (plain numbers, also on
    log axes); minor ticks removed. With more than ``max_labels`` values, every k-th is labelled (first and last
    always), the others keep an unlabelled tick."""
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    values = sorted({float(v) for v in np.asarray(values, dtype=float).ravel()})
    if not values:
        raise ValueError("swept_ticks: values is empty")
    step = -(-len(values) // max_labels)          # ceil: at most max_labels labels
    labels = [fmt.format(int(v) if v.is_integer() else v) if i % step == 0 or i == len(values) - 1 else ""
              for i, v in enumerate(values)]
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(ticker.FixedLocator(values))
    target.set_major_formatter(ticker.FixedFormatter(labels))
    target.set_minor_locator(ticker.NullLocator())


def jitter(x, spread: float = 0.05, log: bool = False, seed: int = 0) -> np.ndarray:
    """``x`` with deterministic uniform jitter, for points that share an x value: ``x + u`` with
    ``u ~ U(−spread/2, spread/2)·(range of x or 1)`` on a linear axis, ``x · 10^u`` with ``u ~ U(−spread/2,
    spread/2)`` decades on a log axis. The same ``seed`` gives the same jitter (the figures are part of the record)."""
    x = np.asarray(x, dtype=float)
    u = np.random.default_rng(seed).uniform(-spread / 2, spread / 2, size=x.shape)
    if log:
        if (x <= 0).any():
            raise ValueError("jitter(log=True) needs positive x")
        return x * 10.0 ** u
    width = np.ptp(x) if x.size and np.ptp(x) > 0 else 1.0
    return x + u * width


def overplot_alpha(n: int) -> float:
    """Marker opacity for ``n`` points drawn over each other: 1 for a few (or none), falling as 1/√n to 0.15."""
    if n < 0:
        raise ValueError(f"n must be ≥ 0, got {n}")
    return float(min(1.0, max(0.15, 3.0 / np.sqrt(max(n, 1)))))


def ordered_colors(n: int, cmap: str = "viridis") -> list:
    """``n`` colour-blind-safe colours for an ordered sweep (dark → light, the palest yellow excluded)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    return [plt.get_cmap(cmap)(v) for v in np.linspace(0.0, 0.85, n)]


# --- house-style check ----------------------------------------------------------------------------------------

_TEX_OUTSIDE_MATH = re.compile(r"\\[A-Za-z]+|[_^]\{")


def _texts(fig):
    for ax in fig.axes:
        yield from (ax.title, ax.xaxis.label, ax.yaxis.label)
        if ax.get_legend() is not None:
            yield from ax.get_legend().get_texts()
        yield from ax.texts
    for leg in fig.legends:
        yield from leg.get_texts()
    yield from fig.texts


def _data_points(ax) -> np.ndarray:
    """Display coordinates of every finite data point of ``ax`` (line vertices and scatter markers); a point the
    axes cannot place (e.g. ≤ 0 on a log axis) comes back as ``inf``."""
    pts = [(line.get_transform(), np.asarray(line.get_xydata(), dtype=float)) for line in ax.get_lines()]
    pts += [(c.get_offset_transform(), np.asarray(c.get_offsets(), dtype=float)) for c in ax.collections
            if isinstance(c, PathCollection)]
    out = [np.where(np.isfinite(d := tr.transform(xy[np.isfinite(xy).all(1)])), d, np.inf)
           for tr, xy in pts if xy.size]
    return np.concatenate(out) if out else np.empty((0, 2))


def _within(pts: np.ndarray, box, pad: float = 0.0) -> np.ndarray:
    """Which display points lie in the bounding box (widened by ``pad`` pixels)."""
    return ((pts[:, 0] >= box.x0 - pad) & (pts[:, 0] <= box.x1 + pad)
            & (pts[:, 1] >= box.y0 - pad) & (pts[:, 1] <= box.y1 + pad))


def lint(fig) -> list[str]:
    """House-style problems of ``fig`` (drawn here), one sentence each; ``[]`` when it follows the style.

    Checks: TeX commands outside ``$…$``; a legend (of the axes or the figure) that covers a data point;
    labelled minor ticks on a log axis; data points outside the axes' view (clipped); text smaller than
    :data:`MIN_FONT_PT`.
    """
    fig.canvas.draw()
    problems = []
    for t in _texts(fig):
        text = t.get_text()
        outside = "".join(text.split("$")[0::2])       # the parts not between $ signs
        if _TEX_OUTSIDE_MATH.search(outside):
            problems.append(f"TeX outside $…$ in {text!r}")
        if text and t.get_visible() and t.get_fontsize() < MIN_FONT_PT:
            problems.append(f"text {text!r} is {t.get_fontsize():g} pt (< {MIN_FONT_PT} pt)")
    for i, ax in enumerate(fig.axes):
        name = f"axes {i} ({ax.get_title() or ax.get_ylabel() or 'untitled'})"
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log" and any(
                    lab.get_text() and lab.get_visible() for lab in axis.get_minorticklabels()):
                problems.append(f"{name}: labelled minor ticks on its log {axis.axis_name}-axis (use swept_ticks)")
            for lab in axis.get_ticklabels():
                if lab.get_text() and lab.get_visible() and lab.get_fontsize() < MIN_FONT_PT:
                    problems.append(f"{name}: tick labels of {lab.get_fontsize():g} pt (< {MIN_FONT_PT} pt)")
                    break
        pts = _data_points(ax)
        outside = ~_within(pts, ax.get_window_extent(), 0.5)
        if outside.any():
            problems.append(f"{name}: {int(outside.sum())} data points outside the view (clipped)")
        legends = [ax.get_legend()] + fig.legends
        for legend in (lg for lg in legends if lg is not None and lg.get_visible()):
            covered = int(_within(pts[~outside], legend.get_window_extent()).sum())
            if covered:
                problems.append(f"{name}: a legend covers {covered} of its data points (use legend_below)")
    return list(dict.fromkeys(problems))


# --- rendering, files and display -----------------------------------------------------------------------------

def tight_box(fig):
    """The tight bounding box (inches, padded by ``savefig.pad_inches``) that ``savefig(bbox_inches="tight",
    dpi=PNG_DPI)`` measures for PNG: one draw at :data:`PNG_DPI`."""
    dpi = fig.dpi
    fig.dpi = PNG_DPI
    try:
        fig.canvas.draw()
        return fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
    finally:
        fig.dpi = dpi


def render(fig, formats=FORMATS) -> dict[str, bytes]:
    """The figure's bytes in each of ``formats`` (:data:`PNG_DPI` for PNG, fixed metadata), all cropped to one
    :func:`tight_box`: measured once instead of once per format, which halves the drawing (the PNG is the one
    ``bbox_inches="tight"`` gives; PDF and SVG share its box to a fraction of a point)."""
    box = tight_box(fig)
    out = {}
    for fmt in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=PNG_DPI, bbox_inches=box, metadata=_METADATA[fmt])
        out[fmt] = buf.getvalue()
    return out


def _check_id(fig_id: str) -> None:
    if not ID_PATTERN.match(fig_id):
        raise ValueError(f"figure id {fig_id!r} must look like 'fig-<chapter>-<name>' (lowercase, dashes)")


def _write(folder: Path, files: dict[str, bytes], record: dict) -> None:
    """``<id>.<fmt>`` for each file and ``<id>.json`` (provenance) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for fmt, data in files.items():
        (folder / f"{record['id']}.{fmt}").write_bytes(data)
    (folder / f"{record['id']}.json").write_text(provenance_json(record))


def _png_width_inches(png: bytes) -> float:
    return int.from_bytes(png[16:20], "big") / PNG_DPI       # IHDR width, pixels


def show(fig, fig_id: str, ctx: Context) -> None:
    """Display the figure (PNG, as wide relative to the column as the figure is to :data:`COLUMN_WIDTH`), write
    its files inside a run, embed them inside a run or a record (see the module docstring), and close it."""
    from IPython.display import display

    _check_id(fig_id)
    complete = ctx.run_dir is not None or os.environ.get(EMBED_ENV) == "1"
    files = render(fig, FORMATS if complete else ("png",))
    width = min(100, round(100 * _png_width_inches(files["png"]) / COLUMN_WIDTH))
    metadata = {"image/png": {"width": f"{width}%"}}
    if complete:
        record = provenance_record(fig_id, ctx.notebook, ctx.provenance, files)
        if ctx.run_dir is not None:
            _write(ctx.run_dir / "figures", files, record)
        metadata[EMBED_KEY] = {"provenance": record, **{fmt: pack(files[fmt]) for fmt in FORMATS if fmt != "png"}}
    display({"image/png": base64.b64encode(files["png"]).decode("ascii"), "text/plain": f"<Figure {fig_id}>"},
            raw=True, metadata=metadata)
    plt.close(fig)
