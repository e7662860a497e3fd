"""The runs of an experiment: ids, seeds and what a worker does with one.

Replicate r of every scenario and design point gets the same seed, drawn from the master
seed with numpy's SeedSequence, so comparisons are paired on common random numbers. A run
is fully described by its task (scenario, design point, seed, kept outputs): running the
same task anywhere gives the same rows, which is what makes executors interchangeable and
any run re-runnable from its id alone.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.batch.spec import ExperimentSpec, Outputs
from sim.errors import InputError, closest
from sim.scenario import Scenario

ID_COLUMNS = ("run_id", "scenario", "design_point", "replicate", "seed")
PARAM_PREFIX = "param_"  # design values are columns param_<name>: outputs such as mentor_trained_share share parameter names


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run; small enough to send to a Dask worker."""

    run_id: str
    scenario_name: str
    scenario: Scenario
    design_point: int
    parameters: Mapping[str, Any]
    replicate: int
    seed: int
    outputs: Outputs

    def record(self) -> dict[str, Any]:
        """The manifest entry for this run, before it has run."""
        return {
            "run_id": self.run_id,
            "scenario": self.scenario_name,
            "design_point": self.design_point,
            "replicate": self.replicate,
            "seed": self.seed,
            "parameters": dict(self.parameters),
        }


@dataclass
class RunResult:
    """What comes back from a worker: the kept rows, or the error and its traceback."""

    run_id: str
    rows: pd.DataFrame | None
    duration: float
    worker: str = ""
    error: str | None = None
    traceback: str | None = None
    attempts: int = field(default=1)

    @property
    def ok(self) -> bool:
        return self.error is None


def run_id(scenario: str, design_point: int, replicate: int) -> str:
    """Readable, stable and sortable: baseline-0000-r007."""
    return f"{scenario}-{design_point:04d}-r{replicate:03d}"


def replicate_seeds(master: int, replicates: int) -> list[int]:
    """One seed per replicate from the master seed (SeedSequence children; fits a signed 64-bit column)."""
    children = np.random.SeedSequence(master).spawn(replicates)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def plan_runs(spec: ExperimentSpec) -> list[RunTask]:
    """Every run of the experiment, replicate by replicate (so a partial batch holds complete pairs)."""
    seeds = replicate_seeds(spec.seed, spec.replicates)
    return [
        RunTask(run_id(name, i, r), name, scenario, i, point, r, seeds[r], spec.outputs)
        for r in range(spec.replicates)
        for name, scenario in spec.scenarios.items()
        for i, point in enumerate(spec.design.points)
    ]


def select_runs(tasks: list[RunTask], only: Iterable[str] | None, label: str = "--only") -> list[RunTask]:
    """The tasks named in `only` (all when None); an unknown id is an InputError starting with `label`."""
    if not only:
        return tasks
    by_id = {t.run_id: t for t in tasks}
    chosen = []
    for wanted in dict.fromkeys(only):
        if wanted not in by_id:
            raise InputError(
                f"{label} {wanted}: no run with that id in this experiment{closest(wanted, set(by_id))} "
                f"(ids look like {tasks[0].run_id})"
            )
        chosen.append(by_id[wanted])
    return chosen


def execute(task: RunTask) -> RunResult:
    """Run one task; any exception becomes a failed result (with traceback) instead of stopping the batch."""
    started = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        rows = kept_rows(task)
    except Exception as error:
        return RunResult(
            task.run_id, None, time.perf_counter() - started, worker, f"{type(error).__name__}: {error}", traceback.format_exc()
        )
    return RunResult(task.run_id, rows, time.perf_counter() - started, worker)


def kept_rows(task: RunTask) -> pd.DataFrame:
    """The run's monthly table cut to the kept months and columns, led by its identity columns."""
    from sim.simulate import simulate

    scenario = task.scenario.with_parameters(task.parameters, f"run {task.run_id} (design point {task.design_point})")
    table = simulate(scenario, seed=task.seed)
    months = task.outputs.months
    if months == "end":
        table = table.iloc[[-1]]
    elif months != "all":
        table = table[table["month"].isin(months)]
    if task.outputs.columns is not None:
        table = table[["month", *task.outputs.columns]]
    identity = {
        "run_id": task.run_id,
        "scenario": task.scenario_name,
        "design_point": task.design_point,
        "replicate": task.replicate,
        "seed": task.seed,
        **{PARAM_PREFIX + name: value for name, value in task.parameters.items()},
    }
    front = pd.DataFrame(identity, index=table.index)
    return pd.concat([front, table], axis=1).reset_index(drop=True)
