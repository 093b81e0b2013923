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

from . import ledger
from .book import BOOK, ROOT, notebook_path, notebooks
from .params import MEMORY_LIMIT, ParameterError, check_memory, notebook_spec, parse_cli_value, profile_overrides, validate

#: how the runner tells a notebook where its run folder is, and the output-metadata key of its provenance (defined
#: here, not in :mod:`provenance`, so that the CLI starts without importing torch)
RUN_DIR_ENV = "LORA_COMPANION_RUN_DIR"
PROVENANCE_KEY = "lora_companion_provenance"
#: the file that reserves a run folder while a run writes it (holds the writer's pid)
LOCK = ".lora-companion-run.lock"


class RunError(RuntimeError):
    """A notebook failed to execute (a cell raised, the kernel died); the message names it and the error."""


class OutputError(RuntimeError):
    """A run folder that cannot be used: taken by another run, not writable, a bad path."""


@dataclass
class Job:
    """One notebook to execute: its id, source file and the parameters papermill injects (book defaults omitted)."""

    notebook: str
    source: Path
    parameters: dict
    memory: int | None = None  # estimated bytes of its largest tensor, where its profile declares how
    subdir: str = ""  # where in the run folder it goes ("" = the top; a sweep puts each seed in its own)

    @property
    def slug(self) -> str:
        return self.notebook.replace("/", "__")


def notebook_defaults(notebook: str) -> dict:
    """The defaults of a notebook's ``parameters`` cell (= the book profile), as papermill reads them."""
    import papermill

    found = papermill.inspect_notebook(str(notebook_path(notebook)))
    return {name: ast.literal_eval(p["default"]) for name, p in found.items()}


def parameter_table(notebook: str) -> list[dict]:
    """Name, declared type and bounds, default and help of every parameter of a notebook."""
    import papermill

    found = papermill.inspect_notebook(str(notebook_path(notebook)))
    declared = notebook_spec(notebook)["params"]
    return [{"name": name, "type": declared[name]["type"],
             "bounds": {k: v for k, v in declared[name].items() if k != "type"},
             "default": found[name]["default"], "help": found[name]["help"]} for name in declared]


def plan(target: str | None, profile: str = "book", overrides: list[tuple[str, str]] = (),
         allow_large: bool = False) -> list[Job]:
    """Resolve the parameters of every notebook of ``target`` (None: the whole book): defaults ← profile ←
    ``-p NAME VALUE`` overrides.

    A name that no notebook of the target declares is refused, as is any ill-typed or out-of-range value, and
    (unless ``allow_large``) parameters whose estimated largest tensor exceeds :data:`params.MEMORY_LIMIT`.
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
        values = validate(nb, {**notebook_defaults(nb), **injected})
        memory = check_memory(nb, values, None if allow_large else MEMORY_LIMIT)
        jobs.append(Job(nb, notebook_path(nb), injected, memory))
    return jobs


def _clean(nb) -> None:
    """Drop execution timestamps that papermill and nbclient write, so records differ only where outputs do."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)


def execute(job: Job, output: Path, progress: bool, km=None) -> nbformat.NotebookNode:
    """Execute one job into ``output`` with papermill (on the started kernel ``km`` if given, which the caller
    shuts down); a failure becomes a :class:`RunError` naming the notebook."""
    import papermill

    try:
        papermill.execute_notebook(str(job.source), str(output), parameters=job.parameters, cwd=str(BOOK),
                                   kernel_name="python3", progress_bar=progress, km=km)
    except papermill.PapermillExecutionError as err:
        raise RunError(f"notebook {job.notebook} failed in cell {err.exec_count}: {err.ename}: {err.evalue}") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # a dead kernel (OOM killer), an unreadable source, nbclient timeouts
        reason = str(err).strip().splitlines()[0] if str(err).strip() else "no message"
        raise RunError(f"notebook {job.notebook} failed: {type(err).__name__}: {reason}") from err
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
    if out.is_relative_to(BOOK):
        raise ValueError(f"--out {out} is inside book/: runs never write into the committed record")
    if (out / LOCK).exists():
        pid = _lock_pid(out / LOCK)
        if pid is not None and _alive(pid):
            raise FileExistsError(f"--out {out} is being written by another run (pid {pid})")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"--out {out} exists and is not empty; runs never overwrite earlier results")
    return out


def _lock_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_staging(parent: Path, grace_s: float = 60.0) -> list[Path]:
    """Staging folders (``.<name>.partial-*``) in ``parent`` left by killed runs: their writer's pid is gone (or,
    lacking a lock file, they are older than ``grace_s``)."""
    if not parent.is_dir():
        return []
    stale = []
    for p in sorted(parent.glob(".*.partial-*")):
        if not p.is_dir():
            continue
        pid = _lock_pid(p / LOCK)
        if (pid is not None and not _alive(pid)) or (pid is None and time.time() - p.stat().st_mtime > grace_s):
            stale.append(p)
    return stale


def _reserve(out: Path) -> bool:
    """Reserve ``out`` for this process (create it with a lock file, atomically); True if we created it."""
    created = False
    try:
        out.mkdir(parents=True)
        created = True
    except FileExistsError:
        pass
    except OSError as err:
        raise OutputError(f"cannot create --out {out}: {err.strerror}") from None
    lock = out / LOCK
    if lock.exists() and not _alive(_lock_pid(lock) or 0):
        lock.unlink()  # a killed run's reservation
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise FileExistsError(f"--out {out} is being written by another run (pid {_lock_pid(lock)})") from None
    except OSError as err:
        raise OutputError(f"cannot write to --out {out}: {err.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return created


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


@contextmanager
def staged(out: Path, log=print):
    """Yield a hidden staging folder beside the new folder ``out``; rename it to ``out`` when the block succeeds,
    delete it when the block fails (including SIGINT, and SIGTERM, which the CLI turns into an exception), so
    nothing that looks complete is ever left half-written.

    ``out`` is reserved at once (a lock file holding our pid), so a second run into it is refused immediately;
    staging folders of killed runs (SIGKILL) in the same parent are removed, with a message.
    """
    out = check_out(out)
    for stale in stale_staging(out.parent):
        shutil.rmtree(stale, ignore_errors=True)
        log(f"removed {stale}: the staging folder of a run that was killed")
    created = _reserve(out)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as err:
        _release(out, created)
        raise OutputError(f"cannot create a staging folder beside --out {out}: {err.strerror}") from None
    (staging / LOCK).write_text(str(os.getpid()))
    try:
        staging.chmod(_umask_mode())  # mkdtemp makes it 0700; a run folder gets the user's usual permissions
        yield staging
        (staging / LOCK).unlink()
        (out / LOCK).unlink()
        out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _release(out, created)
        raise


def _release(out: Path, created: bool) -> None:
    (out / LOCK).unlink(missing_ok=True)
    if created:
        try:
            out.rmdir()
        except OSError:
            pass


def _execute_all(jobs: list[Job], folder: Path, progress: bool, log, workers: int,
                 scheduler: str | None = None) -> list:
    """Execute every job into ``folder`` (``<subdir>/<slug>.ipynb``) and return the executed notebooks in job order:
    one after another in this process, or as Dask tasks (:mod:`lora_companion.cluster`) on ``workers`` local
    processes or the cluster at ``scheduler`` — with the same results."""
    if workers < 1:
        raise ValueError(f"--workers must be ≥ 1, got {workers}")
    if scheduler or (workers > 1 and len(jobs) > 1):
        from . import cluster

        return cluster.execute_all(jobs, folder, log, workers, scheduler)
    from .kernels import WarmKernel, warm_modules

    def kernel_env(job: Job) -> dict[str, str]:
        env = dict(os.environ)
        if env.get(RUN_DIR_ENV):   # inside a run: figure files go beside the notebook
            env[RUN_DIR_ENV] = str(folder / job.subdir)
        return env

    def warm_kernel(job: Job) -> WarmKernel:
        return WarmKernel(str(BOOK), kernel_env(job), warm_modules(job.source))

    nbs = []
    warm = warm_kernel(jobs[0]) if jobs else None
    try:
        for i, job in enumerate(jobs, 1):
            where = f"{job.subdir} " if job.subdir else ""
            log(f"[{i}/{len(jobs)}] {where}{job.notebook} "
                f"{json.dumps(job.parameters) if job.parameters else '(book defaults)'}")
            t0 = time.perf_counter()
            (folder / job.subdir).mkdir(parents=True, exist_ok=True)
            km, warm = warm.take(), (warm_kernel(jobs[i]) if i < len(jobs) else None)
            if os.environ.get(RUN_DIR_ENV):
                os.environ[RUN_DIR_ENV] = str(folder / job.subdir)
            try:
                nbs.append(execute(job, folder / job.subdir / f"{job.slug}.ipynb", progress, km))
            finally:
                if km is not None and km.has_kernel:
                    km.shutdown_kernel(now=True)
            log(f"      {job.notebook} done in {time.perf_counter() - t0:.1f} s")
    finally:
        if warm is not None:
            warm.shutdown()
    return nbs


def run(jobs: list[Job], out: Path, profile: str, progress: bool = True, log=print, workers: int = 1,
        scheduler: str | None = None) -> dict:
    """Execute ``jobs`` (serially, on ``workers`` local Dask workers, or on the cluster at ``scheduler``) into the
    new folder ``out`` and write ``results.json``; return the results."""
    results = {"profile": profile, "notebooks": [], "claims": [], "figures": []}
    previous = os.environ.get(RUN_DIR_ENV)
    try:
        with staged(out, log) as staging:
            os.environ[RUN_DIR_ENV] = str(staging)
            for job, nb in zip(jobs, _execute_all(jobs, staging, progress, log, workers, scheduler)):
                prov = _provenance(nb)
                results["notebooks"].append({"notebook": job.notebook, "file": str(Path(job.subdir, f"{job.slug}.ipynb")),
                                             "parameters": prov.get("params", {}), "provenance": prov})
                results["claims"] += [{**c, "run": job.subdir} if job.subdir else c
                                      for c in ledger.notebook_claims(nb, job.notebook)]
                for fig_id, caption in _figure_captions(nb).items():
                    meta = staging / job.subdir / "figures" / f"{fig_id}.json"
                    if meta.exists():
                        results["figures"].append({**json.loads(meta.read_text()), "caption": caption})
            (staging / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        if previous is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = previous
    return results


def record(target: str | None = None, progress: bool = True, log=print, workers: int = 1,
           scheduler: str | None = None) -> list[str]:
    """Re-execute committed notebooks at the book profile and replace them (how the record is regenerated), then
    regenerate the claims dashboard from the new record.

    Atomic: every notebook executes into a staging folder first; ``book/`` is touched only when all succeeded and
    their claims validate, and if writing the new record or the dashboard fails (or the run is interrupted
    meanwhile), every replaced file is restored from its backup.
    """
    from . import dashboard

    from .figure_files import EMBED_ENV

    ids = notebooks(target)
    os.environ.pop(RUN_DIR_ENV, None)
    os.environ[EMBED_ENV] = "1"   # figures.show embeds each figure's files, so `figures export` is a copy
    with tempfile.TemporaryDirectory(prefix="lora-companion-record-") as tmp:
        jobs = [Job(nb, notebook_path(nb), {}) for nb in ids]
        staged_nbs = {}
        for job, executed in zip(jobs, _execute_all(jobs, Path(tmp), progress, log, workers, scheduler)):
            ledger.notebook_claims(executed, job.notebook)
            staged_nbs[job.source] = Path(tmp) / f"{job.slug}.ipynb"
        page_files = [dashboard.PAGE, dashboard.SEED_CHECK, *dashboard.tallies([]).keys()]
        with _restoring([*staged_nbs, *page_files], Path(tmp) / "backup"):
            for dest, src in staged_nbs.items():
                shutil.copyfile(src, dest)
            dashboard.write(committed_claims())
    return ids


@contextmanager
def _restoring(paths: list[Path], backup: Path):
    """Back up ``paths``; if the block fails, put every one back as it was (a file that did not exist is removed)."""
    backup.mkdir()
    saved = {}
    for i, path in enumerate(paths):
        if path.exists():
            saved[path] = backup / str(i)
            shutil.copy2(path, saved[path])
    try:
        yield
    except BaseException:
        for path in paths:
            if path in saved:
                shutil.copy2(saved[path], path)
            else:
                path.unlink(missing_ok=True)
        raise


def committed_claims() -> list[dict]:
    """Every claim stored in the committed record, in book order, validated (:func:`ledger.book_claims`)."""
    return ledger.book_claims(notebooks(), lambda nb: BOOK / f"{nb}.ipynb")
