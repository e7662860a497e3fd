"""How big a batch may be: estimated before anything is planned or run, refused beyond documented limits.

An estimate is arithmetic on the checked experiment (no run is planned, so `replicates:
10**12` is refused at once instead of hanging):

- runs: scenarios x design points x replicates;
- time: each run's communities x months at the measured rate (SECONDS_PER_COMMUNITY_MONTH,
  one run of 100 communities over 90 months takes 0.20-0.22 s in a worker; docs/batch.md),
  divided by the workers;
- memory: the batch process keeps a small record per run (BYTES_PER_RUN, measured) besides
  one part's rows.

A batch of more than MAX_RUNS runs or more than MAX_HOURS hours is refused unless confirmed
(`--allow-large`, `allow_large=True`); one whose records would not fit in half of this
machine's memory is refused always. `--workers` and `--dask-local` may not exceed the cores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sim.batch.spec import ExperimentSpec
from sim.errors import InputError

MAX_RUNS = 100_000
MAX_HOURS = 24.0
SECONDS_PER_COMMUNITY_MONTH = 0.21 / (100 * 90)  # measured, see the module docstring
BYTES_PER_RUN = 2_000  # per run in the batch process: task and manifest record measured at 0.9 kB, plus the done index
MEMORY_SHARE = 0.5  # of physical memory that bookkeeping may take


@dataclass(frozen=True)
class Estimate:
    """What a batch would take, before it starts."""

    runs: int
    cpu_seconds: float
    workers: int | None  # None: unknown (a Dask cluster started elsewhere)
    memory_bytes: int

    @property
    def hours(self) -> float:
        """Wall-clock hours on the workers (0 when their number is unknown)."""
        return self.cpu_seconds / self.workers / 3600 if self.workers else 0.0

    def __str__(self) -> str:
        if not self.workers:
            return f"{self.runs:,} runs, about {_duration(self.cpu_seconds)} of computing"
        return f"{self.runs:,} runs, about {_duration(self.cpu_seconds / self.workers)} on {self.workers} workers"


def estimate(spec: ExperimentSpec, workers: int | None) -> Estimate:
    """Runs, CPU time and bookkeeping memory of the whole experiment (arithmetic only)."""
    points = spec.design.points
    cells = 0.0
    for scenario in spec.scenarios.values():
        base = scenario.parameters
        for point in points:
            cells += point.get("n_communities", base.n_communities) * point.get("months", base.months)
    runs = len(spec.scenarios) * len(points) * spec.replicates
    return Estimate(runs, cells * spec.replicates * SECONDS_PER_COMMUNITY_MONTH, workers, runs * BYTES_PER_RUN)


def check_size(spec: ExperimentSpec, workers: int | None, allow_large: bool = False) -> Estimate:
    """The estimate, or an InputError if the batch is beyond the limits (the soft ones only without `allow_large`)."""
    found = estimate(spec, workers)
    where = str(spec.path) if spec.path else spec.name
    memory = physical_memory()
    if found.memory_bytes > MEMORY_SHARE * memory:
        raise InputError(
            f"{where}: {found.runs:,} runs would need about {found.memory_bytes / 1e9:.1f} GB for their records alone; "
            f"this machine has {memory / 1e9:.1f} GB: split the experiment"
        )
    if allow_large:
        return found
    if found.runs > MAX_RUNS:
        raise InputError(
            f"{where}: {found}: more than {MAX_RUNS:,} runs; check replicates and the design, "
            "or confirm with --allow-large (allow_large=True)"
        )
    if found.hours > MAX_HOURS:
        raise InputError(
            f"{where}: {found}: more than {MAX_HOURS:g} hours at the measured rate; "
            "confirm with --allow-large (allow_large=True), or use fewer runs or communities"
        )
    return found


def physical_memory() -> int:
    """Bytes of RAM on this machine (a large number if the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 1 << 40


def cores() -> int:
    return os.cpu_count() or 1


def check_workers(option: str, value: int | None) -> None:
    """A number of local processes: at least 1 and at most this machine's cores."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= cores():
        raise InputError(f"{option} = {value!r} must be a whole number from 1 to {cores()} (the cores of this machine)")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.0f} days"
