"""The three proposed programs (P1-P3) as time-windowed interventions.

A program is data (`data/programs.yaml`): the calendar years it runs, the levers it moves
and to what values, whether each lever is an *investment* (something built that can
outlast the spending) or *recurring* spending, and what each lever costs in the window and,
for investments, to maintain afterwards. What the levers do after the window is the
scenario's persistence regime (`sim.policy`); what the program costs is `sim.costs`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim.checks import finite_number, mapping, one_of, shown, unknown_fields
from sim.errors import InputError, closest
from sim.files import read_yaml
from sim.parameters import spec
from sim.resources import data_file

PROGRAMS_FILE = data_file("programs.yaml")
YEAR_LIMITS = (2000, 2100)
KINDS = ("investment", "recurring")
BASES = ("community_year", "cadre_year", "central_west_cadre_year")  # what a yuan amount is per
PROGRAM_FIELDS = {"id", "name", "name_zh", "start", "end", "levers"}
LEVER_FIELDS = {"value", "kind", "cost", "maintenance"}
COST_FIELDS = {"per", "low", "central", "high", "reason", "amount", "times"}


@dataclass(frozen=True)
class CostLine:
    """One cost of a lever: yuan per `per` (community-year, cadre-year, ...) with a range.

    `amount` is 'fixed' (low/central/high given) or 'increment': the lever's rise over the
    status quo, times the parameter `times` if named (its plausible range gives low/high).
    """

    per: str
    reason: str
    low: float = 0.0
    central: float = 0.0
    high: float = 0.0
    amount: str = "fixed"
    times: str | None = None


@dataclass(frozen=True)
class LeverSetting:
    """What a program does to one lever: its value, its kind and its costs."""

    value: Any
    kind: str
    cost: tuple[CostLine, ...] = ()
    maintenance: tuple[CostLine, ...] = ()

    @property
    def investment(self) -> bool:
        return self.kind == "investment"


@dataclass(frozen=True)
class Program:
    """One intervention: levers set to values from January of `start` to December of `end`."""

    key: str
    id: str
    name: str
    start: int
    end: int
    settings: Mapping[str, LeverSetting] = field(default_factory=dict)
    name_zh: str = ""

    @property
    def levers(self) -> dict[str, Any]:
        """The lever values inside the window."""
        return {lever: setting.value for lever, setting in self.settings.items()}

    def active(self, year: int) -> bool:
        return self.start <= year <= self.end

    def with_levers(self, values: Mapping[str, Any], where: str = "") -> Program:
        """The same program setting some of its levers to other values (each checked against the catalogue).

        Only levers the program already moves: their kind and cost lines stay the program's.
        """
        settings = dict(self.settings)
        for lever, value in values.items():
            if lever not in settings:
                moved = ", ".join(settings)
                raise InputError(f"{where}: program '{self.key}' does not move lever '{lever}' (it moves {moved})")
            settings[lever] = replace(settings[lever], value=spec(lever, where).check(value, f"{where} levers.{lever}"))
        return replace(self, settings=settings)

    def with_window(self, start: int | None, end: int | None, where: str = "") -> Program:
        """The same program over another window (checked; None keeps the program's own year)."""
        return _checked_window(
            replace(self, start=self.start if start is None else start, end=self.end if end is None else end), where
        )


def _checked_window(program: Program, where: str) -> Program:
    at = f"{where}: " if where else ""
    for bound in ("start", "end"):
        year = getattr(program, bound)
        if not isinstance(year, int) or isinstance(year, bool) or not YEAR_LIMITS[0] <= year <= YEAR_LIMITS[1]:
            first, last = YEAR_LIMITS
            raise InputError(f"{at}program '{program.key}' {bound} = {shown(year)} is not a year in {first}-{last}")
    if program.end < program.start:
        raise InputError(f"{at}program '{program.key}' window ends ({program.end}) before it starts ({program.start})")
    return program


def load_programs(path: Path | str = PROGRAMS_FILE) -> dict[str, Program]:
    """Read and check a programs file; returns programs by key."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping of program keys to definitions")
    programs = {key: defined_program(str(key), entry, f"{path} [{key}]") for key, entry in raw.items()}
    ids = [p.id for p in programs.values()]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: program ids must be unique; got {ids}")
    return programs


def defined_program(key: str, entry: Any, where: str) -> Program:
    """A program from its definition (the fields of a data/programs.yaml entry), checked: the standard programs, and a
    package defined elsewhere (a scenario's `programs: [{define: ...}]`, a design from `sim design`)."""
    entry = mapping(entry, where, "", "a mapping of program fields", empty=False)
    _check_fields(entry, PROGRAM_FIELDS, where, required=PROGRAM_FIELDS - {"name_zh"})
    levers = entry["levers"] or {}
    if not isinstance(levers, dict):
        raise InputError(f"{where}: 'levers' must be a mapping of lever: {{value, kind, cost, maintenance}}")
    program = Program(
        key=key,
        id=str(entry["id"]),
        name=str(entry["name"]),
        name_zh=str(entry.get("name_zh", "")),
        start=entry["start"],
        end=entry["end"],
        settings={lever: _setting(lever, value, f"{where} levers.{lever}") for lever, value in levers.items()},
    )
    return _checked_window(program, where)


def _check_fields(entry: Mapping[str, Any], allowed: set[str], where: str, required: set[str] = frozenset()) -> None:
    """Unknown fields (with a suggestion) and missing ones, through the shared checks (sim.checks)."""
    unknown_fields(entry, allowed, where)
    missing = set(required) - set(entry)
    if missing:
        raise InputError(f"{where}: missing field(s) {', '.join(sorted(missing))}")


def _setting(lever: str, entry: Any, where: str) -> LeverSetting:
    param = spec(lever, where)
    if not param.lever:
        raise InputError(f"{where}: '{lever}' is a parameter but not a policy lever; programs can only move levers")
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected a mapping with value, kind (investment or recurring) and cost")
    _check_fields(entry, LEVER_FIELDS, where, required={"value", "kind", "cost"})
    kind = one_of(entry["kind"], KINDS, where, "kind")
    numeric = param.type in ("float", "int")
    cost = _cost_lines(entry["cost"], f"{where}.cost", numeric)
    maintenance = _cost_lines(entry.get("maintenance"), f"{where}.maintenance", numeric)
    if kind == "investment" and not maintenance:
        raise InputError(f"{where}: an investment lever needs a 'maintenance' cost (paid after the window under sustain)")
    if kind == "recurring" and maintenance:
        raise InputError(f"{where}: a recurring lever has no 'maintenance' (it reverts after the window in every regime)")
    return LeverSetting(param.check(entry["value"], where), kind, cost, maintenance)


def _cost_lines(raw: Any, where: str, numeric_lever: bool) -> tuple[CostLine, ...]:
    if raw is None:
        return ()
    entries = raw if isinstance(raw, list) else [raw]
    return tuple(
        _cost_line(entry, f"{where}[{i}]" if isinstance(raw, list) else where, numeric_lever) for i, entry in enumerate(entries)
    )


def _cost_line(entry: Any, where: str, numeric_lever: bool) -> CostLine:
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected a mapping with per, low, central, high and reason")
    _check_fields(entry, COST_FIELDS, where, required={"per", "reason"})
    one_of(entry["per"], BASES, where, "per")
    amount = one_of(entry.get("amount", "fixed"), ("fixed", "increment"), where, "amount")
    if amount == "increment":
        if not numeric_lever:
            raise InputError(f"{where}: amount: increment needs a numeric lever")
        if {"low", "central", "high"} & set(entry):
            raise InputError(
                f"{where}: an increment cost takes its low/central/high from the lever (and `times`), not from the file"
            )
        times = entry.get("times")
        if times is not None and spec(times, where).range is None:
            raise InputError(f"{where}: times = {shown(times)} must be a numeric parameter with a plausible range")
        return CostLine(entry["per"], str(entry["reason"]), amount="increment", times=times)
    if "times" in entry:
        raise InputError(f"{where}: 'times' applies only to amount: increment")
    values = [_yuan(entry.get(name), f"{where}.{name}") for name in ("low", "central", "high")]
    if not values[0] <= values[1] <= values[2]:
        raise InputError(f"{where}: low <= central <= high does not hold ({values[0]:g}, {values[1]:g}, {values[2]:g})")
    return CostLine(entry["per"], str(entry["reason"]), *values)


def _yuan(value: Any, where: str) -> float:
    return finite_number(value, "", where, 0, unit="yuan")


@functools.cache
def standard_programs() -> dict[str, Program]:
    """The programs in `data/programs.yaml`."""
    return load_programs(PROGRAMS_FILE)


def program(key: str, where: str = "") -> Program:
    """A standard program by key ('talent_foundation') or ID ('P1'), or an InputError suggesting the closest."""
    programs = standard_programs()
    if key in programs:
        return programs[key]
    by_id = {p.id.lower(): p for p in programs.values()}
    if str(key).lower() in by_id:
        return by_id[str(key).lower()]
    at = f"{where}: " if where else ""
    known = ", ".join(f"{p.id} ({k})" for k, p in programs.items())
    raise InputError(
        f"{at}unknown program '{key}'{closest(str(key), set(programs) | {p.id for p in programs.values()})}; known: {known}"
    )
