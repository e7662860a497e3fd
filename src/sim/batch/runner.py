"""Running an experiment into its store: `run_experiment`, and re-running one run: `rerun`.

    from sim.batch import run_experiment
    report = run_experiment("experiments/compare_programs.yaml", workers=2)
    report.results()          # the store as one tidy table

Runs are submitted a few at a time (never the whole plan), their kept rows buffered and
written as a part file every `part_runs` runs, `part_rows` rows or `part_seconds` seconds,
whichever comes first, so memory stays flat however many runs there are. A failing run is
recorded (error and traceback in the manifest) and the batch goes on.

Sizes are estimated before anything is planned (sim.batch.limits). While the batch runs,
Ctrl-C (SIGINT) and SIGTERM stop it the same way: the finished runs are written as a part
file, the manifest is written, worker processes are ended at once, and the signal is
re-raised (KeyboardInterrupt, or sim.errors.Terminated); further signals while that happens
are ignored, so saving cannot be cut short. A Dask cluster that loses its scheduler or has no
workers for `dask_patience` seconds ends the batch the same way, with a RunError.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, CancelledError, Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from sim.batch.executors import Backend, check_options, open_backend
from sim.batch.limits import check_size, cores
from sim.batch.progress import Progress
from sim.batch.runs import RunResult, RunTask, execute, plan_blocks, plan_runs, select_runs
from sim.batch.spec import ExperimentSpec, changes, load_spec, spec_from_dict
from sim.batch.store import ResultStore, load_results, read_manifest, store_schema
from sim.checks import finite_number, whole_number
from sim.errors import InputError, RunError, Terminated
from sim.provenance import inputs_changes, model_inputs, provenance

DEFAULT_ROOT = Path("results")


@dataclass
class BatchReport:
    """What a call to `run_experiment` did."""

    experiment: str
    store: Path
    total: int  # runs asked for (the whole experiment, or those given with `only`)
    already_done: int  # of those, finished before this call
    finished: int  # finished now
    failed: dict[str, str] = field(default_factory=dict)  # run id -> error
    elapsed: float = 0.0
    executor: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed

    def results(self) -> pd.DataFrame:
        """The whole store as one table."""
        return load_results(self.store)

    def __str__(self) -> str:
        return (
            f"{self.experiment}: {self.total} runs ({self.already_done} already done), {self.finished} finished now, "
            f"{len(self.failed)} failed, in {self.elapsed:.1f} s on {self.executor}; results in {self.store}"
        )


def run_experiment(
    spec: ExperimentSpec | Path | str,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    out: Path | str | None = None,
    resume: bool = False,
    quiet: bool = False,
    only: Iterable[str] | None = None,
    part_runs: int = 50,
    part_rows: int = 200_000,
    part_seconds: float = 60.0,
    retries: int = 2,
    allow_large: bool = False,
    dask_patience: float = 60.0,
    allow_mixed: bool = False,
) -> BatchReport:
    """Run the experiment's missing runs into its store (results/<name>/ unless `out`).

    Executors: `workers` local processes (default: all cores; 1 runs in this process),
    `scheduler` an existing Dask scheduler's address, or `dask_local` workers of a new
    LocalCluster. Without `resume`, an existing non-empty store is refused; with it, a store
    made with other model inputs (code, data files, library versions) is refused unless
    `allow_mixed`, which the manifest records. A batch beyond the size limits
    (sim.batch.limits) needs `allow_large`.
    """
    spec = spec if isinstance(spec, ExperimentSpec) else load_spec(spec)
    whole_number(part_runs, "", "part_runs (--part-runs)", 1)
    whole_number(part_rows, "", "part_rows", 1)
    whole_number(retries, "", "retries", 0)
    finite_number(part_seconds, "", "part_seconds (--part-seconds)", 0.001)
    finite_number(dask_patience, "", "dask_patience (--dask-patience)", 1)
    check_options(workers, scheduler, dask_local)
    check_size(spec, None if scheduler else dask_local or workers or cores(), allow_large)
    tasks = plan_runs(spec)
    selected = select_runs(tasks, only)
    store = ResultStore.open(Path(out) if out is not None else DEFAULT_ROOT / spec.name, spec, resume, allow_mixed)
    try:
        for warning in store.warnings:
            print(warning, file=sys.stderr, flush=True)
        batch = _Batch(spec, tasks, store, quiet, part_runs, part_rows, part_seconds, retries)
        batch.patience = float(dask_patience)
        todo = [t for t in selected if t.run_id not in store.done]
        report = BatchReport(spec.name, store.path, len(selected), len(selected) - len(todo), 0)
        batch.session["only"] = list(dict.fromkeys(only)) if only else None
        backend = open_backend(workers, scheduler, dask_local, retries) if todo else None
        report.executor = batch.session["executor"] = backend.name if backend else "nothing to run"
        batch.write_manifest()
        if backend is not None:
            batch.run(todo, backend, report)
        return report
    except BaseException:
        store.abandon()  # removes what this call created, if it wrote no part file
        raise
    finally:
        store.close()


class _Signals:
    """While a batch runs: SIGTERM raises Terminated and Ctrl-C KeyboardInterrupt, and from the first of them on,
    both are only noted, so that saving the finished runs cannot be interrupted (the cause of a hang on a second
    Ctrl-C). Only in the main thread, and SIGINT only where Python's own handler is installed."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.previous: dict[int, Any] = {}
        self.stopping = False

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            self._install(signal.SIGTERM)
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self._install(signal.SIGINT)
        return self

    def _install(self, signum: int) -> None:
        self.previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.stopping:
            self.log("already stopping: saving the finished runs first")
            return
        self.stopping = True
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


class _Batch:
    """One session of work on a store: the run loop, part flushing and the manifest."""

    def __init__(self, spec: ExperimentSpec, tasks: list[RunTask], store: ResultStore, quiet: bool,
                 part_runs: int, part_rows: int, part_seconds: float, retries: int) -> None:  # fmt: skip
        self.spec, self.store, self.quiet = spec, store, quiet
        self.part_runs, self.part_rows, self.part_seconds, self.retries = part_runs, part_rows, part_seconds, retries
        self.records = {t.run_id: {**t.record(), "status": "pending"} for t in tasks}
        for rid, info in store.done.items():
            self.records[rid].update(status="ok", duration=info.get("duration"), worker=info.get("worker"), part=info["part"])
        previous = store.previous or {}
        self.sessions: list[dict[str, Any]] = list(previous.get("sessions", []))
        self.session: dict[str, Any] = {
            "started": _now(),
            "executor": None,
            "provenance": _provenance(),
            "inputs_fingerprint": store.inputs_fingerprint,
            "finished": 0,
            "failed": 0,
        }
        if store.mixed:
            self.session["allow_mixed"] = store.mixed  # what changed, resumed anyway
        self.first_provenance = previous.get("provenance") or self.session["provenance"]
        self.buffer: list[RunResult] = []
        self.rows = 0
        self.last_flush = time.monotonic()
        self.patience = 60.0  # seconds a Dask cluster may be unusable before the batch ends

    def run(self, todo: list[RunTask], backend: Backend, report: BatchReport) -> None:
        """Run `todo` on `backend`; whatever stops it (the end, a signal, an error), finished runs are saved first."""
        started = time.monotonic()
        progress = Progress(self.spec.name, report.total, report.already_done, self.quiet)
        self._warn_if_code_changed(progress)
        stopped: BaseException | None = None
        try:
            with _Signals(progress.log) as signals:
                try:
                    self._loop(todo, backend, report, progress)
                except BaseException as error:
                    signals.stopping = True  # from here on, signals are only noted
                    stopped = error
                    raise
                finally:
                    self._close_session(backend, stopped, report, progress, started)
        except OSError as error:  # a full disk, a folder that became unwritable: one line, exit 1
            raise RunError(
                f"cannot write to {self.store.path}: {error.strerror or error}; {len(self.store.done)} runs are saved in "
                f"its part files, {len(self.buffer)} finished since were not: free space, then run the batch again with --resume"
            ) from None

    def _loop(self, todo: list[RunTask], backend: Backend, report: BatchReport, progress: Progress) -> None:
        queue: deque[tuple[tuple[RunTask, ...], int]] = deque((b, 1) for b in plan_blocks(todo, backend.slots))
        inflight: dict[Future[list[RunResult]], tuple[tuple[RunTask, ...], int]] = {}
        health = _Health(backend, self.patience, progress, self)
        while queue or inflight:
            while queue and len(inflight) < 2 * backend.slots:
                block, attempt = queue.popleft()
                inflight[backend.submit(block)] = (block, attempt)
            done, _ = wait(inflight, timeout=1.0, return_when=FIRST_COMPLETED)
            health.check()
            if any(isinstance(_error(f), BrokenExecutor) for f in done):  # a worker process died: the pool is gone
                self._retry_broken(inflight, queue, report, progress)
                backend.restart()
                continue
            for future in done:
                block, attempt = inflight.pop(future)
                if _error(future) is not None and backend.problem() is not None:
                    queue.appendleft((block, attempt))  # the executor failed, not the runs: run them again later
                    continue
                for result in _outcomes(future, block):
                    self._finish(result, attempt, report, progress)
                    self._flush_if_due()
            self._flush_if_due()  # also by time, when nothing finished
            progress.tick()  # a log line at least every 10 s, even when no run finished

    def _retry_broken(self, inflight: dict, queue: deque, report: BatchReport, progress: Progress) -> None:
        for future in list(inflight):
            block, attempt = inflight.pop(future)
            if future.done() and _error(future) is None:
                for result in future.result():
                    self._finish(result, attempt, report, progress)
            elif attempt <= self.retries:
                queue.appendleft((block, attempt + 1))
            else:
                for task in block:
                    self._finish(_lost(task, attempt), attempt, report, progress)

    def _close_session(
        self, backend: Backend, stopped: BaseException | None, report: BatchReport, progress: Progress, started: float
    ) -> None:
        """Save the finished runs and the manifest, stop the workers (at once if stopped), say what happened."""
        errors: list[OSError] = []
        for step in (self._flush, self._end_manifest):
            try:
                step(stopped is not None)
            except OSError as error:
                errors.append(error)
        backend.close(cancel=stopped is not None)
        progress.close()
        report.elapsed = time.monotonic() - started
        if stopped is not None and not self.store.done:  # nothing to resume: the start's files are removed on the way out
            progress.log("stopped before any run finished: nothing was saved; run the batch again to start it")
        elif stopped is not None:
            saved = len(self.store.done) - report.already_done
            progress.log(f"stopped: {saved} runs saved in {self.store.path}; add --resume to finish the batch")
        if errors and stopped is None:
            raise errors[0]

    def _end_manifest(self, interrupted: bool) -> None:
        self.session["ended"] = _now()
        self.session["interrupted"] = interrupted
        self.write_manifest()

    def _finish(self, result: RunResult, attempt: int, report: BatchReport, progress: Progress) -> None:
        result.attempts = attempt
        record = self.records[result.run_id]
        record.update(duration=round(result.duration, 4), worker=result.worker, attempts=attempt)
        if result.ok:
            self.buffer.append(result)
            self.rows += len(result.rows) if result.rows is not None else 0
            report.finished += 1
            self.session["finished"] += 1
        else:
            record.update(status="failed", error=result.error, traceback=result.traceback)
            report.failed[result.run_id] = result.error or "failed"
            self.session["failed"] += 1
            progress.log(f"run {result.run_id} failed: {result.error}")
        progress.update(result.ok)

    def _flush_if_due(self) -> None:
        due = len(self.buffer) >= self.part_runs or self.rows >= self.part_rows
        if self.buffer and (due or time.monotonic() - self.last_flush >= self.part_seconds):
            self._flush()

    def _flush(self, _stopping: bool = False) -> None:
        """Write the buffered runs as one part file (the journal records it; the manifest waits for the session's end)."""
        if self.buffer:
            part = self.store.write_part(self.buffer, len(self.sessions) + 1)
            for result in self.buffer:
                self.records[result.run_id].update(status="ok", part=part, error=None, traceback=None)
            self.buffer, self.rows = [], 0
        self.last_flush = time.monotonic()

    def write_manifest(self) -> None:
        """The whole manifest, written when a session starts and ends (run records streamed, not held as one string)."""
        statuses = [r["status"] for r in self.records.values()]
        counts = {s: statuses.count(s) for s in ("ok", "failed", "pending")}
        spec = self.spec
        header = {
            "experiment": spec.name,
            "description": spec.description,
            "spec_file": str(spec.path.resolve()) if spec.path else None,
            "spec_dir": str(spec.path.resolve().parent) if spec.path else None,
            "spec": spec.raw,
            "resolved": spec.resolved(),
            "spec_fingerprint": self.store.fingerprint,
            "inputs": (self.store.previous or {}).get("inputs") or self.store.inputs,
            "inputs_fingerprints": self.store.accepted_inputs(),
            "provenance": self.first_provenance,
            "sessions": [*self.sessions, self.session],
            "counts": {"total": len(statuses), **counts},
            "complete": counts["ok"] == len(statuses),
            "updated": _now(),
        }
        self.store.write_manifest(header, self.records.values())

    def _warn_if_code_changed(self, progress: Progress) -> None:
        now, first = self.session["provenance"], self.first_provenance
        moved = [k for k in ("package_version", "git_commit", "mesa", "numpy", "pandas") if now.get(k) != first.get(k)]
        if moved and self.sessions:
            detail = ", ".join(f"{k} {first.get(k)} -> {now.get(k)}" for k in moved)
            progress.log(
                f"warning: resuming with different code than the store was started with ({detail}); both are in the manifest"
            )


class _Health:
    """Every few seconds, asks the backend whether runs can progress; a problem that lasts `patience` seconds ends
    the batch with a RunError (finished runs are saved on the way out)."""

    EVERY = 2.0

    def __init__(self, backend: Backend, patience: float, progress: Progress, batch: _Batch) -> None:
        self.backend, self.patience, self.progress, self.batch = backend, patience, progress, batch
        self.since: float | None = None
        self.last = 0.0

    def check(self) -> None:
        now = time.monotonic()
        if now - self.last < self.EVERY:
            return
        self.last = now
        problem = self.backend.problem()
        if problem is None:
            self.since = None
            return
        if self.since is None:
            self.since = now
            self.progress.log(f"warning: {problem}; waiting up to {self.patience:.0f} s for it to come back")
        elif now - self.since >= self.patience:
            done = len(self.batch.store.done) + len(self.batch.buffer)
            raise RunError(
                f"{problem} for {self.patience:.0f} s; stopping. {done} finished runs are saved in {self.batch.store.path}; "
                "start the cluster again, then run the batch with --resume"
            )


def _error(future: Future[Any]) -> BaseException | None:
    """A done future's exception (a cancelled one counts as CancelledError)."""
    try:
        return future.exception()
    except CancelledError as error:
        return error


def _outcomes(future: Future[list[RunResult]], block: tuple[RunTask, ...]) -> list[RunResult]:
    """The worker's results, or failed results if the executor itself failed (e.g. a Dask worker died too often)."""
    error = _error(future)
    if error is None:
        return future.result()
    text = "".join(traceback.format_exception(error))
    return [RunResult(task.run_id, None, 0.0, "", f"{type(error).__name__}: {error}", text) for task in block]


def _lost(task: RunTask, attempts: int) -> RunResult:
    return RunResult(task.run_id, None, 0.0, "", f"the worker process running it died, {attempts} times", None)


def _provenance() -> dict[str, Any]:
    extra = {}
    for package in ("pyarrow", "scipy", "SALib", "dask", "distributed"):
        try:
            extra[package] = version(package)
        except PackageNotFoundError:
            extra[package] = "not installed"
    return provenance(**extra)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunFailedError(RuntimeError):
    """A re-run raised; `traceback` holds the worker's traceback."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(f"run {result.run_id} failed: {result.error}")
        self.traceback = result.traceback


def rerun(source: Path | str, run_id: str) -> pd.DataFrame:
    """Re-run one run by id, alone, in this process: from a results store or an experiment file.

    From a store, the experiment is rebuilt from the spec in its manifest (refusing if the
    scenario files it reads have changed since), and the rows come back with the store's
    column types, so they compare equal to `stored_run(store, run_id)` when reproducible.
    """
    source = Path(source)
    schema = None
    if source.is_dir():
        manifest = read_manifest(source)
        base = Path(manifest.get("spec_dir") or ".")
        spec = spec_from_dict(manifest["spec"], f"{source}/_manifest.json (spec)", base)
        what = changes(manifest["resolved"], spec.resolved())
        if what:
            raise InputError(
                f"{source}: the experiment's inputs changed since the batch ran ({'; '.join(what[:8])}); the run would differ"
            )
        recorded, now = manifest.get("inputs"), model_inputs()
        if isinstance(recorded, dict) and recorded != now:
            commit = (manifest.get("provenance") or {}).get("git_commit")
            raise InputError(
                f"{source}: the model's inputs changed since the batch ran ({inputs_changes(recorded, now)}); the run "
                f"would differ: re-run it from a checkout of the store's commit ({commit}) with the versions it records"
            )
        schema = store_schema(source)
    else:
        spec = load_spec(source)
    (task,) = select_runs(plan_runs(spec), [run_id], label="run id")
    result = execute(task)
    if not result.ok:
        raise RunFailedError(result)
    assert result.rows is not None
    if schema is None:
        return result.rows
    return pa.Table.from_pandas(result.rows, preserve_index=False).cast(schema).to_pandas()


def stored_run(store: Path | str, run_id: str) -> pd.DataFrame:
    """One run's rows as stored (checksum-verified), in month order; empty if the run is not stored."""
    table = load_results(store, run_ids=[run_id])
    if table.empty:
        return table
    return table.sort_values("month", kind="stable").reset_index(drop=True)
