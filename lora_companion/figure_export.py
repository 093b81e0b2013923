"""``lora-companion figures export``: every figure of a run in PNG, PDF and SVG, with an index and BibTeX.

The index (``index.json`` and ``index.csv``) lists for each figure its ID, caption, chapter, notebook, parameters,
git commit, package version and the sha256 of each file; ``figures.bib`` has one ``@misc`` entry per figure.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from . import runner
from .figures import FORMATS


def _tex(text: str) -> str:
    return text.replace("_", "\\_").replace("&", "\\&").replace("%", "\\%")


def _bibtex(fig: dict) -> str:
    params = ", ".join(f"{k}={v}" for k, v in sorted(fig["params"].items()))
    return "\n".join([
        f"@misc{{companion:{fig['id']},",
        f"  title        = {{{{{fig['id']}}}: {_tex(fig['caption'].rstrip('.'))}}},",
        "  author       = {{The lora-companion developers}},",
        "  year         = {2026},",
        f"  howpublished = {{LoRA Theory, Reproduced, notebook \\texttt{{{_tex(fig['notebook'])}}}}},",
        f"  note         = {{{_tex(fig['package'])}, commit {fig['commit']}; parameters: {_tex(params)}}}",
        "}", ""])


def export(run_dir: Path, out: Path) -> list[dict]:
    """Copy the figures of the run folder ``run_dir`` into the new folder ``out`` and write the index and BibTeX."""
    results = json.loads((Path(run_dir) / "results.json").read_text())
    index = []
    with runner.staged(out) as staging:
        for fig in results["figures"]:
            files = {}
            for fmt in FORMATS:
                src = Path(run_dir) / "figures" / fig["files"][fmt]["file"]
                digest = hashlib.sha256(src.read_bytes()).hexdigest()
                if digest != fig["files"][fmt]["sha256"]:
                    raise ValueError(f"{src} does not match the sha256 its run recorded")
                shutil.copyfile(src, staging / src.name)
                files[fmt] = {"file": src.name, "sha256": digest}
            index.append({"id": fig["id"], "caption": fig["caption"], "chapter": fig["notebook"].split("/")[0],
                          "notebook": fig["notebook"], "params": fig["params"], "commit": fig["commit"],
                          "package": fig["package"], "files": files})
        (staging / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False))
        with open(staging / "index.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "caption", "chapter", "notebook", "commit", "package", "params"]
                       + [f"sha256_{f}" for f in FORMATS])
            for f in index:
                w.writerow([f["id"], f["caption"], f["chapter"], f["notebook"], f["commit"], f["package"],
                            json.dumps(f["params"], sort_keys=True)] + [f["files"][x]["sha256"] for x in FORMATS])
        (staging / "figures.bib").write_text("\n".join(_bibtex(f) for f in index))
    return index


def export_record(out: Path, target: str | None = None, log=print) -> list[dict]:
    """Re-execute the committed notebooks (all, or ``target``) at the book profile into a temporary run, then
    export its figures: the same parameters as the record, files in every format."""
    runner.check_out(out)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        runner.run(runner.plan(target, "book"), run_dir, "book", log=log)
        return export(run_dir, out)
