"""The parameter catalogue (`data/parameters.yaml`): defaults, ranges, units, sources.

Every number the model uses is declared there once. This module reads the catalogue,
checks values against it and hands the model a read-only `Parameters` object.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml

from sim.checks import finite_number, is_number, shown
from sim.errors import InputError, closest
from sim.resources import data_file

DATA_DIR = data_file()  # the installed data/ (sim.resources); new code should call data_file(name)
CATALOGUE = data_file("parameters.yaml")
CALIBRATED = data_file("calibrated.yaml")  # written by `sim calibrate`; replaces some defaults


@dataclass(frozen=True)
class ParamSpec:
    """One entry of the catalogue."""

    name: str
    type: str  # float | int | bool | choice | list
    default: Any
    source: str
    description: str
    unit: str = ""
    range: tuple[float, float] | None = None
    allowed: tuple[float, float] | None = None
    choices: tuple[str, ...] = ()
    choices_zh: tuple[str, ...] = ()  # the choices' Chinese names, in the same order (reports in Chinese)
    lever: bool = False
    increasing: bool = False
    weights: bool = False  # a list of relative weights: at least one must be above 0

    @property
    def citation(self) -> str:
        """The figure ID(s) or 'assumption' that the source starts with."""
        return self.source.split(":")[0].split(" (")[0]

    def check(self, value: Any, where: str = "") -> Any:
        """Return `value` converted to this parameter's type, or raise InputError."""
        at = f"{where}: " if where else ""
        bad = f"{at}parameter '{self.name}' = {shown(value)}"
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no", "on", "off"}:
                return value.lower() in {"true", "yes", "on"}
            raise InputError(f"{bad} is not true/false")
        if self.type == "choice":
            if value not in self.choices:
                raise InputError(f"{bad} is not one of: {', '.join(self.choices)}{closest(str(value), set(self.choices))}")
            return value
        if self.type == "list":
            return self._check_list(value, where)
        number = _to_number(value)
        if number is None or not math.isfinite(number):
            raise InputError(f"{bad} is not a {'finite ' if number is not None else ''}number (expected {self.type})")
        if self.type == "int":
            if number != int(number):
                raise InputError(f"{bad} is not a whole number")
            number = int(number)
        else:
            number = float(number)
        low, high = self.allowed or self.range or (float("-inf"), float("inf"))
        if not low <= number <= high:
            raise InputError(f"{bad} is out of range: allowed {_fmt(low)} to {_fmt(high)} {self.unit}".rstrip())
        return number

    def _check_list(self, value: Any, where: str) -> tuple[float, ...]:
        """Every element a finite number within `allowed`; the length, order and weights rules."""
        bad = f"{where + ': ' if where else ''}parameter '{self.name}' = {shown(value)}"
        if not isinstance(value, list | tuple) or len(value) != len(self.default):
            raise InputError(f"{bad} must be a list of {len(self.default)} numbers")
        low, high = self.allowed or (-math.inf, math.inf)
        for i, element in enumerate(value):
            finite_number(element, where, f"parameter '{self.name}'[{i}]", low, high, self.unit.split(" (")[0])
        if self.increasing and sorted(value) != list(value):
            raise InputError(f"{bad} must be increasing")
        if self.weights and not any(v > 0 for v in value):
            raise InputError(f"{bad}: these are relative weights; at least one must be above 0")
        return tuple(float(v) for v in value)


def _to_number(value: Any) -> float | None:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _fmt(x: float) -> str:
    return f"{x:g}"


@functools.cache
def catalogue() -> Mapping[str, ParamSpec]:
    """All parameter specs by name, in file order."""
    raw = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    specs = {}
    for name, entry in raw.items():
        kind = entry.get("type", "float")
        specs[name] = ParamSpec(
            name=name,
            type=kind,
            default=entry["default"] if kind != "list" else tuple(entry["default"]),
            source=str(entry["source"]),
            description=entry["description"],
            unit=entry.get("unit", ""),
            range=tuple(entry["range"]) if "range" in entry else None,
            allowed=tuple(entry["allowed"]) if "allowed" in entry else None,
            choices=tuple(entry.get("choices", ())),
            choices_zh=tuple(entry.get("choices_zh", ())),
            lever=bool(entry.get("lever", False)),
            increasing=bool(entry.get("increasing", False)),
            weights=bool(entry.get("weights", False)),
        )
    return MappingProxyType(specs)


def spec(name: str, where: str = "") -> ParamSpec:
    """The spec of `name`, or an InputError that suggests the closest valid name."""
    specs = catalogue()
    if name not in specs:
        at = f"{where}: " if where else ""
        raise InputError(f"{at}unknown parameter '{name}'{closest(name, set(specs))}")
    return specs[name]


# Choices that change no mechanism but which calibrated values hold: data/calibrated.yaml keeps the
# index parameters solved for each pair (its `variants`, keyed "structure/reading").
VARIANT_CHOICES = ("capacity_structure", "training_evidence")


@functools.cache
def _calibrated_file() -> Mapping[str, Any]:
    if not CALIBRATED.is_file():
        return {}
    return yaml.safe_load(CALIBRATED.read_text(encoding="utf-8")) or {}


@functools.cache
def calibrated_values() -> Mapping[str, Any]:
    """Values fitted by `sim calibrate` (data/calibrated.yaml), checked like any override."""
    values = _calibrated_file().get("values") or {}
    return MappingProxyType({name: spec(name, str(CALIBRATED)).check(v, str(CALIBRATED)) for name, v in values.items()})


@functools.cache
def calibrated_variants() -> Mapping[tuple[str, ...], Mapping[str, Any]]:
    """The index parameters solved for each (capacity_structure, training_evidence) pair (data/calibrated.yaml)."""
    variants = _calibrated_file().get("variants") or {}
    where = f"{CALIBRATED}: variants"
    checked = {key: {n: spec(n, where).check(v, f"{where}.{key}") for n, v in values.items()} for key, values in variants.items()}
    return MappingProxyType({tuple(str(key).split("/")): MappingProxyType(values) for key, values in checked.items()})


def variant_values(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """The calibrated index parameters of the variant `values` choose (empty if calibrated.yaml has none for it)."""
    return calibrated_variants().get(tuple(str(values[name]) for name in VARIANT_CHOICES), {})


def default_values() -> dict[str, Any]:
    """Every parameter's default: the catalogue's, with calibrated values in place of priors."""
    return {**{name: s.default for name, s in catalogue().items()}, **calibrated_values()}


class Parameters(Mapping[str, Any]):
    """A complete, checked, read-only set of parameter values (defaults + overrides).

    Values are reachable as `params["name"]` and as attributes, `params.name`.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        where: str = "",
        base: Mapping[str, Any] | None = None,
        explicit: frozenset[str] = frozenset(),
    ) -> None:
        values = dict(base) if base is not None else default_values()
        for name, value in (overrides or {}).items():
            values[name] = spec(name, where).check(value, where)
        self.explicit = explicit | frozenset(overrides or {})  # every name set on purpose, here or in the base
        # A structure or reading other than the calibrated default brings its own index parameters, unless set on purpose.
        values.update({n: v for n, v in variant_values(values).items() if n not in self.explicit})
        _check_consistency(values, where)
        self._values = values
        self.__dict__.update(values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def replace(self, overrides: Mapping[str, Any], where: str = "") -> Parameters:
        """A copy with some values changed (checked like any override)."""
        return Parameters(overrides, where, base=self._values, explicit=self.explicit)

    def without_levers(self) -> MechanismParameters:
        """The same values minus the policy levers: what the model hands its processes."""
        return MechanismParameters(self)

    def changed(self) -> dict[str, Any]:
        """The values that differ from the defaults (calibrated where calibrated)."""
        defaults = default_values()
        return {k: v for k, v in self._values.items() if v != defaults[k]}


class MechanismParameters(Mapping[str, Any]):
    """Every parameter except the policy levers, as `params.name` or `params["name"]`.

    A lever's value in the scenario is its status quo, wrong once a program starts; the
    value in force this month is in the model's `Policy` (`sim.policy`). Reading a lever
    here is therefore an error that says where to look instead.
    """

    def __init__(self, parameters: Parameters) -> None:
        levers = {name for name, s in catalogue().items() if s.lever}
        self._values = {k: v for k, v in parameters.items() if k not in levers}
        self.__dict__.update(self._values)

    def _lever_error(self, name: str) -> str:
        where = "policy.levers." + name if catalogue()[name].type in ("float", "int") else f"policy.by_community('{name}')"
        return (
            f"'{name}' is a policy lever: read the value in force this month as model.{where} "
            f"(the scenario's status quo is model.policy_scenario.parameters['{name}'])"
        )

    def __getattr__(self, name: str) -> Any:
        if name in catalogue() and catalogue()[name].lever:
            raise AttributeError(self._lever_error(name))
        raise AttributeError(f"no parameter '{name}'")

    def __getitem__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name in catalogue() and catalogue()[name].lever:
            raise KeyError(self._lever_error(name))
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _check_consistency(values: Mapping[str, Any], where: str) -> None:
    """Rules that involve more than one parameter."""
    at = f"{where}: " if where else ""
    for group in (("tier1_share", "tier2_share"), ("post_mix_admin", "post_mix_digital", "post_mix_elderly")):
        total = sum(values[n] for n in group)
        if total > 1 + 1e-9:
            raise InputError(f"{at}{' + '.join(group)} = {total:g} exceeds 1")
    if values["share_under_35"] + values["share_over_45"] > 1 + 1e-9:
        raise InputError(f"{at}share_under_35 + share_over_45 exceeds 1")
    if values["min_age"] >= 35:
        raise InputError(f"{at}min_age = {values['min_age']} must be below 35 (F09 counts cadres under 35)")
    if values["min_age"] >= values["max_reserve_age"]:
        raise InputError(f"{at}min_age ({values['min_age']}) must be below max_reserve_age ({values['max_reserve_age']})")
    if values["max_reserve_age"] <= 45:
        raise InputError(f"{at}max_reserve_age = {values['max_reserve_age']} must exceed 45 (F10 counts cadres over 45)")
