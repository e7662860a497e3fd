"""What programs cost (data/programs.yaml): every lever, in its window and, under sustain, after it.

A cost line is yuan per year per unit of a basis: a community, a reserve cadre, or a
reserve cadre in a central or western community. The model records the month's central
cost as `program_cost`; the decision analysis (`sim.decision`) recomputes costs from the
same lines and the monthly quantities (`n_communities`, `cadres`, `cadres_central_west`)
so that it can draw each line's unit cost between its low and high values.

An `increment` line costs the lever's rise over the scenario's status quo (times a
parameter such as `community_budget`, whose plausible range gives the low and high
values): P2's raised training budget and P3's fund above the status-quo share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.parameters import Parameters, catalogue
from sim.policy import ProgramPhase, year_of
from sim.programs import CostLine, Program

QUANTITY_COLUMNS = {  # basis -> monthly table column holding how many units there are
    "community_year": "communities",
    "cadre_year": "cadres",
    "central_west_cadre_year": "cadres_central_west",
}


@dataclass(frozen=True)
class PricedLine:
    """A cost line with its yuan amounts resolved for one scenario's parameters."""

    program: str  # program id, e.g. 'P2'
    lever: str
    phase: str  # 'window' (each year of the window) or 'maintenance' (each year after it, under sustain)
    per: str
    low: float
    central: float
    high: float
    reason: str

    @property
    def key(self) -> str:
        """Identifies the line across scenarios (the same line has the same uncertain price everywhere)."""
        return f"{self.program}:{self.lever}:{self.phase}:{self.per}"


def priced_lines(program: Program, p: Parameters) -> list[PricedLine]:
    """Every cost line of `program`, with increments priced against the status quo in `p`."""
    lines = []
    for lever, setting in program.settings.items():
        for phase, costs in (("window", setting.cost), ("maintenance", setting.maintenance)):
            lines += [_priced(program.id, lever, phase, line, setting.value, p) for line in costs]
    return lines


def _priced(program: str, lever: str, phase: str, line: CostLine, value: float, p: Parameters) -> PricedLine:
    if line.amount == "fixed":
        return PricedLine(program, lever, phase, line.per, line.low, line.central, line.high, line.reason)
    increment = float(value) - float(p[lever])
    if line.times is None:
        low = central = high = increment
    else:
        span = catalogue()[line.times].range
        low, central, high = increment * span[0], increment * float(p[line.times]), increment * span[1]
    return PricedLine(program, lever, phase, line.per, low, central, high, line.reason)


def monthly_cost(phases: Iterable[ProgramPhase], lines: Mapping[str, list[PricedLine]], quantities: Mapping[str, float]) -> float:
    """Yuan spent this month at central prices: window costs of active programs, maintenance of sustained ones.

    `lines` holds each program's priced lines by program key; `quantities` the units of each basis.
    """
    total = 0.0
    for ph in phases:
        for line in lines[ph.program.key]:
            if line.phase == ph.phase:
                total += line.central * quantities[line.per] / 12
    return total


def line_table(programs: Iterable[Program], p: Parameters | None) -> pd.DataFrame:
    """One row per cost line of the given programs, for reports and `sim programs`."""
    rows = [vars(line) | {"key": line.key} for prog in programs for line in priced_lines(prog, p)]  # type: ignore[arg-type]
    return pd.DataFrame(rows, columns=["key", "program", "lever", "phase", "per", "low", "central", "high", "reason"])


def phase_months(program: Program, months: np.ndarray, persistence: str) -> dict[str, np.ndarray]:
    """For each phase, which of `months` (model months) it is paid in."""
    years = np.array([year_of(int(m)) for m in months])
    window = (years >= program.start) & (years <= program.end)
    after = (years > program.end) & (persistence == "sustain")
    return {"window": window, "maintenance": after}


def line_quantities(run: pd.DataFrame, programs: Iterable[Program], p: Parameters, weights: pd.Series) -> pd.Series:
    """Units paid for by each cost line over one run: sum over months of quantity / 12 x weight.

    `run` is one run's monthly table (with `month`, `cadres`, `cadres_central_west`);
    `weights` maps month to a weight (a discount factor, 0 outside the costed period).
    Returns a Series indexed by line key, in unit-years; multiply by yuan per unit-year.
    """
    months = run["month"].to_numpy()
    w = weights.reindex(months, fill_value=0.0).to_numpy()
    amounts = {basis: _quantity(run, basis) * w / 12 for basis in QUANTITY_COLUMNS}
    out = {}
    for prog in programs:
        paid = phase_months(prog, months, p.persistence)
        for line in priced_lines(prog, p):
            out[line.key] = float(amounts[line.per][paid[line.phase]].sum())
    return pd.Series(out, dtype=float)


def _quantity(run: pd.DataFrame, basis: str) -> np.ndarray:
    column = QUANTITY_COLUMNS[basis]
    if column in run.columns:
        return run[column].to_numpy(dtype=float)
    raise KeyError(f"the results lack the column '{column}' needed to cost per {basis}; keep it in the experiment's outputs")
