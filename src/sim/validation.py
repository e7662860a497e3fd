"""Program-level validation: each program's steady-state effect against the article's figures for what it builds.

The calibration matches each figure in its own contrast (`sim.calibration`). A program moves
several levers at once, so its effect on an outcome can exceed what the article reports for
the mechanism behind it - the check a funder needs before trusting a comparison. For each
program (alone, in its own window, under the `sustain` regime) and for all three together,
against the status quo on the same seeds, over the steady-state years in
data/calibration.yaml (`validation`):

- a `within` figure describes a mechanism the program contains: the effect must lie within
  `band` x the article's gain either side of that gain;
- a `part_of` figure describes systematic building as a whole (F44, F45): one program builds
  part of it, so its effect may not pass the whole's upper end (1 + band) x the gain.

Gains are ratios less 1 (+37% is 0.37) or differences (F41, adoption +0.48), signed as the
article states them; `share` is the model's effect over the article's gain (1 = the figure).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.checks import finite_number, mapping, one_of, unknown_fields, whole_number
from sim.errors import InputError
from sim.policy import month_index
from sim.programs import standard_programs
from sim.scenario import Scenario, load_scenario

KINDS = ("within", "part_of")
FIGURE_FIELDS = {"column", "moment", "gain"}
PROGRAM_FIELDS = set(KINDS)
ALL_THREE = "all_programs"


@dataclass(frozen=True)
class Settings:
    years: tuple[int, int]
    persistence: str
    seeds: int
    band: float
    figures: Mapping[str, Mapping[str, Any]]  # figure -> column, moment (ratio | difference), gain
    programs: Mapping[str, Mapping[str, tuple[str, ...]]]  # program key or all_programs -> kind -> figures

    @property
    def months(self) -> tuple[int, int]:
        return month_index(self.years[0], 1), month_index(self.years[1], 12)


def settings(raw: Mapping[str, Any], where: str) -> Settings:
    """The `validation` block of a calibration file, checked (one line naming the field on bad input)."""
    raw = mapping(raw, where, "validation", "a mapping with years, persistence, seeds, band, figures and programs", empty=False)
    unknown_fields(raw, {"years", "persistence", "seeds", "band", "figures", "programs"}, where, "validation.")
    years = raw.get("years")
    if not isinstance(years, list) or len(years) != 2 or years[0] > years[1]:
        raise InputError(f"{where}: validation.years = {years!r} must be [first, last] calendar years")
    first, last = (whole_number(y, where, "validation.years", 2024, 2072) for y in years)
    figures = {}
    declared = mapping(raw.get("figures"), where, "validation.figures", "figure: {column, moment, gain}", empty=False)
    for figure, entry in declared.items():
        entry = mapping(entry, where, f"validation.figures.{figure}", "a mapping with column, moment and gain", empty=False)
        unknown_fields(entry, FIGURE_FIELDS, where, f"validation.figures.{figure}.")
        figures[str(figure)] = {
            "column": str(entry["column"]),
            "moment": one_of(entry.get("moment"), ("ratio", "difference"), where, f"validation.figures.{figure}.moment"),
            "gain": finite_number(entry.get("gain"), where, f"validation.figures.{figure}.gain"),
        }
    programs: dict[str, dict[str, tuple[str, ...]]] = {}
    known = [*standard_programs(), ALL_THREE]
    listed = mapping(raw.get("programs"), where, "validation.programs", "program: {within, part_of}", empty=False)
    for key, entry in listed.items():
        one_of(key, known, where, "validation.programs", "the programs")
        entry = mapping(entry, where, f"validation.programs.{key}", "a mapping of within / part_of: [figures]", empty=False)
        unknown_fields(entry, PROGRAM_FIELDS, where, f"validation.programs.{key}.")
        programs[str(key)] = {
            kind: tuple(one_of(f, list(figures), where, f"validation.programs.{key}.{kind}", "the figures")
                        for f in entry.get(kind) or [])
            for kind in KINDS
        }  # fmt: skip
    return Settings(
        years=(first, last),
        persistence=str(raw.get("persistence", "sustain")),
        seeds=whole_number(raw.get("seeds", 10), where, "validation.seeds", 1, 1000),
        band=finite_number(raw.get("band", 0.5), where, "validation.band", 0, 10),
        figures=figures,
        programs=programs,
    )


def scenarios(v: Settings, n_communities: int, values: Mapping[str, Any] | None = None) -> dict[str, Scenario]:
    """The status quo, each program alone and all three, run to the end of the steady-state years."""
    overrides = {**(values or {}), "n_communities": n_communities, "months": v.months[1], "persistence": v.persistence}
    names = ["baseline", *[k for k in v.programs if k != ALL_THREE]]
    if ALL_THREE in v.programs:
        names.append(ALL_THREE)
    return {name: load_scenario(name, overrides) for name in names}


def effects(v: Settings, runs: Mapping[str, list[pd.DataFrame]]) -> pd.DataFrame:
    """Each program's steady-state effect on each of its figures against the status quo, with the band it must meet.

    `runs` maps the scenario names of `scenarios` to their tables, one per seed, paired by seed.
    """
    first, last = v.months
    rows = []
    for program, kinds in v.programs.items():
        for kind, figures in kinds.items():
            for figure in figures:
                spec = v.figures[figure]
                x = _window(runs[program], spec["column"], first, last)
                y = _window(runs["baseline"], spec["column"], first, last)
                if spec["moment"] == "ratio":  # an index change such as +37%: the geometric mean ratio, less 1
                    effect = float(np.exp(np.log(x).mean() - np.log(y).mean()) - 1)
                else:
                    effect = float(x.mean() - y.mean())
                gain = spec["gain"]
                share = effect / gain
                low, high = (1 - v.band, 1 + v.band) if kind == "within" else (-np.inf, 1 + v.band)
                rows.append({"program": program, "figure": figure, "kind": kind, "column": spec["column"], "gain": gain,
                             "effect": effect, "share": share, "share_low": low, "share_high": high,
                             "inside": bool(low <= share <= high)})  # fmt: skip
    return pd.DataFrame(rows)


def _window(tables: list[pd.DataFrame], column: str, first: int, last: int) -> np.ndarray:
    return np.concatenate([t.loc[(t["month"] >= first) & (t["month"] <= last), column].to_numpy(dtype=float) for t in tables])


def run(v: Settings, n_communities: int, seeds: list[int], values: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Simulate the programs and the status quo on `seeds` (as blocks of one model per seed) and check every band."""
    from sim.replicates import simulate_blocks

    chosen = scenarios(v, n_communities, values)
    runs: dict[str, list[pd.DataFrame]] = {name: [] for name in chosen}
    for seed in seeds:
        for name, table in zip(chosen, simulate_blocks([(sc, seed) for sc in chosen.values()]), strict=True):
            runs[name].append(table)
    return effects(v, runs)


__all__ = ["Settings", "effects", "run", "scenarios", "settings"]
