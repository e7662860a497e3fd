"""Where runs execute: in this process, in local worker processes, or on a Dask cluster.

All three hand the batch runner a `concurrent.futures.Future` per run, so the runner has one
code path. Results do not depend on the executor: a run is a pure function of its task.

- serial (`workers=1`): runs inline, in submission order; the simplest to debug.
- processes (`workers=N`, default os.cpu_count()): a ProcessPoolExecutor started with
  'forkserver' (a clean, single-threaded parent even after pyarrow or a notebook started
  threads), preloaded with the simulator so workers start fast. Workers ignore Ctrl-C; the
  parent stops them. Each worker is replaced after RECYCLE_AFTER runs (bounded memory even
  if a run leaks). If a worker process dies, the pool is rebuilt and its runs retried.
- Dask (`scheduler="tcp://host:8786"` or `dask_local=N`): `Client.get_executor(pure=False,
  retries=k)`, so a run whose worker dies is retried elsewhere. A local cluster listens on
  127.0.0.1 only and has no dashboard.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from sim.batch.runs import RunResult, RunTask, execute
from sim.errors import InputError

# Each local worker process is replaced after this many runs (a fork of the preloaded server,
# a few ms), so memory a run fails to release cannot pile up over a long batch.
RECYCLE_AFTER = 100


class Backend:
    """Submits runs; `slots` is how many can usefully be in flight at once."""

    name = "serial"
    slots = 1

    def submit(self, task: RunTask) -> Future[RunResult]:
        future: Future[RunResult] = Future()
        future.set_result(execute(task))
        return future

    def restart(self) -> None:
        """Replace broken workers (only the process pool needs it)."""

    def close(self, cancel: bool = False) -> None:
        """Stop workers; with `cancel`, drop runs that have not started."""


class ProcessBackend(Backend):
    """Local worker processes."""

    def __init__(self, workers: int) -> None:
        self.name = f"processes ({workers} workers)"
        self.slots = workers
        self._workers = workers
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.batch.runs", "sim.simulate"])
        return ProcessPoolExecutor(
            max_workers=self._workers, mp_context=context, initializer=_ignore_interrupts, max_tasks_per_child=RECYCLE_AFTER
        )

    def submit(self, task: RunTask) -> Future[RunResult]:
        return self._pool.submit(execute, task)

    def restart(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start()

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)


class DaskBackend(Backend):
    """A Dask distributed client: an existing scheduler, or a LocalCluster on 127.0.0.1."""

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None, retries: int = 2) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise InputError("Dask executors need the 'distributed' package: pip install 'dask[distributed]'") from None
        self._cluster: Any = None
        if local_workers is not None:
            self._cluster = LocalCluster(
                n_workers=local_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            )
            self._client = Client(self._cluster)
            self.name = f"dask LocalCluster ({local_workers} workers)"
        else:
            try:
                self._client = Client(scheduler, timeout="20s")
            except OSError as error:
                raise InputError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({error})") from None
            self.name = f"dask scheduler {scheduler}"
        threads = sum(self._client.nthreads().values())
        self.slots = max(2, threads)
        self._executor = self._client.get_executor(pure=False, retries=retries)

    def submit(self, task: RunTask) -> Future[RunResult]:
        return self._executor.submit(execute, task)

    def close(self, cancel: bool = False) -> None:
        self._executor.shutdown(wait=not cancel)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def check_options(workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None) -> None:
    """Refuse conflicting or bad executor options (before anything is started)."""
    chosen = [
        name
        for name, value in (("--workers", workers), ("--scheduler", scheduler), ("--dask-local", dask_local))
        if value is not None
    ]
    if len(chosen) > 1:
        raise InputError(
            f"{' and '.join(chosen)}: choose one way to run (local processes, a Dask scheduler, or a local Dask cluster)"
        )
    for option, value in (("--workers", workers), ("--dask-local", dask_local)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError(f"{option} = {value!r} must be a whole number of at least 1")


def open_backend(
    workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None, retries: int = 2
) -> Backend:
    """The backend for the chosen options (at most one of workers, scheduler, dask_local)."""
    check_options(workers, scheduler, dask_local)
    if scheduler is not None:
        return DaskBackend(scheduler=scheduler, retries=retries)
    if dask_local is not None:
        return DaskBackend(local_workers=dask_local, retries=retries)
    workers = workers or os.cpu_count() or 1
    return Backend() if workers == 1 else ProcessBackend(workers)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
