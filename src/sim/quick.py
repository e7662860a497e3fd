"""A quick look, in the style of Starsim's `MultiSim`: a few named scenarios on shared seeds, one object.

    import sim
    runs = sim.Runs(["baseline", "talent_foundation", "innovation_leap"], n_runs=10).run()
    runs.summary()        # paired differences from the first scenario, with the decision metric's scores
    runs.plot()           # each outcome over time: mean and 95% interval per scenario, program windows shaded

Every scenario runs from the same replicate seeds (common random numbers: `sim batch`'s seeds
for the master seed), as blocks of one model (`sim.replicates`), so each run is the one
`simulate(scenario, seed)` gives and differences are paired replicate by replicate. The
summary uses the report's decision metric (`sim.decision`, docs/decision.md): each outcome's
discounted integrated effect over January 2024 - December 2030 (or to the run's end, if it
ends earlier), the family scores and the overall score, each a mean with a 95% t-interval
over the paired replicates (run-to-run randomness only), plus each outcome's paired
difference at the last month. For whole experiments, costs and reports use `sim batch` and
`sim report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.columns import FAMILIES, column, decision_outcomes
from sim.errors import InputError
from sim.scenario import Scenario, load_scenario

SUMMARY_COLUMNS = ("scenario", "measure", "kind", "mean", "ci_low", "ci_high", "unit", "better", "n")


class Runs:
    """Named scenarios run on shared seeds: `.run()`, then `.summary()` and `.plot()`; `.table` holds every month."""

    def __init__(
        self,
        scenarios: Sequence[Scenario | str | Path],
        n_runs: int = 10,
        seed: int = 20230601,
        baseline: str | None = None,
        **parameters: Any,
    ) -> None:
        """`scenarios`: names in data/scenarios/, files or Scenario objects (the first is the baseline unless
        `baseline` names another); `parameters`: changes to every scenario (n_communities=50, persistence="decay")."""
        if isinstance(scenarios, str | Path | Scenario):
            scenarios = [scenarios]
        if len(scenarios) < 1:
            raise InputError("Runs needs at least one scenario")
        if isinstance(n_runs, bool) or not isinstance(n_runs, int | np.integer) or n_runs < 1:
            raise InputError(f"n_runs = {n_runs!r} must be a whole number of at least 1")
        self.scenarios = {}
        for entry in scenarios:
            loaded = load_scenario(entry, parameters)
            if loaded.name in self.scenarios:
                raise InputError(f"scenario '{loaded.name}' is listed twice")
            self.scenarios[loaded.name] = loaded
        self.baseline = baseline or next(iter(self.scenarios))
        if self.baseline not in self.scenarios:
            raise InputError(f"baseline = '{self.baseline}' is not one of the scenarios: {', '.join(self.scenarios)}")
        from sim.batch.runs import replicate_seeds

        self.seed = int(seed)
        self.seeds = replicate_seeds(self.seed, int(n_runs))
        self.table: pd.DataFrame | None = None

    def __repr__(self) -> str:
        state = "run" if self.table is not None else "not run yet"
        return f"Runs({list(self.scenarios)}, n_runs={len(self.seeds)}, baseline={self.baseline!r}; {state})"

    def run(self) -> Runs:
        """Run every scenario from the shared seeds; returns itself (so `Runs(...).run().plot()` works)."""
        from sim.replicates import simulate_replicates
        from sim.simulate import check_finite

        frames = []
        for name, scenario in self.scenarios.items():
            for replicate, (seed, table) in enumerate(zip(self.seeds, simulate_replicates(scenario, self.seeds), strict=True)):
                check_finite(table, scenario, seed)
                frames.append(table.assign(scenario=name, design_point=0, replicate=replicate, seed=seed))
        self.table = pd.concat(frames, ignore_index=True)
        return self

    def _table(self) -> pd.DataFrame:
        if self.table is None:
            raise InputError("call .run() first")
        return self.table

    def summary(self, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
        """Each scenario against the baseline, paired by replicate: scores and effects, mean and 95% interval.

        One row per scenario and measure; `kind` is 'score' (overall and family scores: 1 = the
        article's reported improvement in every outcome for the whole period), 'integrated
        effect' (an outcome's discounted average difference over the period, in its display
        units) or 'difference at end' (the paired difference in the last month).
        """
        from sim import decision

        table = self._table()
        outcomes = list(outcomes or decision_outcomes())
        if len(self.scenarios) < 2:
            raise InputError("a summary compares scenarios: give at least two")
        last = int(table["month"].max())
        s, windows = decision.scorable(decision.settings(), self.scenarios, last)  # the calendar period if runs are short
        rows = []
        if last >= s.start_month:
            scored = [o for o in outcomes if column(o).family]
            effects = decision.integrated_effects(table, self.baseline, scored, s, windows) if scored else None
            if effects is not None:
                scores = decision.scores(effects, s)
                for name in self._others():
                    chosen = scores[scores["scenario"] == name]
                    for measure in ("overall", *(f for f in FAMILIES if f in scores.columns)):
                        rows.append(_row(name, measure, "score", chosen[measure], "score points", "higher"))
                    for outcome in scored:
                        c = column(outcome)
                        x = effects[(effects["scenario"] == name) & (effects["outcome"] == outcome)]["discounted"] * c.scale
                        rows.append(_row(name, outcome, "integrated effect", x, c.difference_unit, c.better))
        paths = decision.effect_paths(table[table["month"] == last], self.baseline, outcomes)
        for name in self._others():
            chosen = paths[paths["scenario"] == name]
            for outcome in outcomes:
                c = column(outcome)
                rows.append(_row(name, outcome, "difference at end", chosen[outcome] * c.scale, c.difference_unit, c.better))
        return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

    def _others(self) -> list[str]:
        return [n for n in self.scenarios if n != self.baseline]

    def plot(self, outcomes: Sequence[str] | None = None, ncols: int = 4, title: str | None = None):
        """Each outcome over time: mean and 95% interval over the runs per scenario, program windows shaded.

        Returns the matplotlib Figure (in the report language, `sim.lang`).
        """
        from sim import figures

        table = self._table()
        outcomes = list(outcomes or decision_outcomes())
        figures.use_style()
        rows = []
        for (name, month), group in table.groupby(["scenario", "month"], sort=False):
            for outcome in outcomes:
                mean, low, high = _interval(group[outcome])
                rows.append({"condition": name, "month": month, "outcome": outcome, "mean": mean, "low": low, "high": high})
        frame = pd.DataFrame(rows)
        windows = {p.key: p for scenario in self.scenarios.values() for p in scenario.programs}
        fig = figures.over_time(
            frame,
            outcomes,
            list(self.scenarios),
            centre="mean",
            low="low",
            high="high",
            windows=list(windows.values()),
            ncols=ncols,
            colours=_colours(self.scenarios),
        )
        figures.finish(
            fig,
            title or f"{', '.join(self.scenarios)}: mean and 95% interval over {len(self.seeds)} runs on shared seeds",
            legend=True,
        )
        return fig


def _interval(values: pd.Series) -> tuple[float, float, float]:
    from sim.decision import mean_interval

    mean, low, high = mean_interval(values)
    return (mean, mean, mean) if not np.isfinite(low) else (mean, low, high)


def _row(scenario: str, measure: str, kind: str, values: pd.Series, unit: str, better: str | None) -> dict[str, Any]:
    from sim.decision import mean_interval

    mean, low, high = mean_interval(values)
    return {"scenario": scenario, "measure": measure, "kind": kind, "mean": mean, "ci_low": low, "ci_high": high,
            "unit": unit, "better": better or "", "n": len(values)}  # fmt: skip


def _colours(scenarios: Mapping[str, Scenario]) -> dict[str, str]:
    """The condition's fixed colour (baseline black, P1 orange, ...) when two scenarios do not share it; else a cycle."""
    from sim import figures

    codes = {name: figures.condition_code(p.id for p in s.programs) for name, s in scenarios.items()}
    if len(set(codes.values())) == len(codes):
        return {name: figures.colour(code) for name, code in codes.items()}
    palette = list(figures.OKABE_ITO.values())
    return {name: palette[i % len(palette)] for i, name in enumerate(scenarios)}
