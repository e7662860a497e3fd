"""Batch experiments: replicates and designs on all cores or a Dask cluster, into a resumable Parquet store.

    from sim.batch import run_experiment, load_results, paired_differences
    report = run_experiment("experiments/compare_programs.yaml", workers=2)
    table = load_results(report.store)          # one tidy table: run_id, scenario, ..., month, outputs
    diffs = paired_differences(report.store)    # each scenario minus baseline, paired on seeds, 95% CI

Modules: spec (experiment files), design (list/grid/LHS/Sobol/Morris), runs (ids, seeds,
one run), executors (serial, processes, Dask), store (part files + manifest), runner
(the batch loop, rerun), summary (tidy statistics), commands (CLI). See docs/batch.md.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use, so `sim --help` and the other commands do not pay for pyarrow and scipy.
_EXPORTS = {
    "BatchReport": "runner",
    "RunFailedError": "runner",
    "rerun": "runner",
    "run_experiment": "runner",
    "stored_run": "runner",
    "plan_runs": "runs",
    "replicate_seeds": "runs",
    "ExperimentSpec": "spec",
    "load_spec": "spec",
    "load_results": "store",
    "read_manifest": "store",
    "paired_differences": "summary",
    "summarize": "summary",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sim.batch' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sim.batch.{_EXPORTS[name]}"), name)
