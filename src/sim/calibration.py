"""Calibration to the article by the simulated method of moments (`sim calibrate`).

What is fitted to which figure, and what is held out, is data: `data/calibration.yaml`.
Every evaluation runs the same seeds (common random numbers), so the objective changes
only because the parameters do.

Two blocks:

1. *Dynamic* parameters (they change what happens to cadres) are fitted jointly with
   scipy's bounded Nelder-Mead: the simulation is a sum of discrete events, so the
   objective is piecewise constant in the parameters and has no useful gradient;
   Nelder-Mead needs none, respects the plausible ranges, and with four parameters a few
   hundred simulations suffice. (Optuna's samplers would add a dependency and need more
   evaluations for a problem this small.) A weak pull to the prior keeps parameters the
   figures cannot pin down near their prior.
2. *Index* parameters (elasticities, the partner log-odds) only scale an outcome index,
   which is linear in them on the log (or logit) scale; each is solved exactly for its
   figure from one simulation at the fitted dynamics.

A final run with every fitted value reports each figure, fitted or held out, with its
relative error; and each fitted parameter's sensitivity: how much the fit worsens when it
moves by a tenth of its plausible range either way, so weakly identified ones show.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import minimize

from sim.errors import InputError
from sim.files import read_yaml
from sim.parameters import catalogue
from sim.provenance import provenance
from sim.resources import data_file, packaged_path, resolve
from sim.simulate import simulate

CONFIG_FILE = data_file("calibration.yaml")
CALIBRATED_FILE = data_file("calibrated.yaml")
MOMENTS = ("first_year_mean", "ratio", "difference", "level")


@dataclass(frozen=True)
class Target:
    figure: str
    moment: str
    column: str
    value: float
    fit: bool

    def error(self, simulated: float) -> float:
        """Relative error; for a ratio, relative to the effect (ratio - 1), e.g. +37%."""
        if self.moment == "ratio":
            return (simulated - self.value) / abs(self.value - 1)
        return (simulated - self.value) / abs(self.value)


@dataclass
class Config:
    seeds: list[int]
    n_communities: int
    effect_months: tuple[int, int]
    scenarios: dict[str, Path]
    targets: dict[str, Target]
    dynamic_parameters: list[str]
    dynamic_targets: list[str]
    prior_weight: float
    max_evaluations: int
    index_parameters: dict[str, str]
    tolerance: float
    source: Path = field(default=CONFIG_FILE)


def load_config(path: Path | str = CONFIG_FILE) -> Config:
    """Read and check `data/calibration.yaml`."""
    path = Path(path)
    raw = read_yaml(path)
    try:
        targets = {
            figure: Target(figure, t["moment"], t["column"], float(t["value"]), bool(t["fit"]))
            for figure, t in raw["targets"].items()
        }
        config = Config(
            seeds=[int(s) for s in raw["seeds"]],
            n_communities=int(raw["n_communities"]),
            effect_months=tuple(raw["effect_months"]),
            scenarios={k: packaged_path(v) or resolve(v) for k, v in raw["scenarios"].items()},  # the project's own files
            targets=targets,
            dynamic_parameters=list(raw["dynamic"]["parameters"]),
            dynamic_targets=list(raw["dynamic"]["targets"]),
            prior_weight=float(raw["dynamic"]["prior_weight"]),
            max_evaluations=int(raw["dynamic"]["max_evaluations"]),
            index_parameters=dict(raw["index"]),
            tolerance=float(raw["tolerance"]),
            source=path,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{path}: missing or malformed field: {error}") from None
    specs = catalogue()
    for name in [*config.dynamic_parameters, *config.index_parameters]:
        if name not in specs:
            raise InputError(f"{path}: unknown parameter '{name}'")
    for t in targets.values():
        if t.moment not in MOMENTS:
            raise InputError(f"{path}: target {t.figure} moment '{t.moment}' is not one of {', '.join(MOMENTS)}")
    for figure in [*config.dynamic_targets, *config.index_parameters.values()]:
        if figure not in targets:
            raise InputError(f"{path}: '{figure}' is not among the targets")
    return config


# --- simulated moments -------------------------------------------------------------------
def _run(job: tuple[Path, dict[str, Any], int, int]) -> pd.DataFrame:
    path, values, seed, months = job
    return simulate(path, seed=seed, overrides={**values, "months": months})


def simulate_runs(config: Config, values: Mapping[str, Any], pool: ProcessPoolExecutor | None) -> dict[str, list[pd.DataFrame]]:
    """Monthly tables of the baseline (first year) and the two effect scenarios, per seed."""
    months = {"baseline": 12, "systematic": config.effect_months[1], "traditional": config.effect_months[1]}
    values = {**values, "n_communities": config.n_communities}
    jobs = [(config.scenarios[name], values, seed, months[name]) for name in months for seed in config.seeds]
    tables = list(pool.map(_run, jobs)) if pool else [_run(job) for job in jobs]
    n = len(config.seeds)
    return {name: tables[i * n : (i + 1) * n] for i, name in enumerate(months)}


def moments(config: Config, runs: Mapping[str, list[pd.DataFrame]]) -> dict[str, float]:
    """Each target's simulated value, averaged over seeds (and months)."""
    first, last = config.effect_months
    window = {name: pd.concat([t[(t.month >= first) & (t.month <= last)] for t in runs[name]]) for name in runs}
    baseline = pd.concat([t[(t.month >= 1) & (t.month <= 12)] for t in runs["baseline"]])
    out = {}
    for figure, t in config.targets.items():
        systematic, traditional = window["systematic"][t.column], window["traditional"][t.column]
        if t.moment == "first_year_mean":
            out[figure] = float(baseline[t.column].mean())
        elif t.moment == "ratio":
            out[figure] = float(np.exp(np.log(systematic).mean() - np.log(traditional).mean()))
        elif t.moment == "difference":
            out[figure] = float(systematic.mean() - traditional.mean())
        else:
            out[figure] = float(_logistic(_logit(systematic).mean()))
    return out


def _logit(x):
    return np.log(x / (1 - x))


def _logistic(x):
    return 1 / (1 + np.exp(-x))


# --- the fit -------------------------------------------------------------------------------
@dataclass
class Result:
    values: dict[str, float]
    table: pd.DataFrame  # one row per target
    sensitivity: pd.DataFrame
    objective: float
    evaluations: int
    seconds: float


def loss(config: Config, simulated: Mapping[str, float], figures: list[str]) -> float:
    return float(sum(config.targets[f].error(simulated[f]) ** 2 for f in figures))


def prior_penalty(config: Config, values: Mapping[str, float]) -> float:
    specs = catalogue()
    total = 0.0
    for name in config.dynamic_parameters:
        low, high = specs[name].range
        total += ((values[name] - specs[name].default) / (high - low)) ** 2
    return config.prior_weight * total


def fit(config: Config, workers: int = 2, log: Callable[[str], None] = print) -> Result:
    """Fit the dynamic block, solve the index block, then evaluate everything."""
    started = time.perf_counter()
    specs = catalogue()
    prior = {name: specs[name].default for name in [*config.dynamic_parameters, *config.index_parameters]}
    bounds = [specs[name].range for name in config.dynamic_parameters]
    evaluations = 0
    with ProcessPoolExecutor(workers) if workers > 1 else _NoPool() as pool:
        pool = pool if workers > 1 else None

        def objective(x: np.ndarray) -> float:
            nonlocal evaluations
            evaluations += 1
            values = {**prior, **dict(zip(config.dynamic_parameters, map(float, x), strict=True))}
            simulated = moments(config, simulate_runs(config, values, pool))
            value = loss(config, simulated, config.dynamic_targets) + prior_penalty(config, values)
            log(f"  evaluation {evaluations:3d}: {_fmt(values, config.dynamic_parameters)} -> {value:.5f}")
            return value

        x0 = np.array([prior[name] for name in config.dynamic_parameters])
        step = np.array([(high - low) / 4 for low, high in bounds])
        simplex = np.vstack([x0] + [np.clip(x0 + np.eye(len(x0))[i] * step[i], *bounds[i]) for i in range(len(x0))])
        log(f"fitting {', '.join(config.dynamic_parameters)} to {', '.join(config.dynamic_targets)}")
        best = minimize(
            objective,
            x0,
            method="Nelder-Mead",
            bounds=bounds,
            options={"initial_simplex": simplex, "maxfev": config.max_evaluations, "xatol": 1e-3, "fatol": 1e-5},
        )
        values = {**prior, **dict(zip(config.dynamic_parameters, map(float, best.x), strict=True))}
        log("solving the index parameters exactly")
        values = solve_index_parameters(config, values, simulate_runs(config, values, pool))
        final = moments(config, simulate_runs(config, values, pool))
        fitted = [f for f, t in config.targets.items() if t.fit]
        objective_value = loss(config, final, fitted) + prior_penalty(config, values)
        log("sensitivity of the fit to each fitted parameter")
        sensitivity = _sensitivity(config, values, objective_value, fitted, pool)
    table = pd.DataFrame(
        [
            {
                "figure": f,
                "column": t.column,
                "moment": t.moment,
                "target": t.value,
                "simulated": final[f],
                "relative_error": t.error(final[f]),
                "fitted": t.fit,
                "within_tolerance": abs(t.error(final[f])) <= config.tolerance,
            }
            for f, t in config.targets.items()
        ]
    )
    return Result(values, table, sensitivity, objective_value, evaluations, time.perf_counter() - started)


def solve_index_parameters(config: Config, values: dict[str, float], runs) -> dict[str, float]:
    """Each index parameter set so that its figure is met exactly at the simulated dynamics."""
    simulated = moments(config, runs)
    specs = catalogue()
    values = dict(values)
    for name, figure in config.index_parameters.items():
        target = config.targets[figure]
        old = values[name]
        if target.moment == "ratio":  # log index = log 100 + e x log(capacity ratio): e scales the log ratio
            new = old * math.log(target.value) / math.log(simulated[figure])
        elif target.moment == "level":  # logit(adoption) = ... + L (partner on): L shifts the logit
            new = old + float(_logit(target.value) - _logit(simulated[figure]))
        else:
            raise InputError(f"{config.source}: index parameter {name} needs a ratio or level target, not {target.moment}")
        low, high = specs[name].allowed or specs[name].range
        values[name] = float(min(max(new, low), high))
    return values


def _sensitivity(config, values, base, figures, pool) -> pd.DataFrame:
    specs = catalogue()
    rows = []
    for name in [*config.dynamic_parameters, *config.index_parameters]:
        low, high = specs[name].range
        row = {"parameter": name, "value": values[name], "range_low": low, "range_high": high}
        for sign, label in ((-1, "minus"), (1, "plus")):
            moved = {**values, name: values[name] + sign * (high - low) / 10}
            simulated = moments(config, simulate_runs(config, moved, pool))
            row[f"objective_{label}_tenth"] = loss(config, simulated, figures) + prior_penalty(config, moved) - base
        rows.append(row)
    return pd.DataFrame(rows)


class _NoPool:
    def __enter__(self):
        return None

    def __exit__(self, *exc) -> None:
        return None


def _fmt(values: Mapping[str, float], names: list[str]) -> str:
    return ", ".join(f"{n}={values[n]:.4g}" for n in names)


def write_calibrated(config: Config, result: Result, path: Path = CALIBRATED_FILE) -> None:
    """Save fitted values with ranges, fit quality, seeds and provenance (read by sim.parameters)."""
    specs = catalogue()
    record = {
        "description": "Parameters fitted by `sim calibrate` (see data/calibration.yaml and docs/ODD.md, Calibration). "
        "They replace the catalogue defaults in every scenario. Targets are one article's unverified figures.",
        "values": {name: round(value, 6) for name, value in result.values.items()},
        "ranges": {name: list(specs[name].range) for name in result.values},
        "priors": {name: specs[name].default for name in result.values},
        "objective": round(result.objective, 6),
        "evaluations": result.evaluations,
        "seconds": round(result.seconds, 1),
        "seeds": config.seeds,
        "n_communities": config.n_communities,
        "targets": result.table.round(6).to_dict(orient="records"),
        "sensitivity": result.sensitivity.round(6).to_dict(orient="records"),
        "provenance": provenance(),
    }
    path.write_text(yaml.safe_dump(record, sort_keys=False, allow_unicode=True), encoding="utf-8")


__all__ = ["Config", "Result", "fit", "load_config", "moments", "simulate_runs", "write_calibrated"]
