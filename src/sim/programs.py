"""The three proposed programs (P1-P3) as time-windowed interventions.

A program is data (`data/programs.yaml`): the calendar years it runs, the levers it moves
and to what values, and what it costs. Inside its window it overrides the scenario's lever
values and pays its cost; outside, the scenario's values hold.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim.errors import InputError, closest
from sim.files import read_yaml
from sim.parameters import DATA_DIR, spec

PROGRAMS_FILE = DATA_DIR / "programs.yaml"
YEAR_LIMITS = (2000, 2100)


@dataclass(frozen=True)
class Program:
    """One intervention: levers set to values from January of `start` to December of `end`."""

    key: str
    id: str
    name: str
    start: int
    end: int
    levers: Mapping[str, Any] = field(default_factory=dict)
    cost_per_community_year: float = 0.0
    cost_per_cadre_year: float = 0.0

    def active(self, year: int) -> bool:
        return self.start <= year <= self.end

    def with_window(self, start: int | None, end: int | None, where: str = "") -> Program:
        """The same program over another window (checked)."""
        return _checked_window(replace(self, start=start or self.start, end=end or self.end), where)


def _checked_window(program: Program, where: str) -> Program:
    at = f"{where}: " if where else ""
    for bound in ("start", "end"):
        year = getattr(program, bound)
        if not isinstance(year, int) or isinstance(year, bool) or not YEAR_LIMITS[0] <= year <= YEAR_LIMITS[1]:
            raise InputError(f"{at}program '{program.key}' {bound} = {year!r} is not a year in {YEAR_LIMITS[0]}-{YEAR_LIMITS[1]}")
    if program.end < program.start:
        raise InputError(f"{at}program '{program.key}' window ends ({program.end}) before it starts ({program.start})")
    return program


def load_programs(path: Path | str = PROGRAMS_FILE) -> dict[str, Program]:
    """Read and check a programs file; returns programs by key."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping of program keys to definitions")
    programs = {}
    for key, entry in raw.items():
        where = f"{path} [{key}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected a mapping")
        missing = {"id", "name", "start", "end", "levers", "cost"} - set(entry)
        if missing:
            raise InputError(f"{where}: missing field(s) {', '.join(sorted(missing))}")
        levers = {}
        for lever, value in (entry["levers"] or {}).items():
            param = spec(lever, where)
            if not param.lever:
                raise InputError(f"{where}: '{lever}' is a parameter but not a policy lever; programs can only move levers")
            levers[lever] = param.check(value, where)
        cost = entry["cost"] or {}
        program = Program(
            key=key,
            id=str(entry["id"]),
            name=str(entry["name"]),
            start=entry["start"],
            end=entry["end"],
            levers=levers,
            cost_per_community_year=_cost(cost, "per_community_per_year", where),
            cost_per_cadre_year=_cost(cost, "per_cadre_per_year", where),
        )
        programs[key] = _checked_window(program, where)
    return programs


def _cost(cost: Mapping[str, Any], field_name: str, where: str) -> float:
    value = cost.get(field_name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{where}: cost.{field_name} = {value!r} must be a non-negative number of yuan")
    return float(value)


@functools.cache
def standard_programs() -> dict[str, Program]:
    """The programs in `data/programs.yaml`."""
    return load_programs(PROGRAMS_FILE)


def program(key: str, where: str = "") -> Program:
    """A standard program by key, or an InputError suggesting the closest key."""
    programs = standard_programs()
    if key not in programs:
        at = f"{where}: " if where else ""
        raise InputError(f"{at}unknown program '{key}'{closest(key, set(programs))}; known: {', '.join(programs)}")
    return programs[key]
