"""The runs of an experiment: ids, seeds and what a worker does with one.

Replicate r of every scenario and design point gets the same seed, drawn from the master
seed with numpy's SeedSequence, so comparisons are paired on common random numbers. With
`posterior: true` it also gets one draw of the calibration posterior (`sim.posterior`),
the same for every scenario and design point, so the comparisons carry calibration
uncertainty and stay paired; the draw index is a column of the results. A run
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

ID_COLUMNS = ("run_id", "scenario", "design_point", "replicate", "seed", "draw")
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
    draw: int | None = None  # the posterior draw of the fitted parameters, if the experiment uses the posterior

    def record(self) -> dict[str, Any]:
        """The manifest entry for this run, before it has run."""
        record = {
            "run_id": self.run_id,
            "scenario": self.scenario_name,
            "design_point": self.design_point,
            "replicate": self.replicate,
            "seed": self.seed,
            "parameters": dict(self.parameters),
        }
        if self.draw is not None:
            record["draw"] = self.draw
        return record


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
    draws: list[int | None] = [None] * spec.replicates
    if spec.posterior:
        from sim.posterior import replicate_draws

        draws = list(replicate_draws(spec.seed, spec.replicates))
    return [
        RunTask(run_id(name, i, r), name, scenario, i, point, r, seeds[r], spec.outputs, draws[r])
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

    return _kept(task, simulate(_scenario(task), seed=task.seed))


def _scenario(task: RunTask) -> Scenario:
    scenario = task.scenario
    if task.draw is not None:  # the draw replaces the point fit; the scenario's and the design's own values win
        from sim.posterior import apply_draw

        scenario = scenario.with_parameters(apply_draw(scenario.parameters, task.draw), f"run {task.run_id} (draw {task.draw})")
    return scenario.with_parameters(task.parameters, f"run {task.run_id} (design point {task.design_point})")


# Runs that share their mechanism (every parameter but the policy: `sim.replicates.mechanism_key`)
# run together as blocks of one model while a block has at most this many communities in all:
# past that a run is big enough to pay its own fixed costs.
BLOCK_COMMUNITIES = 4000
MAX_BLOCK = 32


def plan_blocks(tasks: list[RunTask], workers: int = 1) -> list[tuple[RunTask, ...]]:
    """Group runs into blocks that share their mechanism, keeping the plan's order.

    A block holds runs of one design point and posterior draw (these change parameters) whose
    scenarios differ only in policy — the status quo, each program, each persistence regime —
    and consecutive replicates, whole replicates where they fit, so a batch cut short still
    holds complete pairs (block by block). Blocks are kept small enough that every worker gets
    several.
    """
    from sim.replicates import mechanism_key

    keys: dict[str, tuple] = {}
    groups: dict[tuple, list[RunTask]] = {}
    for task in tasks:
        if task.scenario_name not in keys:
            keys[task.scenario_name] = mechanism_key(task.scenario)
        groups.setdefault((task.design_point, task.draw, keys[task.scenario_name]), []).append(task)
    spread = max(1, -(-len(tasks) // (3 * workers))) if workers > 1 else MAX_BLOCK
    chunks: list[tuple[int, tuple[RunTask, ...]]] = []
    for group in groups.values():
        communities = group[0].parameters.get("n_communities", group[0].scenario.parameters.n_communities)
        size = min(MAX_BLOCK, spread, max(1, BLOCK_COMMUNITIES // int(communities)))
        chunks += [(i, chunk) for i, chunk in enumerate(_chunks(group, size))]
    first = {task.run_id: i for i, task in enumerate(tasks)}
    return [block for _, block in sorted(chunks, key=lambda c: (c[0], first[c[1][0].run_id]))]


def _chunks(group: list[RunTask], size: int) -> list[tuple[RunTask, ...]]:
    """`group` (in plan order) cut into even blocks of at most `size` runs, whole replicates where they fit."""
    per_replicate = len(group) // len({t.replicate for t in group})
    unit = per_replicate if size >= per_replicate else 1  # whole replicates, or runs of one replicate
    units = len(group) // unit
    count = -(-units // max(1, size // unit))
    per_block = -(-units // count) * unit  # even blocks
    return [tuple(group[i : i + per_block]) for i in range(0, len(group), per_block)]


def execute_block(block: tuple[RunTask, ...]) -> list[RunResult]:
    """Run a block together (identical to running each alone); a failure falls back to one by one.

    Each run's duration is its share of the block's time.
    """
    if len(block) == 1:
        return [execute(block[0])]
    from sim.replicates import simulate_blocks

    started = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        tables = simulate_blocks([(_scenario(task), task.seed) for task in block])
        rows = [_kept(task, table) for task, table in zip(block, tables, strict=True)]
    except Exception:  # find out which run fails, each with its own error and traceback
        return [execute(task) for task in block]
    share = (time.perf_counter() - started) / len(block)
    return [RunResult(task.run_id, kept, share, worker) for task, kept in zip(block, rows, strict=True)]


def _kept(task: RunTask, table: pd.DataFrame) -> pd.DataFrame:
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
        **({"draw": task.draw} if task.draw is not None else {}),
        **{PARAM_PREFIX + name: value for name, value in task.parameters.items()},
    }
    front = pd.DataFrame(identity, index=table.index)
    return pd.concat([front, table], axis=1).reset_index(drop=True)
