"""Scenarios: which programs run (and when) and which parameters differ from the defaults.

A scenario file (`data/scenarios/*.yaml`)::

    name: talent_foundation
    description: P1 alone
    programs:
      - talent_foundation                 # its own window from data/programs.yaml
      - {name: digital_foundation, start: 2026, end: 2028}   # window overridden
      - {name: innovation_leap, levers: {funding_share: 0.05}}   # a lever the program moves, to another value
    parameters:
      n_communities: 100
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.checks import mapping, plain_data, shown, text, unknown_fields
from sim.errors import InputError, closest
from sim.files import read_yaml
from sim.parameters import Parameters
from sim.programs import Program, defined_program, program, standard_programs
from sim.resources import data_file, resolve

SCENARIO_DIR = data_file("scenarios")
SCENARIO_FIELDS = {"name", "description", "programs", "parameters"}
PROGRAM_ENTRY_FIELDS = {"name", "start", "end", "levers"}


@dataclass(frozen=True)
class Scenario:
    """A complete, checked experiment condition."""

    name: str
    parameters: Parameters = field(default_factory=Parameters)
    programs: tuple[Program, ...] = ()
    description: str = ""
    source: str = ""

    def with_parameters(self, overrides: Mapping[str, Any], where: str = "--set") -> Scenario:
        """A copy with some parameters changed."""
        if not overrides:
            return self
        return Scenario(self.name, self.parameters.replace(overrides, where), self.programs, self.description, self.source)

    def with_programs(self, entries: Any, where: str = "programs") -> Scenario:
        """A copy running `entries` instead of its own programs: names, or {name, start, end, levers} (window, values)."""
        return Scenario(self.name, self.parameters, _programs(list(entries), where), self.description, self.source)

    def describe(self) -> dict[str, Any]:
        """A plain-data description, for provenance records."""
        return {
            "name": self.name,
            "source": self.source,
            "programs": [{"key": p.key, "start": p.start, "end": p.end, "levers": p.levers} for p in self.programs],
            "parameters_changed": self.parameters.changed(),
        }


def is_bare_name(entry: Path | str) -> bool:
    """'baseline' (a name in data/scenarios/) rather than a path such as 'my.yaml' or 'data/scenarios/baseline.yaml'."""
    text = str(entry)
    return bool(text) and "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml"))


def scenario_file(entry: Path | str, where: str = "scenario") -> Path:
    """A scenario file: a user's own path first (sim.resources.resolve), else a name in data/scenarios/ ('talent_foundation')."""
    path = resolve(entry)
    if not is_bare_name(entry) or _is_file(path):
        return path  # read_yaml says what is wrong with it, in one line
    candidate = data_file("scenarios", f"{entry}.yaml")
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
    raise InputError(
        f"{where} = '{entry}': no such file, and no scenario of that name in data/scenarios/{closest(str(entry), set(known))}; "
        f"known: {', '.join(known)}"
    )


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system, ...
        return False


def load_scenario(path: Path | str | Scenario, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read and check a scenario (a file, or a name in data/scenarios/), then apply `overrides` (e.g. from `--set`)."""
    if isinstance(path, Scenario):
        return path.with_parameters(overrides or {})
    path = scenario_file(path)
    where = str(path)
    raw = read_yaml(path)
    if raw is None:
        raise InputError(f"{where}: the file is empty; a scenario needs at least 'name: ...' (alone, it runs the defaults)")
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a mapping with fields {', '.join(sorted(SCENARIO_FIELDS))}")
    unknown_fields(raw, SCENARIO_FIELDS, where)
    params = mapping(raw.get("parameters"), where, "parameters")
    scenario = Scenario(
        name=text(str(raw.get("name", path.stem)), where, "name"),
        parameters=Parameters(params, where),
        programs=_programs(raw.get("programs") or [], where),
        description=str(raw.get("description") or ""),
        source=str(path),
    )
    return scenario.with_parameters(overrides or {})


def _programs(entries: Any, where: str) -> tuple[Program, ...]:
    if not isinstance(entries, list):
        raise InputError(f"{where}: programs = {shown(entries)} must be a list of program names or {{name, start, end}}")
    chosen = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            chosen.append(program(entry, where))
        elif isinstance(entry, dict) and set(entry) == {"key", "define"}:  # a program defined in place
            key = text(entry["key"], where, f"programs[{i}].key")
            if key in standard_programs():
                raise InputError(f"{where}: programs[{i}].key = '{key}' is a standard program's; a defined program needs its own")
            chosen.append(defined_program(key, entry["define"], f"{where}: programs[{i}].define"))
        elif isinstance(entry, dict) and "name" in entry:
            unknown_fields(entry, PROGRAM_ENTRY_FIELDS, where, f"programs[{i}].")
            name = text(entry["name"], where, f"programs[{i}].name")
            chosen_program = program(name, where).with_window(entry.get("start"), entry.get("end"), where)
            if entry.get("levers") is not None:
                levers = mapping(entry["levers"], where, f"programs[{i}].levers", "a mapping of lever: value")
                chosen_program = chosen_program.with_levers(levers, f"{where}: programs[{i}]")
            chosen.append(chosen_program)
        else:
            raise InputError(
                f"{where}: programs[{i}] = {shown(entry)} must be a program name, a mapping with 'name', or {{key, define}}"
            )
    keys = [p.key for p in chosen]
    if len(set(keys)) != len(keys):
        raise InputError(f"{where}: a program is listed twice: {keys}")
    return tuple(chosen)


def parse_assignment(text: str) -> tuple[str, Any]:
    """'name=value' from the command line; the value is read as YAML (numbers, true, lists)."""
    if "=" not in text:
        raise InputError(f"--set {shown(text)}: expected name=value")
    name, value = text.split("=", 1)
    return name.strip(), parse_yaml_value(value, f"--set {name.strip()}")


def parse_yaml_value(text: str, where: str) -> Any:
    """A command-line value read as YAML into plain data; text that is not valid YAML stays text.

    A '#' that YAML would take for a comment (silently cutting the value) is refused.
    """
    import yaml

    try:
        parsed = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return text
    if "#" in text and "#" not in repr(parsed):
        raise InputError(f"{where} = {shown(text)}: YAML reads ' #' as the start of a comment; quote the value")
    return plain_data(parsed, where, "", finite=False)  # a parameter's own check names non-finite values
