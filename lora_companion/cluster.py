"""Notebooks as Dask tasks: parallel on this machine (a ``LocalCluster``) or distributed (an existing cluster).

Each task executes one notebook in a private temporary folder on its worker and returns every file it wrote —
the executed notebook and its figure files — as bytes, which the client writes into the run's staging folder. So
the workers need the package installed (``pip install lora-companion`` from this repository, same requirements)
but no shared filesystem, and a notebook's outputs do not depend on where it ran: the run folder is identical to
a serial run's. Workers get one thread each (``threads_per_worker=1``) and every kernel limits torch to one
thread (``provenance.setup``), so N workers use N cores.

Point ``--scheduler`` at any ``distributed`` scheduler: ``dask-scheduler`` + ``dask-worker`` by hand, a
``dask_jobqueue.SLURMCluster`` (``cluster.scheduler_address``), or a ``dask_kubernetes`` ``KubeCluster``.
"""
from __future__ import annotations

import logging
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .figure_files import EMBED_ENV

#: environment variables a notebook reads that the client's run sets; they travel with each task
FORWARDED_ENV = (EMBED_ENV,)
#: set by Dask's nanny for its worker processes (``distributed.nanny.pre-spawn-environ``), not meant for the kernels
#: a worker starts: glibc's malloc trim threshold of 64 KiB returns every freed tensor's pages to the system, so a
#: kernel that allocates and frees large tensors spends its time in page faults (measured: a two-worker whole-book
#: run spent 3 min 36 s in the system with it, about 35 s without)
WORKER_ONLY_ENV = ("MALLOC_TRIM_THRESHOLD_",)


def execute_task(job, env: dict[str, str], progress: bool = False) -> dict[str, bytes]:
    """On a worker: execute ``job`` in a fresh folder under the client's ``env`` (where the client has a run folder,
    the fresh folder stands in for it) and return every file written there, by relative path."""
    from . import runner
    from .runner import RUN_DIR_ENV

    saved = {k: os.environ.get(k) for k in (*env, RUN_DIR_ENV, *WORKER_ONLY_ENV)}
    with tempfile.TemporaryDirectory(prefix="lora-companion-task-") as tmp:
        folder = Path(tmp)
        try:
            for k in (RUN_DIR_ENV, *WORKER_ONLY_ENV):
                os.environ.pop(k, None)
            os.environ.update({k: (str(folder) if k == RUN_DIR_ENV else v) for k, v in env.items()})
            runner.execute(job, folder / f"{job.slug}.ipynb", progress)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@contextmanager
def client(workers: int, scheduler: str | None = None):
    """A ``distributed.Client``: of the cluster at ``scheduler``, else of a new ``LocalCluster`` of ``workers``
    single-threaded worker processes, closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as c:
            yield c
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
        yield c


def execute_all(jobs: list, folder: Path, log, workers: int, scheduler: str | None = None) -> list:
    """Submit every job as a task, write each one's files into ``folder`` (a job's ``subdir`` if it has one) as it
    completes, and return the executed notebooks in job order. The first failure cancels the tasks not yet
    started and is raised."""
    import nbformat
    from distributed import as_completed

    from .runner import RUN_DIR_ENV

    env = {k: os.environ[k] for k in (*FORWARDED_ENV, RUN_DIR_ENV) if os.environ.get(k)}
    with client(workers, scheduler) as c:
        where = f"the cluster at {scheduler}" if scheduler else f"{workers} local workers"
        log(f"{len(jobs)} notebooks on {where}")
        futures = {c.submit(execute_task, job, env, key=f"{job.subdir or 'run'}/{job.slug}", pure=False): job
                   for job in jobs}
        try:
            for future in as_completed(futures):
                job = futures[future]
                for rel, data in future.result().items():
                    path = folder / job.subdir / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                log(f"      {job.subdir + ' ' if job.subdir else ''}{job.notebook} done")
        except BaseException:
            c.cancel(list(futures))
            raise
    return [nbformat.read(folder / job.subdir / f"{job.slug}.ipynb", as_version=4) for job in jobs]
