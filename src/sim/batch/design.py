"""Experimental designs over named parameters: explicit list, full grid, Latin hypercube, Sobol, Morris.

A design turns the `design:` block of an experiment file into a list of design points, each
a mapping of parameter name to value. Sampling designs draw inside each parameter's range,
which defaults to the plausible range in `data/parameters.yaml` (`catalogue()[name].range`).
Values are checked one at a time against the catalogue here; rules that tie several
parameters together (e.g. tier1_share + tier2_share <= 1) are checked when a run starts, so a
sample that lands in an inconsistent corner becomes one failed run, not a refused design.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.errors import InputError, closest
from sim.parameters import ParamSpec, spec

KINDS = ("list", "grid", "lhs", "sobol", "morris")
FIELDS = {
    "list": {"kind", "points"},
    "grid": {"kind", "parameters"},
    "lhs": {"kind", "parameters", "samples", "seed"},
    "sobol": {"kind", "parameters", "samples", "second_order", "seed"},
    "morris": {"kind", "parameters", "trajectories", "levels", "seed"},
}
SAMPLED = ("lhs", "sobol", "morris")


@dataclass(frozen=True)
class Design:
    """The checked design: its kind, the parameters it varies, their ranges and its points."""

    kind: str = "none"
    names: tuple[str, ...] = ()
    points: tuple[Mapping[str, Any], ...] = ({},)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """Plain data for the manifest and for spotting a changed spec."""
        return {
            "kind": self.kind,
            "parameters": list(self.names),
            "bounds": {k: list(v) for k, v in self.bounds.items()},
            **dict(self.settings),
            "points": [dict(p) for p in self.points],
        }

    def salib_problem(self) -> dict[str, Any]:
        """The SALib problem dict for analysing a Sobol or Morris design."""
        return {"num_vars": len(self.names), "names": list(self.names), "bounds": [list(self.bounds[n]) for n in self.names]}


def build_design(raw: Any, where: str, default_seed: int) -> Design:
    """Check a `design:` block and compute its points."""
    if raw is None:
        return Design()
    if not isinstance(raw, dict):
        raise InputError(f"{where}: design must be a mapping with 'kind' ({', '.join(KINDS)}) and its settings")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(f"{where}: design.kind = {kind!r} is not one of: {', '.join(KINDS)}{closest(str(kind), set(KINDS))}")
    for key in raw:
        if key not in FIELDS[kind]:
            allowed = ", ".join(sorted(FIELDS[kind]))
            raise InputError(
                f"{where}: unknown field 'design.{key}' for a {kind} design{closest(str(key), FIELDS[kind])}; allowed: {allowed}"
            )
    if kind == "list":
        return _list_design(raw, where)
    if kind == "grid":
        return _grid_design(raw, where)
    return _sampled_design(kind, raw, where, default_seed)


def _list_design(raw: Mapping[str, Any], where: str) -> Design:
    points = raw.get("points")
    if not isinstance(points, list) or not points:
        raise InputError(f"{where}: design.points must be a non-empty list of mappings of parameter: value")
    names: tuple[str, ...] | None = None
    checked = []
    for i, point in enumerate(points):
        at = f"{where}: design.points[{i}]"
        if not isinstance(point, dict) or not point:
            raise InputError(f"{at} = {point!r} must be a non-empty mapping of parameter: value")
        keys = tuple(point)
        if names is None:
            names = keys
        elif set(keys) != set(names):
            raise InputError(
                f"{at} sets {', '.join(sorted(keys))}; every point must set the same parameters ({', '.join(names)})"
            )
        checked.append({name: _param(name, at).check(point[name], at) for name in names})
    assert names is not None
    return Design("list", names, tuple(checked))


def _grid_design(raw: Mapping[str, Any], where: str) -> Design:
    params = raw.get("parameters")
    if not isinstance(params, dict) or not params:
        raise InputError(
            f"{where}: design.parameters must map each parameter to a list of values or {{levels: N, range: [low, high]}}"
        )
    axes = {}
    for name, entry in params.items():
        at = f"{where}: design.parameters.{name}"
        param = _param(name, at)
        if isinstance(entry, list):
            if not entry:
                raise InputError(f"{at} is an empty list; give at least one value")
            values = [param.check(v, at) for v in entry]
        elif isinstance(entry, dict):
            extra = set(entry) - {"levels", "range"}
            if extra or "levels" not in entry:
                raise InputError(
                    f"{at} = {entry!r}: expected a list of values or {{levels: N, range: [low, high]}} (range optional)"
                )
            levels = _positive_int(entry["levels"], f"{at}.levels", minimum=2)
            low, high = _bounds(param, entry.get("range"), at)
            values = [param.check(_typed(param, v), at) for v in np.linspace(low, high, levels)]
        else:
            raise InputError(f"{at} = {entry!r}: expected a list of values or {{levels: N, range: [low, high]}}")
        if len(set(map(repr, values))) != len(values):
            raise InputError(f"{at} = {values}: values repeat")
        axes[name] = values
    names = tuple(axes)
    points = tuple(dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values()))
    return Design("grid", names, points)


def _sampled_design(kind: str, raw: Mapping[str, Any], where: str, default_seed: int) -> Design:
    params = raw.get("parameters")
    if isinstance(params, list):
        params = dict.fromkeys(params)
    if not isinstance(params, dict) or not params:
        raise InputError(f"{where}: design.parameters must list the parameters to vary, or map each to {{range: [low, high]}}")
    bounds: dict[str, tuple[float, float]] = {}
    specs: dict[str, ParamSpec] = {}
    for name, entry in params.items():
        at = f"{where}: design.parameters.{name}"
        param = _param(name, at)
        if param.type not in ("float", "int"):
            raise InputError(f"{at}: a {kind} design can only vary numeric parameters; '{name}' is {param.type}")
        if entry is not None and (not isinstance(entry, dict) or set(entry) - {"range"}):
            raise InputError(f"{at} = {entry!r}: expected nothing (use the parameter file's range) or {{range: [low, high]}}")
        bounds[name] = _bounds(param, (entry or {}).get("range"), at)
        specs[name] = param
    names = tuple(params)
    seed = raw.get("seed", default_seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"{where}: design.seed = {seed!r} must be a non-negative integer")
    settings: dict[str, Any] = {"seed": seed}
    low = np.array([bounds[n][0] for n in names])
    high = np.array([bounds[n][1] for n in names])
    if kind == "lhs":
        from scipy.stats import qmc

        samples = _positive_int(raw.get("samples"), f"{where}: design.samples")
        settings["samples"] = samples
        try:
            sampler = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(seed))
        except TypeError:  # scipy < 1.15 calls it seed
            sampler = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed))
        unit = sampler.random(samples)
        matrix = qmc.scale(unit, low, high) if np.all(high > low) else low + unit * (high - low)
    elif kind == "sobol":
        from SALib.sample import sobol

        samples = _positive_int(raw.get("samples"), f"{where}: design.samples")
        if samples & (samples - 1):
            raise InputError(
                f"{where}: design.samples = {samples} must be a power of 2 for a Sobol design (e.g. {_pow2(samples)})"
            )
        second = raw.get("second_order", True)
        if not isinstance(second, bool):
            raise InputError(f"{where}: design.second_order = {second!r} must be true or false")
        settings.update(samples=samples, second_order=second)
        problem = {"num_vars": len(names), "names": list(names), "bounds": [list(bounds[n]) for n in names]}
        matrix = sobol.sample(problem, samples, calc_second_order=second, seed=seed)
    else:
        from SALib.sample import morris

        trajectories = _positive_int(raw.get("trajectories"), f"{where}: design.trajectories")
        levels = _positive_int(raw.get("levels", 4), f"{where}: design.levels", minimum=2)
        settings.update(trajectories=trajectories, levels=levels)
        problem = {"num_vars": len(names), "names": list(names), "bounds": [list(bounds[n]) for n in names]}
        matrix = morris.sample(problem, trajectories, num_levels=levels, seed=seed)
    points = tuple(
        {n: specs[n].check(_typed(specs[n], v), f"{where}: design point {i}") for n, v in zip(names, row, strict=True)}
        for i, row in enumerate(matrix)
    )
    return Design(kind, names, points, bounds, settings)


def _param(name: Any, where: str) -> ParamSpec:
    if not isinstance(name, str):
        raise InputError(f"{where}: parameter name {name!r} must be text")
    return spec(name, where)


def _bounds(param: ParamSpec, given: Any, where: str) -> tuple[float, float]:
    if given is None:
        if param.range is None:
            raise InputError(f"{where}: '{param.name}' has no range in the parameter file; give range: [low, high]")
        return float(param.range[0]), float(param.range[1])
    if not isinstance(given, list | tuple) or len(given) != 2:
        raise InputError(f"{where}.range = {given!r} must be [low, high]")
    low, high = (param.check(v, f"{where}.range") for v in given)
    if low > high:
        raise InputError(f"{where}.range = {list(given)}: low is above high")
    return float(low), float(high)


def _typed(param: ParamSpec, value: float) -> float | int:
    """A sampled float as the parameter's type (integers are rounded)."""
    return round(float(value)) if param.type == "int" else float(value)


def _positive_int(value: Any, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{where} = {value!r} must be a whole number of at least {minimum}")
    return value


def _pow2(n: int) -> int:
    return 2 ** round(math.log2(max(n, 1)))
