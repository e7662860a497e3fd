"""Small helpers the notebooks share: paths, experiments with overrides, running a batch, writing outputs.

Notebooks run from different folders (JupyterLab and nbval start in notebooks/, papermill in
the caller's folder), so paths are resolved against the working directory first and the
project root second. Outputs (PNG, CSV, metrics.json) are written only when the notebook
was given an `output_dir` (as `sim report` does); a plain run writes nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from sim import resources
from sim.batch import load_results, load_spec, read_manifest, replicate_seeds, run_experiment
from sim.batch.spec import ExperimentSpec, spec_from_dict
from sim.errors import InputError
from sim.figures import condition_code
from sim.files import read_yaml
from sim.report.monitor import PROGRESS_VARIABLE
from sim.resources import resolve
from sim.scenario import scenario_file


def project_path(path: Path | str) -> Path:
    """`path` as given if it exists from here (or is absolute), else the project's own file it names (sim.resources)."""
    return resolve(path).resolve()


def display_path(path: Path | str) -> str:
    """A path as recorded in outputs ('data/scenarios/baseline.yaml' for the project's own files), independent of the checkout."""
    return resources.display_path(project_path(path))


def experiment(
    path: Path | str,
    replicates: int | None = None,
    n_communities: int | None = None,
    seed: int | None = None,
    outputs: Mapping[str, Any] | None = None,
) -> ExperimentSpec:
    """Load an experiment file, overriding its replicates, size (for every scenario), seed or kept outputs.

    None keeps the file's value. The overrides go through the same checks as the file.
    """
    path = project_path(path)
    if replicates is None and n_communities is None and seed is None and outputs is None:
        return load_spec(path)
    raw = dict(read_yaml(path))
    if replicates is not None:
        raw["replicates"] = replicates
    if seed is not None:
        raw["seed"] = seed
    if n_communities is not None:
        raw["parameters"] = {**(raw.get("parameters") or {}), "n_communities": n_communities}
    if outputs is not None:
        raw["outputs"] = dict(outputs)
    return spec_from_dict(raw, str(path), path.parent, path)


def single_scenario(scenario: Path | str, replicates: int, seed: int, n_communities: int | None = None) -> ExperimentSpec:
    """An experiment of one scenario (a file, or a name in data/scenarios/ such as 'innovation_leap'), all months kept."""
    path = scenario_file(scenario, "scenario").resolve()
    if not path.is_file():
        raise InputError(f"scenario = '{scenario}': file not found (looked for {path})")
    raw: dict[str, Any] = {"name": f"scenario_{path.stem}", "scenarios": [str(path)], "replicates": replicates, "seed": seed}
    if n_communities is not None:
        raw["parameters"] = {"n_communities": n_communities}
    return spec_from_dict(raw, f"scenario {path}", path.parent)


@dataclass
class BatchResults:
    """A finished batch: the tidy table, the store's manifest and how long it took."""

    table: pd.DataFrame
    manifest: dict[str, Any]
    seconds: float
    executor: str

    @property
    def runs(self) -> int:
        return int(self.table["run_id"].nunique())

    def __str__(self) -> str:
        return f"{self.runs} runs in {self.seconds:.1f} s on {self.executor}"


def run(spec: ExperimentSpec, workers: int | None = None, store: Path | str | None = None) -> BatchResults:
    """Run every run of `spec` with the batch engine (all cores by default), quietly.

    Results go to `store` (resumed if it exists) or a temporary folder that is removed after
    loading. A failed run stops the notebook with the first error.
    """
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if store is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sim-report-"))) / spec.name
        else:
            folder = Path(store)
        log = progress_stream(stack)  # batch progress goes to `sim report`'s log, never into the notebook's outputs
        with contextlib.redirect_stderr(log):
            report = run_experiment(spec, workers=workers, out=folder, quiet=True, resume=folder.exists())
        if report.failed:
            run_id, error = next(iter(report.failed.items()))
            raise RuntimeError(f"{len(report.failed)} of {report.total} runs failed; first: {run_id}: {error}")
        table = load_results(report.store)
        manifest = read_manifest(report.store)
    return BatchResults(table, manifest, time.perf_counter() - started, report.executor)


def progress_stream(stack: contextlib.ExitStack) -> TextIO:
    """Where a batch in the notebook reports progress: the file `sim report` tails (PROGRESS_VARIABLE), else nowhere."""
    path = os.environ.get(PROGRESS_VARIABLE)
    if not path:
        return io.StringIO()
    return stack.enter_context(open(path, "a", encoding="utf-8", buffering=1))


def conditions(spec: ExperimentSpec) -> pd.DataFrame:
    """One row per scenario: its condition code ('P1+P3'), program IDs and windows, changed parameters."""
    rows = []
    for name, scenario in spec.scenarios.items():
        ids = [p.id for p in scenario.programs]
        rows.append(
            {
                "scenario": name,
                "condition": condition_code(ids),
                "programs": ", ".join(f"{p.id} {p.start}-{p.end}" for p in scenario.programs) or "none",
                "parameters_changed": ", ".join(f"{k}={v}" for k, v in scenario.parameters.changed().items()) or "-",
            }
        )
    return pd.DataFrame(rows)


def seeds(spec: ExperimentSpec) -> list[int]:
    """The replicate seeds of an experiment (SeedSequence children of its master seed)."""
    return replicate_seeds(spec.seed, spec.replicates)


PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def write_csv(
    frame: pd.DataFrame, output_dir: Path | str | None, name: str, index: bool = False, excel: bool = False
) -> Path | None:
    """Write a tidy table as output_dir/name.csv (nothing without an output_dir).

    Report CSVs are for analysis, not display: one observation per row, plain column names
    (letters, digits and underscores: no units, spaces or symbols in a header), units in a
    column or the name, fractions as stored (not multiplied by 100). Display tables stay in the
    HTML. `excel`: UTF-8 with a byte-order mark, so Excel (e.g. on Chinese Windows) reads the
    encoding right; otherwise plain UTF-8.
    """
    table = frame.reset_index() if index else frame
    bad = [str(c) for c in table.columns if not PLAIN_NAME.fullmatch(str(c))]
    if bad:  # checked with or without an output folder, so nbval's runs of the notebooks check it too
        raise ValueError(f"{name}.csv: column names must be plain (letters, digits, underscores): {bad}")
    if output_dir is None:
        return None
    path = Path(output_dir) / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, encoding="utf-8-sig" if excel else "utf-8")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, pd.Timestamp | Path):
        return str(value)
    return value


def write_metrics(output_dir: Path | str | None, metrics: Mapping[str, Any]) -> Path | None:
    """Write the headline numbers as output_dir/metrics.json (`sim report` adds the provenance)."""
    if output_dir is None:
        return None
    path = Path(output_dir) / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(metrics), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def interval(value: float, low: float, high: float, scale: float = 1.0, digits: int = 2, sign: bool = True) -> str:
    """'−1.23 [−2.00, −0.46]': an estimate and its interval, for printed tables."""
    fmt = f"{{:{'+' if sign else ''}.{digits}f}}"
    return f"{fmt.format(value * scale)} [{fmt.format(low * scale)}, {fmt.format(high * scale)}]"
