"""Experiment files (`experiments/*.yaml`): what to run, how often, and what to keep.

    name: compare_programs              # also the default store folder, results/<name>/
    scenarios: [baseline, talent_foundation]   # names in data/scenarios/, or paths to scenario files
    # ... or a base scenario plus named variants (parameter overrides and/or programs):
    # base: baseline
    # variants:
    #   status_quo: {}
    #   funded: {parameters: {funding_share: 0.03}, programs: [innovation_leap]}
    baseline: baseline                  # reference for paired differences (default: 'baseline' or the first)
    parameters: {n_communities: 100}    # applied to every scenario (optional)
    replicates: 30
    seed: 20230601                      # master seed: replicate seeds derive from it
    design:                             # optional; see sim.batch.design
      kind: grid
      parameters: {funding_share: [0.0, 0.01], mentor_trained_share: {levels: 3}}
    outputs:
      months: all                       # all | end | [0, 12, 90]
      columns: [idle_rate, mean_competence]   # optional subset (month is always kept)
    posterior: true                     # optional: fitted parameters from a posterior draw per replicate
                                        # (data/posterior.parquet; the draw is recorded with the results)

Errors are InputError with one line naming the file, the field, the value and what is allowed.
Relative scenario paths are read from the experiment file's folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.batch.design import Design, build_design
from sim.checks import mapping, one_of, shown, unknown_fields, whole_number
from sim.errors import InputError, closest
from sim.files import read_yaml
from sim.resources import resolve
from sim.scenario import Scenario, _programs, is_bare_name, load_scenario, scenario_file

SPEC_FIELDS = {
    "name",
    "description",
    "scenarios",
    "base",
    "variants",
    "baseline",
    "parameters",
    "replicates",
    "seed",
    "design",
    "outputs",
    "posterior",
}
VARIANT_FIELDS = {"parameters", "programs", "description"}
OUTPUT_FIELDS = {"months", "columns"}
# Names go into run ids and folder names: no leading '.', so never '.', '..' or a hidden folder; short enough for any file system.
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]{0,99}")  # matched whole (fullmatch): no trailing newline
NAME_RULE = "1 to 100 letters, digits, '_' and '.', not starting with '.'"


@dataclass(frozen=True)
class Outputs:
    """Which rows and columns of each run's monthly table are kept."""

    months: str | tuple[int, ...] = "all"  # "all", "end" or chosen months
    columns: tuple[str, ...] | None = None  # None keeps every column

    def describe(self) -> dict[str, Any]:
        return {
            "months": self.months if isinstance(self.months, str) else list(self.months),
            "columns": self.columns and list(self.columns),
        }


@dataclass(frozen=True)
class ExperimentSpec:
    """A checked experiment: scenarios by name, replicates, master seed, design and kept outputs."""

    name: str
    scenarios: Mapping[str, Scenario]
    baseline: str
    replicates: int
    seed: int
    design: Design
    outputs: Outputs
    raw: Mapping[str, Any]
    path: Path | None = None
    description: str = ""
    posterior: bool = False  # fitted parameters from a posterior draw per replicate (sim.posterior)

    def resolved(self) -> dict[str, Any]:
        """Everything that decides the results, as plain JSON data (the description is left out).

        Two stores with equal `resolved()` hold the same runs; comparing them names what changed,
        including edits to the scenario files the experiment reads.
        """
        scenarios = {}
        for name, scenario in self.scenarios.items():
            described = scenario.describe()
            scenarios[name] = {"programs": described["programs"], "parameters_changed": described["parameters_changed"]}
        plain = {
            "name": self.name,
            "scenarios": scenarios,
            "baseline": self.baseline,
            "replicates": self.replicates,
            "seed": self.seed,
            "design": self.design.describe(),
            "outputs": self.outputs.describe(),
        }
        if self.posterior:  # which draws: a changed posterior file changes the runs
            plain["posterior"] = posterior_fingerprint()
        return json.loads(json.dumps(plain, default=_plain))

    def fingerprint(self) -> str:
        """A short hash of `resolved()`; part files carry it so a store never mixes two specs."""
        text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_spec(path: Path | str) -> ExperimentSpec:
    """Read and check an experiment file (a user's own, or a packaged one such as experiments/compare_programs.yaml)."""
    path = resolve(path)
    raw = read_yaml(path)
    return spec_from_dict(raw, str(path), path.resolve().parent, path)


def spec_from_dict(raw: Any, where: str, base_dir: Path, path: Path | None = None) -> ExperimentSpec:
    """Check an experiment given as plain data; relative scenario paths are read from `base_dir`."""
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a mapping with fields {', '.join(sorted(SPEC_FIELDS))}")
    unknown_fields(raw, SPEC_FIELDS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InputError(f"{where}: name = {shown(name)} must be given, using {NAME_RULE}")
    common = mapping(raw.get("parameters"), where, "parameters", "a mapping of parameter: value")
    scenarios = _scenarios(raw, where, base_dir, common)
    baseline = raw.get("baseline", "baseline" if "baseline" in scenarios else next(iter(scenarios)))
    one_of(baseline, list(scenarios), where, "baseline", "the scenarios")
    replicates = whole_number(raw.get("replicates", 1), where, "replicates", minimum=1)
    seed = whole_number(raw.get("seed", 0), where, "seed")
    design = build_design(raw.get("design"), where, seed)
    outputs = _outputs(raw.get("outputs"), where, scenarios, design)
    posterior = raw.get("posterior", False)
    if not isinstance(posterior, bool):
        raise InputError(f"{where}: posterior = {shown(posterior)} must be true or false")
    if posterior:
        posterior_fingerprint()  # there must be one (else a one-line error naming the file)
    return ExperimentSpec(
        name=name,
        scenarios=scenarios,
        baseline=baseline,
        replicates=replicates,
        seed=seed,
        design=design,
        outputs=outputs,
        raw=json.loads(json.dumps(raw, default=str)),
        path=path,
        description=str(raw.get("description") or ""),
        posterior=posterior,
    )


def _scenarios(raw: Mapping[str, Any], where: str, base_dir: Path, common: Mapping[str, Any]) -> dict[str, Scenario]:
    has_list, has_variants = "scenarios" in raw, "variants" in raw
    if has_list == has_variants:
        raise InputError(
            f"{where}: give either 'scenarios' (a list of scenario files) or 'base' plus 'variants', "
            f"not {'both' if has_list else 'neither'}"
        )
    if has_list and "base" in raw:
        raise InputError(f"{where}: 'base' goes with 'variants'; with a 'scenarios' list, leave it out")
    at_common = f"{where}: parameters"
    if has_list:
        entries = raw["scenarios"]
        if not isinstance(entries, list) or not entries:
            raise InputError(f"{where}: scenarios = {shown(entries)} must be a non-empty list of scenario names or files")
        chosen: dict[str, Scenario] = {}
        for i, entry in enumerate(entries):
            at = f"{where}: scenarios[{i}]"
            scenario = load_scenario(_scenario_file(entry, at, base_dir)).with_parameters(common, at_common)
            _add(chosen, scenario.name, scenario, at)
        return chosen
    if "base" not in raw:
        raise InputError(f"{where}: 'variants' needs a 'base' scenario (a name in data/scenarios/ or a file)")
    base = load_scenario(_scenario_file(raw["base"], f"{where}: base", base_dir)).with_parameters(common, at_common)
    variants = mapping(raw["variants"], where, "variants", "a mapping of variant name: {parameters: ..., programs: [...]}", False)
    chosen = {}
    for name, variant in variants.items():
        at = f"{where}: variants.{name}"
        variant = mapping(variant, where, f"variants.{name}", "a mapping with parameters and/or programs")
        unknown_fields(variant, VARIANT_FIELDS, where, f"variants.{name}.")
        params = mapping(variant.get("parameters"), where, f"variants.{name}.parameters", "a mapping of parameter: value")
        programs = _programs(variant["programs"] or [], at) if "programs" in variant else base.programs
        scenario = Scenario(
            str(name),
            base.parameters.replace(params, f"{at}.parameters"),
            programs,
            str(variant.get("description") or ""),
            base.source,
        )
        _add(chosen, str(name), scenario, at)
    return chosen


def _add(chosen: dict[str, Scenario], name: str, scenario: Scenario, where: str) -> None:
    if not NAME.fullmatch(name):
        raise InputError(f"{where}: scenario name {shown(name)} must use {NAME_RULE} (it goes into run ids)")
    if name in chosen:
        raise InputError(f"{where}: scenario name '{name}' is used twice; names must be unique")
    chosen[name] = scenario


def _scenario_file(entry: Any, where: str, base_dir: Path) -> Path:
    """A bare name means data/scenarios/<name>.yaml; anything else is a path (relative to the experiment file)."""
    if not isinstance(entry, str) or not entry:
        raise InputError(f"{where} = {shown(entry)} must be a scenario name or a path to a scenario file")
    if is_bare_name(entry):
        return scenario_file(entry, where)
    path = Path(entry).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise InputError(
            f"{where} = '{entry}': scenario file not found "
            f"(looked for {path}; relative paths start at the experiment file's folder)"
        )
    return path


def _outputs(raw: Any, where: str, scenarios: Mapping[str, Scenario], design: Design) -> Outputs:
    if raw is None:
        return Outputs()
    raw = mapping(raw, where, "outputs", "a mapping with months and/or columns")
    unknown_fields(raw, OUTPUT_FIELDS, where, "outputs.")
    months = raw.get("months", "all")
    if isinstance(months, list):
        horizons = [s.parameters.months for s in scenarios.values()] + [p["months"] for p in design.points if "months" in p]
        horizon = min(horizons)
        for m in months:
            if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m <= horizon:
                raise InputError(
                    f"{where}: outputs.months has {shown(m)}; months must be whole numbers "
                    f"from 0 to {horizon} (the shortest run's horizon)"
                )
        if len(set(months)) != len(months):
            raise InputError(f"{where}: outputs.months = {months} repeats a month")
        months = tuple(sorted(months))
    elif months not in ("all", "end"):
        raise InputError(f"{where}: outputs.months = {shown(months)} must be 'all', 'end' or a list of months (0 = June 2023)")
    columns = raw.get("columns")
    if columns is not None:
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
            raise InputError(f"{where}: outputs.columns = {shown(columns)} must be a non-empty list of output column names")
        known = output_columns()
        for column in columns:
            if known is not None and column not in known:
                raise InputError(
                    f"{where}: outputs.columns has unknown column '{column}'{closest(column, set(known))} "
                    "(see the columns of `sim run --out`)"
                )
        columns = tuple(c for c in columns if c != "month")
    return Outputs(months, columns)


@functools.cache
def output_columns() -> tuple[str, ...] | None:
    """The columns of a run's monthly table, from a one-month run of 20 default communities (a few ms).

    None if that probe run fails (then column names are checked only when runs start).
    """
    from sim.simulate import simulate

    try:
        return tuple(simulate(Scenario("probe").with_parameters({"n_communities": 20, "months": 1}), seed=0).columns)
    except Exception:
        return None


def posterior_fingerprint() -> str:
    """A short hash of data/posterior.parquet's draws (an InputError if there is none)."""
    from sim.posterior import load_posterior

    draws = load_posterior()
    return hashlib.sha256(pd.util.hash_pandas_object(draws, index=True).values.tobytes()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | set):
        return list(value)
    return str(value)


def changes(old: Any, new: Any, path: str = "") -> list[str]:
    """Field paths where two plain-data trees differ, e.g. ['replicates: 30 -> 40']."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in new:
                found.append(f"{sub}: removed")
            elif key not in old:
                found.append(f"{sub}: added ({_short(new[key])})")
            else:
                found.extend(changes(old[key], new[key], sub))
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in changes(a, b, f"{path}[{i}]")]
    return [] if old == new else [f"{path or '(spec)'}: {_short(old)} -> {_short(new)}"]


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
