"""House style (figures.py): the helpers do what they say, lint catches each defect it names, show() writes and
embeds exactly the bytes it displays."""
import base64
import json

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("agg")

from lora_companion import figures as F  # noqa: E402
from lora_companion.figure_files import provenance_json, unpack  # noqa: E402
from lora_companion.provenance import Context  # noqa: E402


@pytest.fixture(autouse=True)
def house_style():
    F.style()
    yield
    matplotlib.pyplot.close("all")


def test_swept_ticks_put_plain_labels_at_the_swept_values_on_a_log_axis():
    fig, ax = F.subplots()
    k = [2, 4, 8, 16]
    ax.semilogx(k, [1, 2, 3, 4], "o-")
    assert any("labelled minor ticks on its log x-axis" in p for p in F.lint(fig))   # matplotlib's default
    F.swept_ticks(ax, k)
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "8", "16"]
    assert list(ax.get_xticks(minor=True)) == []
    assert F.lint(fig) == []


def test_swept_ticks_thin_labels_but_keep_every_tick():
    fig, ax = F.subplots()
    values = np.arange(1, 21)
    ax.plot(values, values)
    F.swept_ticks(ax, values, max_labels=5)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 20 and 0 < sum(bool(x) for x in labels) <= 5 + 1
    assert labels[0] == "1" and labels[-1] == "20"
    with pytest.raises(ValueError, match="axis"):
        F.swept_ticks(ax, values, axis="z")


def test_legend_below_takes_the_legend_off_the_data():
    fig, (a, b) = F.subplots(1, 2)
    x = np.linspace(0, 1, 200)
    for i in range(3):
        a.plot(x, i * x, label=rf"$\alpha^2 = {i}$")
        b.plot(x, -i * x, label=rf"$\alpha^2 = {i}$")
    a.legend(loc="center")
    assert any("legend covers" in p for p in F.lint(fig))
    a.get_legend().remove()
    fig.legend(loc="center")                                             # a figure legend over the axes
    assert any("legend covers" in p for p in F.lint(fig))
    fig.legends.clear()
    leg = F.legend_below(fig)
    assert a.get_legend() is None and len(leg.get_texts()) == 3           # each label once
    fig.canvas.draw()
    lb = leg.get_window_extent()
    assert all(lb.y1 <= ax.get_window_extent().y0 for ax in (a, b))      # wholly below both axes
    assert F.lint(fig) == []


def test_legend_right_sits_outside_the_axes():
    fig, ax = F.subplots(width=5)
    ax.plot([0, 1], [0, 1], label="a")
    leg = F.legend_right(ax)
    fig.canvas.draw()
    assert leg.get_window_extent().x0 >= ax.get_window_extent().x1
    with pytest.raises(ValueError, match="width"):
        F.subplots(width=20)


def test_lint_names_tex_outside_maths_clipped_points_and_tiny_text():
    fig, ax = F.subplots()
    ax.semilogy([1, 2, 3], [0.0, 1.0, 10.0], "o")                        # 0 cannot be shown on a log axis
    ax.set(xlabel="‖X‖_{*}", ylabel=r"$\|X\|_*$", ylim=(0.5, 5))          # and 10 is outside the view
    ax.set_title("tiny", fontsize=6)
    problems = F.lint(fig)
    assert "TeX outside $…$ in '‖X‖_{*}'" in problems
    assert any("2 data points outside the view" in p for p in problems)
    assert any("6 pt" in p for p in problems)
    assert not any(r"\|X\|" in p for p in problems)                       # mathtext is fine


def test_jitter_is_deterministic_bounded_and_scale_aware():
    x = np.repeat([1.0, 10.0, 100.0], 50)
    j = F.jitter(x, spread=0.1, log=True)
    assert np.array_equal(j, F.jitter(x, spread=0.1, log=True))
    assert np.all(np.abs(np.log10(j / x)) <= 0.05) and np.std(np.log10(j / x)) > 0.01
    lin = F.jitter([1.0, 1.0, 3.0], spread=0.2)
    assert np.all(np.abs(lin - [1, 1, 3]) <= 0.2)
    with pytest.raises(ValueError, match="positive"):
        F.jitter([0.0, 1.0], log=True)


def test_overplot_alpha_and_ordered_colors():
    assert F.overplot_alpha(1) == 1.0 and F.overplot_alpha(10_000) == 0.15
    assert F.overplot_alpha(50) > F.overplot_alpha(200)
    colors = F.ordered_colors(4)
    lum = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b, _ in colors]
    assert len(colors) == 4 and lum == sorted(lum)                        # ordered dark → light
    with pytest.raises(ValueError, match="n"):
        F.ordered_colors(0)


def _context(run_dir=None) -> Context:
    prov = {"params": {"seed": 3, "m": 4}, "commit": "abc", "package": "lora_companion 0", "torch": "2",
            "device": "cpu", "seed": 3}
    return Context(notebook="ch/nb", params=prov["params"], device=torch.device("cpu"), run_dir=run_dir,
                   provenance=prov)


def _show(monkeypatch, ctx):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, raw, metadata: shown.append((data, metadata)))
    fig, ax = F.subplots(width=6)
    ax.plot([0, 1], [0, 1])
    F.show(fig, "fig-ch-line", ctx)
    assert not matplotlib.pyplot.get_fignums()                            # closed: shown exactly once
    [(data, metadata)] = shown
    return base64.b64decode(data["image/png"]), metadata


def test_show_in_a_run_writes_and_embeds_the_displayed_bytes(monkeypatch, tmp_path):
    png, metadata = _show(monkeypatch, _context(tmp_path))
    assert png == (tmp_path / "figures" / "fig-ch-line.png").read_bytes()
    assert png[12:16] == b"IHDR" and F._png_width_inches(png) * F.PNG_DPI == int.from_bytes(png[16:20], "big")
    assert metadata["image/png"]["width"] == f"{round(100 * F._png_width_inches(png) / F.COLUMN_WIDTH)}%"
    emb = metadata[F.EMBED_KEY]
    for fmt in ("pdf", "svg"):
        assert unpack(emb[fmt]) == (tmp_path / "figures" / f"fig-ch-line.{fmt}").read_bytes()
    on_disk = (tmp_path / "figures" / "fig-ch-line.json").read_text()
    assert on_disk == provenance_json(emb["provenance"])
    assert json.loads(on_disk)["params"] == {"seed": 3, "m": 4}


def test_show_outside_a_run_writes_nothing_and_embeds_only_when_recording(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(F.EMBED_ENV, raising=False)
    _, metadata = _show(monkeypatch, _context())
    assert F.EMBED_KEY not in metadata and list(tmp_path.iterdir()) == []
    monkeypatch.setenv(F.EMBED_ENV, "1")
    png, metadata = _show(monkeypatch, _context())
    prov = metadata[F.EMBED_KEY]["provenance"]
    assert prov["id"] == "fig-ch-line" and prov["notebook"] == "ch/nb"
    assert set(prov["files"]) == {"png", "pdf", "svg"} and list(tmp_path.iterdir()) == []
    assert metadata[F.EMBED_KEY]["pdf"] and unpack(metadata[F.EMBED_KEY]["pdf"]).startswith(b"%PDF")


def test_the_same_figure_renders_to_the_same_bytes():
    def draw():
        fig, ax = F.subplots()
        ax.scatter(F.jitter(np.ones(30)), np.arange(30), alpha=F.overplot_alpha(30), label="points")
        F.legend_below(fig)
        return fig
    assert F.render(draw()) == F.render(draw())                          # a re-recorded figure does not churn
    with pytest.raises(ValueError, match="fig-<chapter>-<name>"):
        F.show(draw(), "Figure 1", _context())


def test_every_figure_of_the_record_is_at_least_150_dpi():
    """Issue 12: every PNG in the committed record is ≥ 150 dpi (its pHYs chunk) and sized relative to the column."""
    import io

    from PIL import Image

    from lora_companion.book import notebook_path, notebooks

    low = []
    for nb_id in notebooks():
        nb = json.loads(notebook_path(nb_id).read_text())
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                if "image/png" in out.get("data", {}):
                    dpi = Image.open(io.BytesIO(base64.b64decode(out["data"]["image/png"]))).info.get("dpi", (0, 0))
                    width = out.get("metadata", {}).get("image/png", {}).get("width", "")
                    if dpi[0] < 149.5 or not width.endswith("%"):
                        low.append(f"{nb_id}: {dpi[0]:.0f} dpi, width {width or 'unset'}")
    assert not low, "figures below the house style (re-record with figures.show):\n" + "\n".join(low)


def test_render_png_is_savefigs_tight_png():
    """One tight box for every format: the PNG is byte for byte what ``bbox_inches="tight"`` gives."""
    import io

    fig, ax = F.subplots(1, 2)
    ax[0].plot([1, 2, 3], [3, 1, 2], label="a curve")
    ax[1].set(xlabel="a long label on the x axis", title="title")
    F.legend_below(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=F.PNG_DPI, bbox_inches="tight", metadata=F._METADATA["png"])
    assert F.render(fig, ("png",))["png"] == buf.getvalue()
