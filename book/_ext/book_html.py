"""Sphinx extension of this book (loaded through ``sphinx.local_extensions`` in ``_config.yml``).

- Verdict badges everywhere: a verdict glued into a page (``{glue}`nb.ipynb::<id>-verdict``` in the chapters'
  verdict tables) arrives as a code chip, and every verdict looked alike. Any inline literal or pasted text that is
  exactly a verdict becomes sphinx-design's badge, coloured as on the claims page (:data:`dashboard.BADGE`); the
  text stays, so the PDF and a reader without colour still read the verdict.
- A formula and the punctuation right after it (``$d$,``) are wrapped in one ``span.math-nowrap``: Chrome breaks a
  line between an inline formula (an inline-block) and a following comma, so lines started with ",".
- Bibliography labels: pybtex's alpha labels ([JLR24]), except where an entry of ``references.bib`` gives its own
  ``shorthand`` (biblatex's field for exactly this): alpha would label the companion's corporate author "The
  lora-companion developers" as [Thelcdevelopers26]. The style is ``bibtex_default_style: alpha_shorthand``.
- sphinx-thebe 0.3.1 and sphinx-togglebutton (part of the Jupyter Book 1 stack) register their inline scripts twice
  under Sphinx 7.4 (once with ``filename=None``, once with ``''``), so every page declared ``const THEBE_JS_URL``
  twice and the browser logged a SyntaxError. Each page's scripts are de-duplicated by file and attributes.
"""
import re

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels.alpha import LabelStyle as AlphaLabels

from lora_companion.dashboard import BADGE


class ShorthandLabels(AlphaLabels):
    """Alpha labels, or the entry's ``shorthand`` field where it has one."""

    def format_label(self, entry):
        return entry.fields.get("shorthand") or super().format_label(entry)


class ShorthandStyle(AlphaStyle):
    default_label_style = "shorthand"


def _verdict_badges(app, doctree, docname):
    chips = list(doctree.findall(nodes.literal))
    chips += [n for n in doctree.findall(nodes.inline) if "pasted-text" in n["classes"]]
    for chip in chips:
        colour = BADGE.get(chip.astext())
        if colour:
            chip.replace_self(nodes.inline(chip.astext(), chip.astext(), classes=[
                "sd-sphinx-override", "sd-badge", f"sd-bg-{colour}", f"sd-bg-text-{colour}"]))


_PUNCTUATION = re.compile(r"[,.;:!?)\]]+")


def _math_with_punctuation(app, doctree, docname):
    for math in list(doctree.findall(nodes.math)):
        after = math.next_node(descend=False, siblings=True)
        found = _PUNCTUATION.match(after.astext()) if isinstance(after, nodes.Text) else None
        if found:
            keep = nodes.inline("", "", classes=["math-nowrap"])
            math.parent.replace(math, keep)
            keep += [math, nodes.Text(found.group())]
            after.parent.replace(after, nodes.Text(after.astext()[found.end():]))


def _key(js) -> tuple:
    return js.filename or "", tuple(sorted(js.attributes.items()))


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files") or []
    keys = [_key(js) for js in scripts]
    context["script_files"] = [js for i, js in enumerate(scripts) if keys[i] not in keys[:i]]


def setup(app):
    register_plugin("pybtex.style.labels", "shorthand", ShorthandLabels, force=True)
    register_plugin("pybtex.style.formatting", "alpha_shorthand", ShorthandStyle, force=True)
    app.connect("doctree-resolved", _verdict_badges)
    app.connect("doctree-resolved", _math_with_punctuation)
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
