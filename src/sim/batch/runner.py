"""Running an experiment into its store: `run_experiment`, and re-running one run: `rerun`.

    from sim.batch import run_experiment
    report = run_experiment("experiments/compare_programs.yaml", workers=2)
    report.results()          # the store as one tidy table

Runs are submitted a few at a time (never the whole plan), their kept rows buffered and
written as a part file every `part_runs` runs, `part_rows` rows or `part_seconds` seconds,
whichever comes first, so memory stays flat however many runs there are. A failing run is
recorded (error and traceback in the manifest) and the batch goes on.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, CancelledError, Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from sim.batch.executors import Backend, check_options, open_backend
from sim.batch.progress import Progress
from sim.batch.runs import RunResult, RunTask, execute, plan_runs, select_runs
from sim.batch.spec import ExperimentSpec, changes, load_spec, spec_from_dict
from sim.batch.store import ResultStore, load_results, read_manifest
from sim.errors import InputError
from sim.provenance import provenance

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
) -> BatchReport:
    """Run the experiment's missing runs into its store (results/<name>/ unless `out`).

    Executors: `workers` local processes (default: all cores; 1 runs in this process),
    `scheduler` an existing Dask scheduler's address, or `dask_local` workers of a new
    LocalCluster. Without `resume`, an existing non-empty store is refused.
    """
    spec = spec if isinstance(spec, ExperimentSpec) else load_spec(spec)
    for option, value in (("part_runs", part_runs), ("part_rows", part_rows), ("retries", retries + 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{option} = {value!r} must be a positive whole number")
    tasks = plan_runs(spec)
    selected = select_runs(tasks, only)
    if isinstance(part_seconds, bool) or not isinstance(part_seconds, int | float) or part_seconds <= 0:
        raise InputError(f"part_seconds = {part_seconds!r} must be a positive number of seconds")
    check_options(workers, scheduler, dask_local)
    store = ResultStore.open(Path(out) if out is not None else DEFAULT_ROOT / spec.name, spec, resume)
    try:
        batch = _Batch(spec, tasks, store, quiet, part_runs, part_rows, part_seconds, retries)
        todo = [t for t in selected if t.run_id not in store.done]
        report = BatchReport(spec.name, store.path, len(selected), len(selected) - len(todo), 0)
        batch.session["only"] = list(dict.fromkeys(only)) if only else None
        batch.write_manifest()
        if todo:
            backend = open_backend(workers, scheduler, dask_local, retries)
            report.executor = batch.session["executor"] = backend.name
            batch.run(todo, backend, report)
        else:
            report.executor = "nothing to run"
        return report
    finally:
        store.close()


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
            "finished": 0,
            "failed": 0,
        }
        self.first_provenance = previous.get("provenance") or self.session["provenance"]
        self.buffer: list[RunResult] = []
        self.rows = 0
        self.last_flush = time.monotonic()

    def run(self, todo: list[RunTask], backend: Backend, report: BatchReport) -> None:
        started = time.monotonic()
        progress = Progress(self.spec.name, report.total, report.already_done, self.quiet)
        self._warn_if_code_changed(progress)
        queue: deque[tuple[RunTask, int]] = deque((t, 1) for t in todo)
        inflight: dict[Future[RunResult], tuple[RunTask, int]] = {}
        interrupted = True
        try:
            while queue or inflight:
                while queue and len(inflight) < 2 * backend.slots:
                    task, attempt = queue.popleft()
                    inflight[backend.submit(task)] = (task, attempt)
                done, _ = wait(inflight, timeout=1.0, return_when=FIRST_COMPLETED)
                broken = [f for f in done if isinstance(_error(f), BrokenExecutor)]
                if broken:  # a worker process died: the whole pool is gone; retry what it held
                    for future in list(inflight):
                        task, attempt = inflight.pop(future)
                        if future.done() and _error(future) is None:
                            self._finish(future.result(), attempt, report, progress)
                        elif attempt <= self.retries:
                            queue.appendleft((task, attempt + 1))
                        else:
                            self._finish(_lost(task, attempt), attempt, report, progress)
                    backend.restart()
                    continue
                for future in done:
                    task, attempt = inflight.pop(future)
                    self._finish(_outcome(future, task), attempt, report, progress)
                    self._flush_if_due()
                self._flush_if_due()  # also by time, when nothing finished
                progress.tick()  # a log line at least every 10 s, even when no run finished
            interrupted = False
        finally:
            self._flush()
            self.session["ended"] = _now()
            self.session["interrupted"] = interrupted
            self.write_manifest()
            backend.close(cancel=interrupted)
            progress.close()
            report.elapsed = time.monotonic() - started
            if interrupted:
                progress.log(f"stopped: {report.finished} runs saved in {self.store.path}; add --resume to finish the batch")

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

    def _flush(self) -> None:
        if self.buffer:
            part = self.store.write_part(self.buffer, len(self.sessions) + 1)
            for result in self.buffer:
                self.records[result.run_id].update(status="ok", part=part, error=None, traceback=None)
            self.buffer, self.rows = [], 0
            self.write_manifest()
        self.last_flush = time.monotonic()

    def write_manifest(self) -> None:
        statuses = [r["status"] for r in self.records.values()]
        counts = {s: statuses.count(s) for s in ("ok", "failed", "pending")}
        spec = self.spec
        self.store.write_manifest(
            {
                "experiment": spec.name,
                "description": spec.description,
                "spec_file": str(spec.path.resolve()) if spec.path else None,
                "spec_dir": str(spec.path.resolve().parent) if spec.path else None,
                "spec": spec.raw,
                "resolved": spec.resolved(),
                "spec_fingerprint": self.store.fingerprint,
                "provenance": self.first_provenance,
                "sessions": [*self.sessions, self.session],
                "counts": {"total": len(statuses), **counts},
                "complete": counts["ok"] == len(statuses),
                "updated": _now(),
                "runs": list(self.records.values()),
            }
        )

    def _warn_if_code_changed(self, progress: Progress) -> None:
        now, first = self.session["provenance"], self.first_provenance
        moved = [k for k in ("package_version", "git_commit", "mesa", "numpy", "pandas") if now.get(k) != first.get(k)]
        if moved and self.sessions:
            detail = ", ".join(f"{k} {first.get(k)} -> {now.get(k)}" for k in moved)
            progress.log(
                f"warning: resuming with different code than the store was started with ({detail}); both are in the manifest"
            )


def _error(future: Future[RunResult]) -> BaseException | None:
    """A done future's exception (a cancelled one counts as CancelledError)."""
    try:
        return future.exception()
    except CancelledError as error:
        return error


def _outcome(future: Future[RunResult], task: RunTask) -> RunResult:
    """The worker's result, or a failed result if the executor itself failed (e.g. a Dask worker died too often)."""
    error = _error(future)
    if error is None:
        return future.result()
    text = "".join(traceback.format_exception(error))
    return RunResult(task.run_id, None, 0.0, "", f"{type(error).__name__}: {error}", text)


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
        schema = _store_schema(source)
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
    """One run's rows as stored, in month order."""
    table = pd.read_parquet(store, filters=[("run_id", "==", run_id)])
    return table.sort_values("month", kind="stable").reset_index(drop=True)


def _store_schema(store: Path) -> pa.Schema | None:
    import pyarrow.parquet as pq

    parts = sorted(store.glob("part-*.parquet"))
    return pq.read_schema(parts[0]).remove_metadata() if parts else None
