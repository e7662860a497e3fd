"""Calibration to the article (`sim calibrate`): targets, contrasts, moments and the point fit.

What is fitted to which figure, in which contrast, and what is held out is data:
`data/calibration.yaml` (docs/ODD.md section 8). Each figure is simulated as the article
states it - its own pair of scenarios (e.g. the capability bank alone against no bank),
run on the same seeds from the same June 2023 state - and has a role: *fitted* (informs
parameters other figures share), *matched* by construction (one scale parameter of its own
is solved for it) or *held out* (nothing is fitted to it or set from it).

Two methods share these moments:

- the point fit here (`method smm`, the simulated method of moments on common random
  numbers): the *dynamic* parameters (they change what happens to cadres) by scipy's
  bounded Nelder-Mead - the simulation is a sum of discrete events, piecewise constant in
  the parameters, so no gradient is of use - with a weak pull to the middle of the range;
  then each *index* parameter solved exactly for its figure (an index is linear in it on the
  log or logit scale). The result goes to data/calibrated.yaml, whose values replace the
  catalogue defaults in every scenario;
- the posterior (`method abc`, `sim.abc`): ABC-SMC over the same parameters.

Because the dynamic block does not depend on how capacity makes the governance indices,
the alternative `capacity_structure`s (docs/ODD.md section 8, the F45 structures) are
compared on the same fitted dynamics: each has its index parameters solved on the same
figures, and is judged by how many figures it reproduces on fresh seeds, F45 held out.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import minimize

from sim.checks import finite_number, mapping, one_of, shown, text, unknown_fields, whole_number
from sim.errors import InputError
from sim.files import read_yaml
from sim.parameters import VARIANT_CHOICES, catalogue, default_values
from sim.provenance import provenance
from sim.resources import data_file, packaged_path, resolve
from sim.scenario import Scenario, load_scenario
from sim.simulate import check_finite

CONFIG_FILE = data_file("calibration.yaml")
CALIBRATED_FILE = data_file("calibrated.yaml")
MOMENTS = ("mean", "ratio", "difference", "logit_mean")
ANCHOR_MOMENTS = ("mean", "per_community_year")
ROLES = ("fitted", "matched", "held_out")
STRUCTURE_PARAMETER = "capacity_structure"
CHECK_SEEDS = tuple(range(100, 108))  # fresh seeds on which the structures are compared (not the fit's)
TARGET_FIELDS = {
    "phrase",
    "population",
    "contrast",
    "time",
    "scenario",
    "reference",
    "months",
    "moment",
    "column",
    "value",
    "role",
}
ANCHOR_FIELDS = {"description", "parameter", "scenario", "months", "moment", "column", "low", "high"}
ABC_FIELDS = {"population", "generations", "minutes", "pilot_seeds", "draws", "seed", "floor_multiple"}
DYNAMIC_FIELDS = {"parameters", "targets", "prior_weight", "max_evaluations"}
READING_FIELDS = {"figures", "scenarios"}
VALIDATION_FIELDS = {"years", "persistence", "seeds", "band", "figures", "programs"}
CONFIG_FIELDS = {"seeds", "n_communities", "scenarios", "readings", "targets", "anchors", "dynamic", "index", "abc",
                 "validation", "tolerance"}  # fmt: skip


@dataclass(frozen=True)
class Target:
    """One article figure as the calibration simulates it."""

    figure: str
    role: str
    moment: str
    column: str
    value: float
    scenario: str
    months: tuple[int, int]
    reference: str | None = None
    phrase: str = ""
    population: str = ""
    contrast: str = ""
    time: str = ""

    @property
    def in_fit(self) -> bool:
        """Used by the fit (fitted or matched); held-out figures never are."""
        return self.role != "held_out"

    def error(self, simulated: float) -> float:
        """Relative error; for a ratio relative to the effect (ratio - 1), e.g. +37%."""
        if self.moment == "ratio":
            return (simulated - self.value) / abs(self.value - 1)
        return (simulated - self.value) / abs(self.value)


@dataclass(frozen=True)
class Anchor:
    """A level anchored to an external range (not fitted; checked and shown)."""

    name: str
    parameter: str
    scenario: str
    months: tuple[int, int]
    moment: str
    column: str
    low: float
    high: float
    description: str = ""


@dataclass(frozen=True)
class AbcSettings:
    population: int = 200
    generations: int = 8
    minutes: float = 28.0
    pilot_seeds: int = 16
    draws: int = 1000
    seed: int = 20231106
    floor_multiple: float = 1.0  # stop once the threshold is within this multiple of the noise floor


@dataclass(frozen=True)
class Reading:
    """A named assumption: which contrast some figures describe, chosen by a parameter's value."""

    parameter: str
    figures: tuple[str, ...]
    scenarios: Mapping[str, str]  # the parameter's choice -> the figures' scenario under it


@dataclass
class Config:
    seeds: list[int]
    n_communities: int
    scenarios: dict[str, Path]
    targets: dict[str, Target]
    anchors: dict[str, Anchor]
    dynamic_parameters: list[str]
    dynamic_targets: list[str]
    prior_weight: float
    max_evaluations: int
    index_parameters: dict[str, str]  # parameter -> the figure it is solved for, in order
    abc: AbcSettings
    tolerance: float
    readings: dict[str, Reading] = field(default_factory=dict)
    validation: Any = None  # the program-level validation's settings (sim.validation.Settings), if the file has them
    source: Path = field(default=CONFIG_FILE)

    def targets_under(self, choices: Mapping[str, Any]) -> dict[str, Target]:
        """The targets with each reading's figures moved to the scenario `choices` (parameter: choice) select."""
        targets = dict(self.targets)
        for reading in self.readings.values():
            choice = choices.get(reading.parameter)
            if choice is None:
                continue
            for figure in reading.figures:
                targets[figure] = replace(targets[figure], scenario=reading.scenarios[str(choice)])
        return targets

    def variants(self) -> list[dict[str, str]]:
        """Every (capacity structure, reading) pair, as parameter values, the default first."""
        choices = [[(STRUCTURE_PARAMETER, c) for c in catalogue()[STRUCTURE_PARAMETER].choices]]
        choices += [[(r.parameter, c) for c in r.scenarios] for r in self.readings.values()]
        default = default_values()
        pairs = [dict(combo) for combo in itertools.product(*choices)]
        return sorted(pairs, key=lambda v: any(v[k] != default[k] for k in v))

    @property
    def parameters(self) -> list[str]:
        """Every parameter the calibration estimates, dynamic first."""
        return [*self.dynamic_parameters, *self.index_parameters]

    def figures(self, role: str | None = None) -> list[str]:
        return [f for f, t in self.targets.items() if role is None or t.role == role]

    def fingerprint(self) -> str:
        """A short hash of everything that decides the moments and the fit."""
        plain = {
            "n_communities": self.n_communities,
            "scenarios": {k: str(v) for k, v in self.scenarios.items()},
            "targets": {f: asdict(t) for f, t in self.targets.items()},
            "readings": {k: asdict(r) for k, r in self.readings.items()},
            "parameters": self.parameters,
            "ranges": {n: list(catalogue()[n].range) for n in self.parameters},
        }
        return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_config(path: Path | str = CONFIG_FILE) -> Config:
    """Read and check a calibration file (data/calibration.yaml) with the shared checks (sim.checks).

    Bad input is one InputError line naming the file, the field, the value and what is allowed.
    """
    path = Path(path)
    where = str(path)
    raw = mapping(read_yaml(path), where, "", "a mapping of calibration settings", empty=False)
    unknown_fields(raw, CONFIG_FIELDS, where)
    missing = sorted(CONFIG_FIELDS - {"anchors", "abc", "readings", "validation"} - set(raw))
    if missing:
        raise InputError(f"{where}: missing field(s) {', '.join(missing)}")
    scenarios = _scenarios(mapping(raw["scenarios"], where, "scenarios", "a mapping of name: scenario file", empty=False), where)
    targets = {
        str(f): _target(str(f), entry, where, scenarios)
        for f, entry in mapping(raw["targets"], where, "targets", "a mapping of figure: target", empty=False).items()
    }
    anchors = {
        str(n): _anchor(str(n), entry, where, scenarios) for n, entry in mapping(raw.get("anchors"), where, "anchors").items()
    }
    dynamic = mapping(raw["dynamic"], where, "dynamic", "a mapping with parameters and targets", empty=False)
    unknown_fields(dynamic, DYNAMIC_FIELDS, where, "dynamic.")
    index = mapping(raw["index"], where, "index", "a mapping of parameter: figure")
    config = Config(
        seeds=[whole_number(s, where, f"seeds[{i}]") for i, s in enumerate(_list(raw["seeds"], where, "seeds"))],
        n_communities=catalogue()["n_communities"].check(raw["n_communities"], f"{where}: n_communities"),
        scenarios=scenarios,
        targets=targets,
        anchors=anchors,
        dynamic_parameters=[
            _parameter(n, where, "dynamic.parameters") for n in _list(dynamic.get("parameters"), where, "dynamic.parameters")
        ],
        dynamic_targets=[
            one_of(f, list(targets), where, "dynamic.targets", "the targets")
            for f in _list(dynamic.get("targets"), where, "dynamic.targets")
        ],
        prior_weight=finite_number(dynamic.get("prior_weight", 0.01), where, "dynamic.prior_weight", 0),
        max_evaluations=whole_number(dynamic.get("max_evaluations", 100), where, "dynamic.max_evaluations", 1, 100_000),
        index_parameters={
            _parameter(name, where, "index"): one_of(figure, list(targets), where, f"index.{name}", "the targets")
            for name, figure in index.items()
        },
        abc=_abc(raw.get("abc"), where),
        tolerance=finite_number(raw["tolerance"], where, "tolerance", 0, 1),
        readings=_readings(raw.get("readings"), where, targets, scenarios),
        validation=_validation(raw.get("validation"), where),
        source=path,
    )
    for name in config.parameters:
        if config.parameters.count(name) > 1:
            raise InputError(f"{where}: parameter '{name}' is listed twice (dynamic and index blocks must not overlap)")
    for figure in [*config.dynamic_targets, *config.index_parameters.values()]:
        if not targets[figure].in_fit:
            raise InputError(f"{where}: figure {figure} is held out, so no parameter may be fitted to it")
    for name, figure in config.index_parameters.items():
        if targets[figure].role != "matched":
            raise InputError(f"{where}: index.{name} solves {figure} exactly, so {figure} must have role: matched")
        if targets[figure].moment not in ("ratio", "logit_mean"):
            raise InputError(f"{where}: index.{name}: {figure} needs a ratio or logit_mean moment, not {targets[figure].moment}")
    return config


def _list(value: Any, where: str, field_name: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: {field_name} = {shown(value)} must be a non-empty list")
    return value


def _months(value: Any, where: str, field_name: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"{where}: {field_name} = {shown(value)} must be [first, last]")
    first, last = (whole_number(m, where, field_name, 1, 600) for m in value)
    if first > last:
        raise InputError(f"{where}: {field_name} = {shown(value)}: the first month is after the last")
    return first, last


def _parameter(name: Any, where: str, field_name: str) -> str:
    name = one_of(name, list(catalogue()), where, field_name, "the parameters")
    spec = catalogue()[name]
    if spec.type not in ("float", "int") or not spec.range:
        raise InputError(f"{where}: {field_name}: parameter {name!r} has no numeric range to fit within")
    return name


def _scenarios(raw: Mapping[str, Any], where: str) -> dict[str, Path]:
    paths = {}
    for name, file in raw.items():
        file = text(file, where, f"scenarios.{name}")
        path = packaged_path(file) or resolve(file)  # the project's own files, or a path
        if not path.is_file():
            raise InputError(f"{where}: scenarios.{name} = {shown(file)}: file not found")
        paths[str(name)] = path
    return paths


def _target(figure: str, entry: Any, where: str, scenarios: Mapping[str, Path]) -> Target:
    at = f"targets.{figure}"
    entry = mapping(entry, where, at, "a mapping with scenario, months, moment, column, value and role", empty=False)
    unknown_fields(entry, TARGET_FIELDS, where, f"{at}.")
    missing = sorted({"scenario", "months", "moment", "column", "value", "role"} - set(entry))
    if missing:
        raise InputError(f"{where}: {at}: missing field(s) {', '.join(missing)}")
    moment = one_of(entry["moment"], MOMENTS, where, f"{at}.moment")
    reference = entry.get("reference")
    if moment in ("ratio", "difference") and reference is None:
        raise InputError(f"{where}: {at}: a {moment} needs a reference scenario")
    return Target(
        figure=figure,
        role=one_of(entry["role"], ROLES, where, f"{at}.role"),
        moment=moment,
        column=text(entry["column"], where, f"{at}.column"),
        value=finite_number(entry["value"], where, f"{at}.value"),
        scenario=one_of(entry["scenario"], list(scenarios), where, f"{at}.scenario", "the scenarios"),
        months=_months(entry["months"], where, f"{at}.months"),
        reference=None if reference is None else one_of(reference, list(scenarios), where, f"{at}.reference", "the scenarios"),
        phrase=str(entry.get("phrase", "")),
        population=str(entry.get("population", "")),
        contrast=str(entry.get("contrast", "")),
        time=str(entry.get("time", "")),
    )


def _anchor(name: str, entry: Any, where: str, scenarios: Mapping[str, Path]) -> Anchor:
    at = f"anchors.{name}"
    entry = mapping(entry, where, at, "a mapping with parameter, scenario, months, moment, column, low and high", empty=False)
    unknown_fields(entry, ANCHOR_FIELDS, where, f"{at}.")
    missing = sorted(ANCHOR_FIELDS - {"description"} - set(entry))
    if missing:
        raise InputError(f"{where}: {at}: missing field(s) {', '.join(missing)}")
    low, high = finite_number(entry["low"], where, f"{at}.low"), finite_number(entry["high"], where, f"{at}.high")
    if low > high:
        raise InputError(f"{where}: {at}: low {low:g} is above high {high:g}")
    return Anchor(
        name=name,
        parameter=_parameter(entry["parameter"], where, f"{at}.parameter"),
        scenario=one_of(entry["scenario"], list(scenarios), where, f"{at}.scenario", "the scenarios"),
        months=_months(entry["months"], where, f"{at}.months"),
        moment=one_of(entry["moment"], ANCHOR_MOMENTS, where, f"{at}.moment"),
        column=text(entry["column"], where, f"{at}.column"),
        low=low,
        high=high,
        description=str(entry.get("description", "")),
    )


def _abc(raw: Any, where: str) -> AbcSettings:
    raw = mapping(raw, where, "abc")
    unknown_fields(raw, ABC_FIELDS, where, "abc.")
    changes: dict[str, Any] = {}
    for name in ("population", "generations", "pilot_seeds", "draws"):
        if name in raw:
            changes[name] = whole_number(raw[name], where, f"abc.{name}", 2, 1_000_000)
    if "seed" in raw:
        changes["seed"] = whole_number(raw["seed"], where, "abc.seed")
    if "minutes" in raw:
        changes["minutes"] = finite_number(raw["minutes"], where, "abc.minutes", 0.01, 10_000)
    if "floor_multiple" in raw:
        changes["floor_multiple"] = finite_number(raw["floor_multiple"], where, "abc.floor_multiple", 0, 1000)
    return replace(AbcSettings(), **changes)


def _validation(raw: Any, where: str) -> Any:
    from sim import validation

    return None if raw is None else validation.settings(raw, where)


def _readings(raw: Any, where: str, targets: Mapping[str, Target], scenarios: Mapping[str, Path]) -> dict[str, Reading]:
    """Each named reading: a choice parameter of the catalogue, its figures, and a scenario for every choice."""
    readings = {}
    for name, entry in mapping(raw, where, "readings").items():
        at = f"readings.{name}"
        parameter = one_of(name, [n for n, s in catalogue().items() if s.type == "choice"], where, at, "the choice parameters")
        entry = mapping(entry, where, at, "a mapping with figures and scenarios", empty=False)
        unknown_fields(entry, READING_FIELDS, where, f"{at}.")
        figures = tuple(
            one_of(f, list(targets), where, f"{at}.figures", "the targets")
            for f in _list(entry.get("figures"), where, f"{at}.figures")
        )
        by_choice = mapping(entry.get("scenarios"), where, f"{at}.scenarios", "a mapping of choice: scenario", empty=False)
        choices = catalogue()[parameter].choices
        if set(by_choice) != set(choices):
            raise InputError(
                f"{where}: {at}.scenarios names {sorted(by_choice)}; it needs one scenario for each of {list(choices)}"
            )
        chosen = {str(c): one_of(v, list(scenarios), where, f"{at}.scenarios.{c}", "the scenarios") for c, v in by_choice.items()}
        default = catalogue()[parameter].default
        for figure in figures:
            if targets[figure].scenario != chosen[default]:
                needed = f"{chosen[default]!r}, the scenario of {parameter}'s default ({default})"
                raise InputError(f"{where}: targets.{figure}.scenario must be {needed}")
        readings[parameter] = Reading(parameter, figures, chosen)
    return readings


# --- simulated moments -------------------------------------------------------------------
def run_lengths(
    config: Config, figures: Iterable[str] | None = None, anchors: bool = False, targets: Mapping[str, Target] | None = None
) -> dict[str, int]:
    """Months each scenario must run for the figures (and anchors) asked for (`targets`: under a reading)."""
    targets = config.targets if targets is None else targets
    lengths: dict[str, int] = {}
    chosen = [targets[f] for f in (figures if figures is not None else targets)]
    for t in chosen:
        for name in (t.scenario, t.reference):
            if name is not None:
                lengths[name] = max(lengths.get(name, 0), t.months[1])
    for a in config.anchors.values() if anchors else ():
        lengths[a.scenario] = max(lengths.get(a.scenario, 0), a.months[1])
    return lengths


def _run_point(job: tuple[tuple[tuple[str, int], ...], dict[str, Any], int]) -> list[pd.DataFrame]:
    """Every scenario of one (values, seed) point, as blocks of one model where they share a mechanism (`sim.replicates`)."""
    from sim.replicates import mechanism_key, simulate_blocks

    files, values, seed = job
    scenarios = [_scenario_file(path, Path(path).stat().st_mtime).with_parameters({**values, "months": months})
                 for path, months in files]  # fmt: skip
    groups: dict[tuple, list[int]] = {}
    for i, scenario in enumerate(scenarios):
        groups.setdefault(mechanism_key(scenario), []).append(i)
    tables: list[pd.DataFrame] = [pd.DataFrame()] * len(scenarios)
    for members in groups.values():
        for i, table in zip(members, simulate_blocks([(scenarios[i], seed) for i in members]), strict=True):
            tables[i] = check_finite(table, scenarios[i], seed)
    return tables


@functools.lru_cache(maxsize=32)
def _scenario_file(path: str, mtime: float) -> Scenario:
    del mtime  # part of the key: an edited file is read again
    return load_scenario(path)


def simulate_points(
    config: Config,
    points: list[tuple[Mapping[str, Any], int]],
    pool: ProcessPoolExecutor | None,
    lengths: Mapping[str, int] | None = None,
) -> list[dict[str, list[pd.DataFrame]]]:
    """Runs of every scenario for each (values, seed) point - e.g. one predictive draw each on its own seed."""
    lengths = dict(run_lengths(config) if lengths is None else lengths)
    files = tuple((str(config.scenarios[name]), months) for name, months in lengths.items())
    jobs = [(files, {**values, "n_communities": config.n_communities}, seed) for values, seed in points]
    results = list(pool.map(_run_point, jobs)) if pool else [_run_point(job) for job in jobs]
    return [{name: [tables[j]] for j, name in enumerate(lengths)} for tables in results]


def simulate_runs(
    config: Config,
    values: Mapping[str, Any],
    pool: ProcessPoolExecutor | None,
    seeds: Iterable[int] | None = None,
    lengths: Mapping[str, int] | None = None,
) -> dict[str, list[pd.DataFrame]]:
    """Monthly tables of each scenario the figures need, one per seed (every scenario on every seed)."""
    seeds = list(config.seeds if seeds is None else seeds)
    lengths = dict(run_lengths(config) if lengths is None else lengths)
    points = simulate_points(config, [(values, seed) for seed in seeds], pool, lengths)
    return {name: [point[name][0] for point in points] for name in lengths}


def _window(tables: list[pd.DataFrame], months: tuple[int, int], column: str) -> pd.Series:
    first, last = months
    return pd.concat([t.loc[(t.month >= first) & (t.month <= last), column] for t in tables])


def moment(target: Target, runs: Mapping[str, list[pd.DataFrame]]) -> float:
    """A figure's simulated value, pooled over the runs' seeds and the target's months."""
    x = _window(runs[target.scenario], target.months, target.column)
    if target.moment == "mean":
        return float(x.mean())
    if target.moment == "logit_mean":
        return float(_logistic(_logit(x).mean()))
    y = _window(runs[target.reference], target.months, target.column)
    if target.moment == "ratio":
        return float(np.exp(np.log(x).mean() - np.log(y).mean()))
    return float(x.mean() - y.mean())


def moments(
    config: Config,
    runs: Mapping[str, list[pd.DataFrame]],
    figures: Iterable[str] | None = None,
    targets: Mapping[str, Target] | None = None,
) -> dict[str, float]:
    """Each figure's simulated value (all figures whose scenarios were run, or those asked for; `targets`: under a reading)."""
    targets = config.targets if targets is None else targets
    chosen = figures if figures is not None else [f for f, t in targets.items() if _has_runs(t, runs)]
    return {f: moment(targets[f], runs) for f in chosen}


def _has_runs(t: Target, runs: Mapping[str, Any]) -> bool:
    return t.scenario in runs and (t.reference is None or t.reference in runs)


def anchor_value(anchor: Anchor, runs: Mapping[str, list[pd.DataFrame]]) -> float:
    x = _window(runs[anchor.scenario], anchor.months, anchor.column)
    if anchor.moment == "per_community_year":
        communities = _window(runs[anchor.scenario], anchor.months, "communities")
        return float(12 * x.sum() / communities.sum())
    return float(x.mean())


def per_seed(config: Config, runs: Mapping[str, list[pd.DataFrame]], figures: Iterable[str] | None = None) -> pd.DataFrame:
    """One row of moments per seed (the runs of every scenario share the seed's position)."""
    n = len(next(iter(runs.values())))
    return pd.DataFrame([moments(config, {k: [v[i]] for k, v in runs.items()}, figures) for i in range(n)])


def _logit(x):
    return np.log(x / (1 - x))


def _logistic(x):
    return 1 / (1 + np.exp(-x))


# --- the fit --------------------------------------------------------------------------------
@dataclass
class Result:
    """A calibration: the values, every figure's error, the anchors, and every variant's index parameters."""

    values: dict[str, float]
    table: pd.DataFrame  # one row per target (the default variant, fit seeds)
    anchors: pd.DataFrame  # one row per anchor
    sensitivity: pd.DataFrame
    variants: pd.DataFrame  # one row per (capacity structure, reading): errors on fresh seeds
    variant_values: dict[str, dict[str, float]]  # 'structure/reading' -> its index parameters
    objective: float
    evaluations: int
    seconds: float
    method: str = "smm"
    start: dict[str, float] = field(default_factory=dict)  # where the dynamic block's search began


def loss(config: Config, simulated: Mapping[str, float], figures: Iterable[str]) -> float:
    return float(sum(config.targets[f].error(simulated[f]) ** 2 for f in figures))


def prior_penalty(config: Config, values: Mapping[str, float]) -> float:
    """Weak pull of each dynamic parameter to the middle of its plausible range."""
    specs = catalogue()
    total = 0.0
    for name in config.dynamic_parameters:
        low, high = specs[name].range
        total += ((values[name] - (low + high) / 2) / (high - low)) ** 2
    return config.prior_weight * total


def start_values(config: Config) -> dict[str, float]:
    """The catalogue's defaults of the calibrated parameters (not earlier fitted values)."""
    specs = catalogue()
    return {name: float(specs[name].default) for name in config.parameters}


def fit(
    config: Config,
    workers: int = 2,
    log: Callable[[str], None] = print,
    compare_structures: bool = True,
    start: Mapping[str, float] | None = None,
) -> Result:
    """The point fit (`--method smm`): the dynamic block by Nelder-Mead, then `evaluate`.

    `start` (e.g. an earlier fit's values) starts the search there, with a smaller first simplex
    (an eighth of each range instead of a quarter); by default it starts from the catalogue's defaults.
    """
    started = time.perf_counter()
    specs = catalogue()
    base = start_values(config)
    bounds = [specs[name].range for name in config.dynamic_parameters]
    for name, value in (start or {}).items():
        if name in base:
            low, high = specs[name].range
            base[name] = float(min(max(value, low), high))
    started_at = {name: base[name] for name in config.dynamic_parameters}
    evaluations = 0
    dynamic_lengths = run_lengths(config, config.dynamic_targets)
    with _pool(workers) as pool:

        def objective(x: np.ndarray) -> float:
            nonlocal evaluations
            evaluations += 1
            values = {**base, **dict(zip(config.dynamic_parameters, map(float, x), strict=True))}
            simulated = moments(config, simulate_runs(config, values, pool, lengths=dynamic_lengths), config.dynamic_targets)
            value = loss(config, simulated, config.dynamic_targets) + prior_penalty(config, values)
            log(f"  evaluation {evaluations:3d}: {_fmt(values, config.dynamic_parameters)} -> {value:.5f}")
            return value

        if config.dynamic_parameters:
            x0 = np.array([base[name] for name in config.dynamic_parameters])
            step = np.array([(high - low) / (8 if start else 4) for low, high in bounds])
            simplex = np.vstack([x0] + [np.clip(x0 + np.eye(len(x0))[i] * step[i], *bounds[i]) for i in range(len(x0))])
            log(f"fitting {', '.join(config.dynamic_parameters)} to {', '.join(config.dynamic_targets)}")
            best = minimize(
                objective,
                x0,
                method="Nelder-Mead",
                bounds=bounds,
                options={"initial_simplex": simplex, "maxfev": config.max_evaluations, "xatol": 1e-3, "fatol": 1e-5},
            )
            base.update(zip(config.dynamic_parameters, map(float, best.x), strict=True))
        result = evaluate(config, base, pool, log, compare_structures)
    return replace(result, evaluations=evaluations, seconds=time.perf_counter() - started, start=started_at)


def evaluate(
    config: Config,
    dynamic: Mapping[str, float],
    pool: ProcessPoolExecutor | None,
    log: Callable[[str], None] = print,
    compare_variants_too: bool = True,
    method: str = "smm",
) -> Result:
    """At the dynamic block's values: the index block solved (every variant), every figure and anchor, sensitivities."""
    started = time.perf_counter()
    log(f"solving the index parameters exactly ({variant_key(default_values())})")
    values = solve_index_parameters(config, {**start_values(config), **dynamic}, pool)
    runs = simulate_runs(config, values, pool, lengths=run_lengths(config, anchors=True))
    final = moments(config, runs)
    in_fit = config.figures("fitted") + config.figures("matched")
    objective_value = loss(config, final, in_fit) + prior_penalty(config, values)
    anchors = _anchor_table(config, runs)
    log("sensitivity of the fit to each parameter")
    sensitivity = _sensitivity(config, values, objective_value, in_fit, pool)
    variants, variant_values = compare_variants(config, values, pool, log) if compare_variants_too else (pd.DataFrame(), {})
    return Result(
        values,
        target_table(config, final),
        anchors,
        sensitivity,
        variants,
        variant_values,
        objective_value,
        0,
        time.perf_counter() - started,
        method,
    )


def target_table(config: Config, simulated: Mapping[str, float]) -> pd.DataFrame:
    rows = []
    for f, t in config.targets.items():
        error = t.error(simulated[f])
        rows.append(
            {
                "figure": f,
                "role": t.role,
                "scenario": t.scenario,
                "reference": t.reference or "",
                "months": f"{t.months[0]}-{t.months[1]}",
                "column": t.column,
                "moment": t.moment,
                "target": t.value,
                "simulated": simulated[f],
                "relative_error": error,
                "within_tolerance": abs(error) <= config.tolerance,
            }
        )
    return pd.DataFrame(rows)


def _anchor_table(config: Config, runs: Mapping[str, list[pd.DataFrame]]) -> pd.DataFrame:
    rows = []
    for a in config.anchors.values():
        value = anchor_value(a, runs)
        rows.append(
            {
                "anchor": a.name,
                "parameter": a.parameter,
                "value": value,
                "low": a.low,
                "high": a.high,
                "within": a.low <= value <= a.high,
            }
        )
    return pd.DataFrame(rows, columns=["anchor", "parameter", "value", "low", "high", "within"])


def solve_index_parameters(
    config: Config,
    values: Mapping[str, Any],
    pool: ProcessPoolExecutor | None,
    rounds: int = 3,
    seeds: Iterable[int] | None = None,
) -> dict[str, Any]:
    """Each index parameter set so that its figure holds exactly at the simulated dynamics (within its range).

    An index is linear in its parameter on the log (ratio) or logit (adoption) scale, so one
    step solves it; a few rounds settle parameters that feed each other (F42 follows F41).
    The figures are read in the contrasts the reading in `values` chooses (`Config.readings`).
    """
    specs = catalogue()
    values = {**{n: default_values()[n] for n in config.index_parameters}, **values}  # explicit: no variant's defaults
    targets = config.targets_under(values)
    figures = list(config.index_parameters.values())
    lengths = run_lengths(config, figures, targets=targets)
    for _ in range(rounds):
        simulated = moments(config, simulate_runs(config, values, pool, seeds, lengths), figures, targets)
        moved = False
        for name, figure in config.index_parameters.items():
            target, now = targets[figure], simulated[figure]
            old = values[name]
            if target.moment == "ratio":  # log index ratio = parameter x log(capacity or adoption ratio)
                new = old * math.log(target.value) / math.log(now) if abs(math.log(now)) > 1e-12 and old != 0 else old
            else:  # logit(adoption) = ... + parameter: the parameter shifts the logit
                new = old + float(_logit(target.value) - _logit(now))
            low, high = specs[name].range
            values[name] = float(min(max(new, low), high))
            moved |= abs(values[name] - old) > 1e-6 * max(1.0, abs(old))
        if not moved:
            break
    return values


def _sensitivity(config, values, base, figures, pool) -> pd.DataFrame:
    specs = catalogue()
    rows = []
    for name in config.parameters:
        low, high = specs[name].range
        row = {"parameter": name, "value": values[name], "range_low": low, "range_high": high}
        for sign, label in ((-1, "minus"), (1, "plus")):
            moved = {**values, name: min(max(values[name] + sign * (high - low) / 10, low), high)}
            simulated = moments(config, simulate_runs(config, moved, pool, lengths=run_lengths(config, figures)), figures)
            row[f"objective_{label}_tenth"] = loss(config, simulated, figures) + prior_penalty(config, moved) - base
        rows.append(row)
    return pd.DataFrame(rows)


def compare_variants(
    config: Config, values: Mapping[str, Any], pool: ProcessPoolExecutor | None, log: Callable[[str], None] = print
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Every (capacity structure, reading) fitted on the same figures - the same dynamics, its own index
    parameters - and checked on fresh seeds; the held-out figure is reported, never used to choose."""
    rows, fitted = [], {}
    for variant in config.variants():
        key = variant_key(variant)
        log(f"  {key}: index parameters solved, checked on seeds {CHECK_SEEDS[0]}-{CHECK_SEEDS[-1]}")
        solved = solve_index_parameters(config, {**values, **variant}, pool)
        fitted[key] = {k: float(solved[k]) for k in config.index_parameters}
        targets = config.targets_under(variant)
        simulated = moments(config, simulate_runs(config, solved, pool, CHECK_SEEDS, run_lengths(config, targets=targets)),
                            targets=targets)  # fmt: skip
        row: dict[str, Any] = {"variant": key, **variant}
        for f, t in targets.items():
            row[f] = t.error(simulated[f])
        in_sample = [f for f, t in targets.items() if t.role != "held_out"]
        row["in_sample_reproduced"] = sum(abs(row[f]) <= config.tolerance for f in in_sample)
        row["in_sample"] = len(in_sample)
        row["held_out_reproduced"] = sum(abs(row[f]) <= config.tolerance for f, t in targets.items() if t.role == "held_out")
        row["at_bound"] = ", ".join(n for n in config.index_parameters if solved[n] in catalogue()[n].range)
        rows.append(row)
    return pd.DataFrame(rows), fitted


def variant_key(variant: Mapping[str, Any]) -> str:
    """'frontline/system': how calibrated.yaml names a (capacity_structure, training_evidence) pair."""
    return "/".join(str(variant[name]) for name in VARIANT_CHOICES)


class _NoPool:
    def __enter__(self):
        return None

    def __exit__(self, *exc) -> None:
        return None


def _pool(workers: int):
    return ProcessPoolExecutor(workers) if workers > 1 else _NoPool()


def _fmt(values: Mapping[str, float], names: list[str]) -> str:
    return ", ".join(f"{n}={values[n]:.4g}" for n in names)


METHODS = {
    "smm": "smm: bounded Nelder-Mead on common random numbers (dynamic block), exact solution (index block)",
    "abc": "abc: the posterior median of the dynamic block (ABC-SMC, data/posterior.yaml), exact solution (index block)",
}


def write_calibrated(config: Config, result: Result, path: Path | str = CALIBRATED_FILE) -> None:
    """Save the values with ranges, fit quality, anchors, every variant's index parameters, seeds and provenance."""
    specs = catalogue()
    record = {
        "description": "Parameters fitted by `sim calibrate` (see data/calibration.yaml and docs/ODD.md, Calibration). They "
        "replace the catalogue defaults in every scenario; a capacity structure or reading other than the default takes its "
        "index parameters from `variants`. Targets are one article's unverified figures. The posterior of the same "
        "parameters is data/posterior.parquet.",
        "method": METHODS[result.method],
        "values": {name: round(value, 6) for name, value in result.values.items() if name in config.parameters},
        "variants": {key: {k: round(v, 6) for k, v in values.items()} for key, values in result.variant_values.items()},
        "ranges": {name: list(specs[name].range) for name in config.parameters},
        "priors": {name: specs[name].default for name in config.parameters},
        "roles": {f: t.role for f, t in config.targets.items()},
        "objective": round(result.objective, 6),
        "evaluations": result.evaluations,
        "search_started_at": {name: round(value, 6) for name, value in result.start.items()},
        "seconds": round(result.seconds, 1),
        "seeds": config.seeds,
        "n_communities": config.n_communities,
        "config_fingerprint": config.fingerprint(),
        "targets": _records(result.table),
        "anchors": _records(result.anchors),
        "sensitivity": _records(result.sensitivity),
        "variant_check": {"check_seeds": list(CHECK_SEEDS), "comparison": _records(result.variants)},
        "provenance": provenance(),
    }
    Path(path).write_text(yaml.safe_dump(record, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({k: (round(float(v), 6) if isinstance(v, float | np.floating) else _plain(v)) for k, v in row.items()})
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


__all__ = [
    "Anchor",
    "Config",
    "Result",
    "Target",
    "fit",
    "load_config",
    "moments",
    "per_seed",
    "simulate_runs",
    "write_calibrated",
]
