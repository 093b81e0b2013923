"""``lora-companion figures export``: every figure in PNG, PDF and SVG with its provenance, an index and BibTeX.

Two sources, one output. *The committed record* (default): each recorded notebook carries its figures' files in
the figure outputs (the PNG it displays; the PDF, SVG and provenance that ``figures.show`` embeds during
``record``), so exporting is decoding and copying — no notebook runs, a few seconds for the whole book. *A run
folder* (``--from RUN``): the files ``figures.show`` wrote under ``RUN/figures``. Either way every file is checked
against the sha256 its provenance recorded, and the output holds ``<id>.{png,pdf,svg,json}`` (the JSON byte for byte
as the run wrote it), ``index.json`` and ``index.csv`` (ID, caption, chapter, notebook, parameters, commit, package
version, sha256 of each file) and ``figures.bib`` (one ``@misc`` entry per figure).
"""
from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pybtex.database import BibliographyData, Entry, Person
from pybtex.database.output.bibtex import Writer

from . import runner
from .book import notebook_path, notebooks
from .figure_files import EMBED_ENV, EMBED_KEY, FORMATS, provenance_json, unpack

AUTHOR = "{The lora-companion developers}"   # one corporate author: braced, so BibTeX does not split it


@dataclass
class Figure:
    """One figure to export: its provenance record (as written beside its files), caption and file contents."""

    record: dict
    caption: str
    files: dict[str, bytes]

    def verify(self, where: str) -> None:
        """Refuse files whose sha256 differs from the one the provenance recorded."""
        for fmt in FORMATS:
            if hashlib.sha256(self.files[fmt]).hexdigest() != self.record["files"][fmt]["sha256"]:
                raise ValueError(f"{where}: the {fmt.upper()} of {self.record['id']} does not match the sha256 "
                                 "its run recorded")


class _BibWriter(Writer):
    """pybtex's BibTeX writer (it quotes values, checks braces and escapes LaTeX's special characters, keeping
    Unicode), except that ``$…$`` maths, as in the MyST captions, is written as it is."""

    def _encode(self, text: str) -> str:
        encode = super()._encode
        return "".join(part if len(part) > 1 and part[0] == part[-1] == "$" else encode(part)
                       for part in re.split(r"(\$[^$]+\$)", text))


def _bibtex(index: list[dict]) -> str:
    """``figures.bib``: one ``@misc`` entry per figure."""
    entries = {}
    for fig in index:
        params = ", ".join(f"{k}={v}" for k, v in sorted(fig["params"].items()))
        entries[f"companion:{fig['id']}"] = Entry("misc", persons={"author": [Person(AUTHOR)]}, fields={
            "title": f"{{{fig['id']}}}: {fig['caption'].rstrip('.')}",
            "year": "2026",
            "howpublished": f"LoRA Theory, Reproduced, notebook {fig['notebook']}",
            "note": f"{fig['package']}, commit {fig['commit']}; parameters: {params}"})
    return _BibWriter(encoding="UTF-8").to_string(BibliographyData(entries))


def run_figures(run_dir: Path) -> list[Figure]:
    """The figures of a run folder, in the order of its ``results.json``."""
    run_dir = Path(run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    figs = []
    for entry in results["figures"]:
        folder = run_dir / "figures"
        record = json.loads((folder / f"{entry['id']}.json").read_text())
        fig = Figure(record, entry["caption"], {fmt: (folder / record["files"][fmt]["file"]).read_bytes()
                                                for fmt in FORMATS})
        fig.verify(str(folder))
        figs.append(fig)
    return figs


def notebook_figures(path: Path) -> list[Figure]:
    """The figures recorded in the executed notebook ``path``, in cell order: the displayed PNG and the embedded
    PDF, SVG and provenance of every ``figures.show`` output."""
    nb = json.loads(Path(path).read_text())
    figs = []
    for cell in nb["cells"]:
        caption = cell["metadata"].get("mystnb", {}).get("figure", {})
        embedded = [o for o in cell.get("outputs", []) if EMBED_KEY in o.get("metadata", {})]
        if caption and not embedded and any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            raise ValueError(f"{path}: figure {caption.get('name')!r} was recorded without its files; re-record the "
                             f"notebook with `lora-companion record` ({EMBED_ENV}=1 makes figures.show embed them)")
        for out in embedded:
            meta = out["metadata"][EMBED_KEY]
            files = {"png": base64.b64decode(out["data"]["image/png"]),
                     **{fmt: unpack(meta[fmt]) for fmt in FORMATS if fmt != "png"}}
            fig = Figure(meta["provenance"], caption.get("caption", ""), files)
            fig.verify(str(path))
            figs.append(fig)
    return figs


def _write(figs: list[Figure], out: Path) -> list[dict]:
    """Write ``figs`` (files, provenance JSON, index, BibTeX) into the new folder ``out``; return the index."""
    ids = [f.record["id"] for f in figs]
    if len(set(ids)) < len(ids):
        raise ValueError(f"figure ids occur twice: {sorted({i for i in ids if ids.count(i) > 1})}")
    index = []
    with runner.staged(out) as staging:
        for f in figs:
            r = f.record
            for fmt in FORMATS:
                (staging / r["files"][fmt]["file"]).write_bytes(f.files[fmt])
            (staging / f"{r['id']}.json").write_text(provenance_json(r))
            index.append({"id": r["id"], "caption": f.caption, "chapter": r["notebook"].split("/")[0],
                          "notebook": r["notebook"], "params": r["params"], "commit": r["commit"],
                          "package": r["package"], "files": r["files"]})
        (staging / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False))
        with open(staging / "index.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "caption", "chapter", "notebook", "commit", "package", "params"]
                       + [f"sha256_{f}" for f in FORMATS])
            for f in index:
                w.writerow([f["id"], f["caption"], f["chapter"], f["notebook"], f["commit"], f["package"],
                            json.dumps(f["params"], sort_keys=True)] + [f["files"][x]["sha256"] for x in FORMATS])
        (staging / "figures.bib").write_text(_bibtex(index))
    return index


def export(run_dir: Path, out: Path) -> list[dict]:
    """Export the figures of the run folder ``run_dir`` into the new folder ``out``."""
    return _write(run_figures(run_dir), out)


def export_notebooks(paths: list[Path], out: Path) -> list[dict]:
    """Export the figures recorded in the executed notebooks ``paths`` into the new folder ``out``."""
    runner.check_out(out)
    return _write([f for path in paths for f in notebook_figures(path)], out)


def export_record(out: Path, target: str | None = None) -> list[dict]:
    """Export the figures of the committed record (all notebooks, or those of ``target``) into the new folder
    ``out``, without executing anything: the files and provenance of the record's own run. The record's claims
    are validated first (:func:`runner.committed_claims`): a tampered record exports nothing."""
    from .runner import committed_claims

    committed_claims()
    return export_notebooks([notebook_path(nb) for nb in notebooks(target)], out)
