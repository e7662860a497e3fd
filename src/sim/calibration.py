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

from sim.checks import finite_number, mapping, one_of, shown, text, unknown_fields, whole_number
from sim.errors import InputError
from sim.files import read_yaml
from sim.parameters import catalogue, spec
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


CONFIG_FIELDS = {"seeds", "n_communities", "effect_months", "scenarios", "targets", "dynamic", "index", "tolerance"}
TARGET_FIELDS = {"moment", "column", "value", "fit"}
DYNAMIC_FIELDS = {"parameters", "targets", "prior_weight", "max_evaluations"}
SCENARIO_ROLES = ("baseline", "systematic", "traditional")


def load_config(path: Path | str = CONFIG_FILE) -> Config:
    """Read and check `data/calibration.yaml` with the shared checks (sim.checks): unknown fields, types, ranges."""
    path = Path(path)
    where = str(path)
    raw = mapping(read_yaml(path), where, "", "a mapping of calibration settings", empty=False)
    unknown_fields(raw, CONFIG_FIELDS, where)
    missing = sorted(CONFIG_FIELDS - set(raw))
    if missing:
        raise InputError(f"{where}: missing field(s) {', '.join(missing)}")
    targets = {str(figure): _target(str(figure), entry, where) for figure, entry in _mapping(raw, "targets", where).items()}
    dynamic = _mapping(raw, "dynamic", where)
    unknown_fields(dynamic, DYNAMIC_FIELDS, where, "dynamic.")
    config = Config(
        seeds=[whole_number(s, where, f"seeds[{i}]") for i, s in enumerate(_list(raw["seeds"], where, "seeds"))],
        n_communities=spec("n_communities").check(raw["n_communities"], where),
        effect_months=_months(raw["effect_months"], where),
        scenarios=_scenarios(_mapping(raw, "scenarios", where), where),
        targets=targets,
        dynamic_parameters=[
            _parameter(n, where, "dynamic.parameters") for n in _list(dynamic.get("parameters"), where, "dynamic.parameters")
        ],
        dynamic_targets=[
            one_of(f, list(targets), where, "dynamic.targets", "the targets")
            for f in _list(dynamic.get("targets"), where, "dynamic.targets")
        ],
        prior_weight=finite_number(dynamic.get("prior_weight"), where, "dynamic.prior_weight", 0),
        max_evaluations=whole_number(dynamic.get("max_evaluations"), where, "dynamic.max_evaluations", 1, 100_000),
        index_parameters={
            _parameter(name, where, "index"): one_of(figure, list(targets), where, f"index.{name}", "the targets")
            for name, figure in _mapping(raw, "index", where).items()
        },
        tolerance=finite_number(raw["tolerance"], where, "tolerance", 0, 1),
        source=path,
    )
    return config


def _mapping(raw: Mapping[str, Any], field: str, where: str) -> dict[str, Any]:
    return mapping(raw.get(field), where, field, "a mapping", empty=False)


def _list(value: Any, where: str, field: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: {field} = {shown(value)} must be a non-empty list")
    return value


def _target(figure: str, entry: Any, where: str) -> Target:
    at = f"targets.{figure}"
    entry = mapping(entry, where, at, "a mapping with moment, column, value and fit", empty=False)
    unknown_fields(entry, TARGET_FIELDS, where, f"{at}.")
    fit = entry.get("fit")
    if not isinstance(fit, bool):
        raise InputError(f"{where}: {at}.fit = {shown(fit)} must be true or false")
    return Target(
        figure,
        one_of(entry.get("moment"), MOMENTS, where, f"{at}.moment"),
        text(entry.get("column"), where, f"{at}.column"),
        finite_number(entry.get("value"), where, f"{at}.value"),
        fit,
    )


def _parameter(name: Any, where: str, field: str) -> str:
    one_of(name, list(catalogue()), where, field, "the parameters")
    return name


def _months(value: Any, where: str) -> tuple[int, int]:
    months = _list(value, where, "effect_months")
    if len(months) != 2:
        raise InputError(f"{where}: effect_months = {shown(value)} must be [first, last]")
    first, last = (whole_number(m, where, "effect_months", 1, 600) for m in months)
    if first > last:
        raise InputError(f"{where}: effect_months = {shown(value)}: the first month is after the last")
    return first, last


def _scenarios(raw: Mapping[str, Any], where: str) -> dict[str, Path]:
    unknown_fields(raw, SCENARIO_ROLES, where, "scenarios.")
    missing = [role for role in SCENARIO_ROLES if role not in raw]
    if missing:
        raise InputError(f"{where}: scenarios needs {', '.join(missing)} (a scenario file each)")
    files = {role: text(raw[role], where, f"scenarios.{role}") for role in SCENARIO_ROLES}
    return {role: packaged_path(value) or resolve(value) for role, value in files.items()}  # the project's own files


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
