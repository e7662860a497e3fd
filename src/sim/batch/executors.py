"""Where runs execute: in this process, in local worker processes, or on a Dask cluster.

All three hand the batch runner a `concurrent.futures.Future` per run, so the runner has one
code path. Results do not depend on the executor: a run is a pure function of its task.

- serial (`workers=1`): runs inline, in submission order; the simplest to debug.
- processes (`workers=N`, default os.cpu_count()): a ProcessPoolExecutor started with
  'forkserver' (a clean, single-threaded parent even after pyarrow or a notebook started
  threads), preloaded with the simulator so workers start fast. Workers ignore Ctrl-C; the
  parent stops them (on an interruption, at once: runs in progress are abandoned, to be run
  again on --resume). Each worker watches the batch process and exits as soon as it is gone,
  even after a SIGKILL. Each worker is replaced after RECYCLE_AFTER runs (bounded memory even
  if a run leaks). If a worker process dies, the pool is rebuilt and its runs retried.
- Dask (`scheduler="tcp://host:8786"` or `dask_local=N`): `Client.get_executor(pure=False,
  retries=k)`, so a run whose worker dies is retried elsewhere. A local cluster listens on
  127.0.0.1 only and has no dashboard. `problem()` reports a lost scheduler or a cluster
  without workers, which the runner turns into an error after a set time.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from sim.batch.limits import check_workers
from sim.batch.runs import RunResult, RunTask, execute_block
from sim.errors import InputError

# Each local worker process is replaced after this many runs (a fork of the preloaded server,
# a few ms), so memory a run fails to release cannot pile up over a long batch.
RECYCLE_AFTER = 100


class Backend:
    """Submits blocks of runs (`runs.plan_blocks`); `slots` is how many can usefully be in flight at once."""

    name = "serial"
    slots = 1

    def submit(self, block: tuple[RunTask, ...]) -> Future[list[RunResult]]:
        future: Future[list[RunResult]] = Future()
        future.set_result(execute_block(block))
        return future

    def restart(self) -> None:
        """Replace broken workers (only the process pool needs it)."""

    def problem(self) -> str | None:
        """Why no run can make progress right now (a lost Dask scheduler, no workers), or None."""
        return None

    def close(self, cancel: bool = False) -> None:
        """Stop workers; with `cancel`, stop at once and drop runs not yet finished."""


class ProcessBackend(Backend):
    """Local worker processes."""

    def __init__(self, workers: int) -> None:
        self.name = f"processes ({workers} workers)"
        self.slots = workers
        self._workers = workers
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.batch.runs", "sim.simulate", "sim.replicates"])
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=_worker_start,
            initargs=(os.getpid(),),
            max_tasks_per_child=RECYCLE_AFTER,
        )

    def submit(self, block: tuple[RunTask, ...]) -> Future[list[RunResult]]:
        return self._pool.submit(execute_block, block)

    def restart(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start()

    def close(self, cancel: bool = False) -> None:
        if not cancel:
            self._pool.shutdown(wait=True)
            return
        processes = list((getattr(self._pool, "_processes", None) or {}).values())  # CPython keeps them here
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        deadline = time.monotonic() + 5
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1)


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
        self._address = scheduler or "LocalCluster"
        self._client_log_level: int | None = None

    def problem(self) -> str | None:
        status = self._client.status
        if status != "running":
            self._quiet_reconnects()
            return f"lost the connection to the Dask scheduler at {self._address} (client {status})"
        try:
            workers = len(self._client.scheduler_info(n_workers=-1).get("workers", {}))
        except OSError:
            return f"cannot reach the Dask scheduler at {self._address}"
        return None if workers else f"the Dask scheduler at {self._address} has no workers"

    def submit(self, block: tuple[RunTask, ...]) -> Future[list[RunResult]]:
        return self._executor.submit(execute_block, block)

    def _quiet_reconnects(self) -> None:
        """Once the batch has said the scheduler is gone, its client's reconnection tracebacks add nothing."""
        client_log = logging.getLogger("distributed.client")
        if self._client_log_level is None:
            self._client_log_level = client_log.level
            client_log.setLevel(logging.CRITICAL)

    def close(self, cancel: bool = False) -> None:
        self._executor.shutdown(wait=not cancel)
        self._client.close(timeout=3 if cancel else None)
        if self._cluster is not None:
            self._cluster.close(timeout=10)
        if self._client_log_level is not None:
            logging.getLogger("distributed.client").setLevel(self._client_log_level)


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
        check_workers(option, value)


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


def _worker_start(parent: int) -> None:
    """In each local worker: leave Ctrl-C to the batch process, and exit as soon as the batch process is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), name="exit-with-batch", daemon=True).start()


def _exit_with(parent: int) -> None:
    """Wait for process `parent` to end (a pidfd on Linux; polling elsewhere), then end this process."""
    try:
        fd = os.pidfd_open(parent)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    else:
        while _alive(parent):
            time.sleep(1.0)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
