"""Execute notebooks with papermill: runs into their own folders, and the explicit re-recording of the book.

A run folder holds, per notebook, the executed notebook, ``figures/<id>.{png,pdf,svg,json}`` and one
``results.json`` (parameters, provenance and claims of every notebook). Parameters are resolved and validated for
every notebook before any kernel starts; the run executes in a hidden staging folder that is renamed only when
every notebook succeeded, so a failed run leaves nothing that looks complete.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import papermill

from .book import BOOK, ROOT, notebook_path, notebooks
from .claims import claims_from_notebook
from .params import ParameterError, notebook_spec, parse_cli_value, profile_overrides, validate
from .provenance import PROVENANCE_KEY, RUN_DIR_ENV


class RunError(RuntimeError):
    """A notebook failed to execute; the message names it and the failing cell's error."""


@dataclass
class Job:
    """One notebook to execute: its id, source file and the parameters papermill injects (book defaults omitted)."""

    notebook: str
    source: Path
    parameters: dict

    @property
    def slug(self) -> str:
        return self.notebook.replace("/", "__")


def notebook_defaults(notebook: str) -> dict:
    """The defaults of a notebook's ``parameters`` cell (= the book profile), as papermill reads them."""
    found = papermill.inspect_notebook(str(notebook_path(notebook)))
    return {name: ast.literal_eval(p["default"]) for name, p in found.items()}


def parameter_table(notebook: str) -> list[dict]:
    """Name, declared type and bounds, default and help of every parameter of a notebook."""
    found = papermill.inspect_notebook(str(notebook_path(notebook)))
    declared = notebook_spec(notebook)["params"]
    return [{"name": name, "type": declared[name]["type"],
             "bounds": {k: v for k, v in declared[name].items() if k != "type"},
             "default": found[name]["default"], "help": found[name]["help"]} for name in declared]


def plan(target: str | None, profile: str = "book", overrides: list[tuple[str, str]] = ()) -> list[Job]:
    """Resolve the parameters of every notebook of ``target`` (None: the whole book): defaults ← profile ←
    ``-p NAME VALUE`` overrides.

    A name that no notebook of the target declares is refused, as is any ill-typed or out-of-range value.
    """
    jobs = []
    ids = notebooks(target)
    for name, _ in overrides:
        if not any(name in notebook_spec(nb)["params"] for nb in ids):
            known = sorted({p for nb in ids for p in notebook_spec(nb)["params"]})
            raise ParameterError(f"unknown parameter {name!r} for {target or 'the book'!r}; known: {', '.join(known)}")
    for nb in ids:
        injected = profile_overrides(nb, profile)
        for name, text in overrides:
            if name in notebook_spec(nb)["params"]:
                injected[name] = parse_cli_value(nb, name, text)
        validate(nb, {**notebook_defaults(nb), **injected})
        jobs.append(Job(nb, notebook_path(nb), injected))
    return jobs


def _clean(nb) -> None:
    """Drop execution timestamps that papermill and nbclient write, so records differ only where outputs do."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)


def _execute(job: Job, output: Path, progress: bool) -> nbformat.NotebookNode:
    try:
        papermill.execute_notebook(str(job.source), str(output), parameters=job.parameters, cwd=str(BOOK),
                                   kernel_name="python3", progress_bar=progress)
    except papermill.PapermillExecutionError as err:
        raise RunError(f"notebook {job.notebook} failed in cell {err.exec_count}: {err.ename}: {err.evalue}") from None
    nb = nbformat.read(output, as_version=4)
    _clean(nb)
    nbformat.write(nb, output)
    return nb


def _figure_captions(nb) -> dict[str, str]:
    return {c.metadata["mystnb"]["figure"]["name"]: c.metadata["mystnb"]["figure"].get("caption", "")
            for c in nb.cells if "figure" in c.metadata.get("mystnb", {})}


def _provenance(nb) -> dict:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if PROVENANCE_KEY in out.get("metadata", {}):
                return out["metadata"][PROVENANCE_KEY]
    return {}


def default_out(target: str, profile: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return ROOT / "runs" / f"{target.replace('/', '__')}-{profile}-{stamp}"


def check_out(out: Path) -> Path:
    """Refuse a run folder that holds anything already or lies inside the committed record."""
    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"--out {out} exists and is not empty; runs never overwrite earlier results")
    if out.is_relative_to(BOOK):
        raise ValueError(f"--out {out} is inside book/: runs never write into the committed record")
    return out


@contextmanager
def staged(out: Path):
    """Yield a hidden staging folder beside the new folder ``out``; rename it to ``out`` when the block succeeds,
    delete it when the block fails, so nothing that looks complete is ever left half-written."""
    out = check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield staging
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def run(jobs: list[Job], out: Path, profile: str, progress: bool = True, log=print) -> dict:
    """Execute ``jobs`` into the new folder ``out`` and write ``results.json``; return the results."""
    results = {"profile": profile, "notebooks": [], "claims": [], "figures": []}
    previous = os.environ.get(RUN_DIR_ENV)
    try:
        with staged(out) as staging:
            os.environ[RUN_DIR_ENV] = str(staging)
            for i, job in enumerate(jobs, 1):
                log(f"[{i}/{len(jobs)}] {job.notebook} "
                    f"{json.dumps(job.parameters) if job.parameters else '(book defaults)'}")
                t0 = time.perf_counter()
                nb = _execute(job, staging / f"{job.slug}.ipynb", progress)
                log(f"      done in {time.perf_counter() - t0:.1f} s")
                prov = _provenance(nb)
                results["notebooks"].append({"notebook": job.notebook, "file": f"{job.slug}.ipynb",
                                             "parameters": prov.get("params", {}), "provenance": prov})
                results["claims"] += claims_from_notebook(nb)
                for fig_id, caption in _figure_captions(nb).items():
                    meta = staging / "figures" / f"{fig_id}.json"
                    if meta.exists():
                        results["figures"].append({**json.loads(meta.read_text()), "caption": caption})
            (staging / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        if previous is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = previous
    return results


def record(target: str | None = None, progress: bool = True, log=print) -> list[str]:
    """Re-execute committed notebooks at the book profile and replace them (how the record is regenerated), then
    regenerate the claims dashboard from the new record."""
    from . import dashboard

    ids = notebooks(target)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop(RUN_DIR_ENV, None)
        for i, nb in enumerate(ids, 1):
            log(f"[{i}/{len(ids)}] recording {nb}")
            t0 = time.perf_counter()
            executed = Path(tmp) / "executed.ipynb"
            _execute(Job(nb, notebook_path(nb), {}), executed, progress)
            shutil.copyfile(executed, notebook_path(nb))
            log(f"      done in {time.perf_counter() - t0:.1f} s")
    dashboard.write(committed_claims())
    return ids


def committed_claims() -> list[dict]:
    """Every claim stored in the committed record, in book order."""
    return [c for nb in notebooks() for c in claims_from_notebook(nbformat.read(notebook_path(nb), as_version=4))]
