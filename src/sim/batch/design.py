"""Experimental designs over named parameters: explicit list, full grid, Latin hypercube, Sobol, Morris.

A design turns the `design:` block of an experiment file into a list of design points, each
a mapping of parameter name to value. Sampling designs draw inside each parameter's range,
which defaults to the plausible range in `data/parameters.yaml` (`catalogue()[name].range`).
Values are checked one at a time against the catalogue here; rules that tie several
parameters together (e.g. tier1_share + tier2_share <= 1) are checked when a run starts, so a
sample that lands in an inconsistent corner becomes one failed run, not a refused design.

A choice parameter (such as `capacity_structure`) can be a factor of a sampled design: it is
sampled as u in [0, 1] like a numeric one and takes choice `floor(u x k)` of its k choices
(the last at u = 1), so every choice is equally likely (`choice_of`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.checks import mapping, one_of, shown, unknown_fields, whole_number
from sim.errors import InputError
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
MAX_POINTS = 1_000_000  # design points; counted before any is computed, so a huge design is refused at once


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
    raw = mapping(raw, where, "design", f"a mapping with 'kind' ({', '.join(KINDS)}) and its settings", empty=False)
    kind = one_of(raw.get("kind"), KINDS, where, "design.kind")
    unknown_fields(raw, FIELDS[kind], where, "design.", f"a {kind} design")
    if kind == "list":
        return _list_design(raw, where)
    if kind == "grid":
        return _grid_design(raw, where)
    return _sampled_design(kind, raw, where, default_seed)


def _list_design(raw: Mapping[str, Any], where: str) -> Design:
    points = raw.get("points")
    if not isinstance(points, list) or not points:
        raise InputError(f"{where}: design.points must be a non-empty list of mappings of parameter: value")
    _count(len(points), where)
    names: tuple[str, ...] | None = None
    checked = []
    for i, point in enumerate(points):
        at = f"{where}: design.points[{i}]"
        if not isinstance(point, dict) or not point:
            raise InputError(f"{at} = {shown(point)} must be a non-empty mapping of parameter: value")
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
                    f"{at} = {shown(entry)}: expected a list of values or {{levels: N, range: [low, high]}} (range optional)"
                )
            levels = whole_number(entry["levels"], where, f"design.parameters.{name}.levels", 2, MAX_POINTS)
            low, high = _bounds(param, entry.get("range"), at)
            values = [param.check(_typed(param, v), at) for v in np.linspace(low, high, levels)]
        else:
            raise InputError(f"{at} = {shown(entry)}: expected a list of values or {{levels: N, range: [low, high]}}")
        if len(set(map(repr, values))) != len(values):
            raise InputError(f"{at} = {shown(values)}: values repeat")
        axes[name] = values
    _count(math.prod(len(v) for v in axes.values()), where)
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
        if param.type not in ("float", "int", "choice"):
            raise InputError(f"{at}: a {kind} design can only vary numeric or choice parameters; '{name}' is {param.type}")
        if entry is not None and (not isinstance(entry, dict) or set(entry) - {"range"}):
            expected = "nothing (use the parameter file's range) or {range: [low, high]}"
            raise InputError(f"{at} = {shown(entry)}: expected {expected}")
        if param.type == "choice" and entry is not None:
            raise InputError(f"{at}: a choice parameter takes each of its choices equally often; it has no range")
        bounds[name] = (0.0, 1.0) if param.type == "choice" else _bounds(param, (entry or {}).get("range"), at)
        specs[name] = param
    names = tuple(params)
    seed = whole_number(raw.get("seed", default_seed), where, "design.seed")
    settings: dict[str, Any] = {"seed": seed}
    low = np.array([bounds[n][0] for n in names])
    high = np.array([bounds[n][1] for n in names])
    if kind == "lhs":
        from scipy.stats import qmc

        samples = whole_number(raw.get("samples"), where, "design.samples", minimum=1)
        _count(samples, where)
        settings["samples"] = samples
        try:
            sampler = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(seed))
        except TypeError:  # scipy < 1.15 calls it seed
            sampler = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed))
        unit = sampler.random(samples)
        matrix = qmc.scale(unit, low, high) if np.all(high > low) else low + unit * (high - low)
    elif kind == "sobol":
        from SALib.sample import sobol

        samples = whole_number(raw.get("samples"), where, "design.samples", minimum=1)
        if samples & (samples - 1):
            raise InputError(
                f"{where}: design.samples = {samples} must be a power of 2 for a Sobol design (e.g. {_pow2(samples)})"
            )
        second = raw.get("second_order", True)
        if not isinstance(second, bool):
            raise InputError(f"{where}: design.second_order = {shown(second)} must be true or false")
        _count(samples * (2 * len(names) + 2 if second else len(names) + 2), where)
        settings.update(samples=samples, second_order=second)
        problem = {"num_vars": len(names), "names": list(names), "bounds": [list(bounds[n]) for n in names]}
        matrix = sobol.sample(problem, samples, calc_second_order=second, seed=seed)
    else:
        from SALib.sample import morris

        trajectories = whole_number(raw.get("trajectories"), where, "design.trajectories", minimum=1)
        levels = whole_number(raw.get("levels", 4), where, "design.levels", minimum=2, maximum=1000)
        _count(trajectories * (len(names) + 1), where)
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
        raise InputError(f"{where}: parameter name {shown(name)} must be text")
    return spec(name, where)


def _bounds(param: ParamSpec, given: Any, where: str) -> tuple[float, float]:
    if given is None:
        if param.range is None:
            raise InputError(f"{where}: '{param.name}' has no range in the parameter file; give range: [low, high]")
        return float(param.range[0]), float(param.range[1])
    if not isinstance(given, list | tuple) or len(given) != 2:
        raise InputError(f"{where}.range = {shown(given)} must be [low, high]")
    low, high = (param.check(v, f"{where}.range") for v in given)
    if low > high:
        raise InputError(f"{where}.range = {list(given)}: low is above high")
    return float(low), float(high)


def _typed(param: ParamSpec, value: float) -> float | int | str:
    """A sampled float as the parameter's type (integers are rounded, a choice is `choice_of` it)."""
    if param.type == "choice":
        return choice_of(param, value)
    return round(float(value)) if param.type == "int" else float(value)


def choice_of(param: ParamSpec, u: float) -> str:
    """The choice a sampled u in [0, 1] stands for: choice floor(u x k) of k, the last at u = 1."""
    k = len(param.choices)
    return param.choices[min(k - 1, int(float(u) * k))]


def _count(points: int, where: str) -> None:
    """Refuse a design of more than MAX_POINTS points before computing any of them."""
    if points > MAX_POINTS:
        raise InputError(f"{where}: the design would have {points:,} points; at most {MAX_POINTS:,} are allowed")


def _pow2(n: int) -> int:
    return 2 ** round(math.log2(max(n, 1)))
