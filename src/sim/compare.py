"""The comparison the project exists for: baseline against each program and all three.

Scenarios run on the same seeds (common random numbers), so differences are paired:
for each seed, program minus baseline. The interval is a t-interval over seeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.scenario import SCENARIO_DIR, load_scenario
from sim.simulate import simulate

COMPARISON = ("baseline", "talent_foundation", "digital_foundation", "innovation_leap", "all_programs")
HEADLINE = {
    "idle_rate": "idle rate (share)",
    "mismatch_rate": "posted untrained (share, F20)",
    "digital_vacancy_rate": "digital-specialist vacancy (share, F21)",
    "turnover_rate": "annual turnover (share)",
    "mean_competence": "mean competence (0-100)",
    "dispute_resolution_efficiency": "dispute resolution (2023 = 100)",
    "service_satisfaction": "service satisfaction (2023 = 100)",
    "governance_cost": "governance cost (2023 = 100)",
    "response_speed": "response speed (2023 = 100)",
}


def compare_programs(seeds: Iterable[int], overrides: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """End-of-run headline outcomes per scenario and seed (tidy: scenario, seed, outcome columns)."""
    rows = []
    for name in COMPARISON:
        scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml", overrides)
        for seed in seeds:
            end = simulate(scenario, seed=seed).iloc[-1]
            rows.append({"scenario": name, "seed": seed, **{k: end[k] for k in HEADLINE}})
    return pd.DataFrame(rows)


def paired_differences(table: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """Mean, and paired difference from baseline with a 95% t-interval, per scenario and outcome."""
    base = table[table.scenario == baseline].set_index("seed")
    out = []
    for name, group in table.groupby("scenario", sort=False):
        group = group.set_index("seed")
        for outcome in HEADLINE:
            diff = (group[outcome] - base[outcome]).dropna()
            n = len(diff)
            half = stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
            out.append(
                {
                    "scenario": name,
                    "outcome": outcome,
                    "mean": group[outcome].mean(),
                    "difference": diff.mean(),
                    "ci_low": diff.mean() - half,
                    "ci_high": diff.mean() + half,
                }
            )
    return pd.DataFrame(out)


def format_comparison(table: pd.DataFrame, seeds: int) -> str:
    """A plain-text table: one row per outcome, one column per scenario (difference from baseline, 95% CI)."""
    diffs = paired_differences(table)
    lines = ["End-of-run outcomes: scenario mean, and [paired difference from baseline, 95% CI]", ""]
    header = f"{'outcome':<42}" + "".join(f"{name:>30}" for name in COMPARISON)
    lines.append(header)
    for outcome, label in HEADLINE.items():
        cells = []
        for name in COMPARISON:
            row = diffs[(diffs.scenario == name) & (diffs.outcome == outcome)].iloc[0]
            if name == "baseline":
                cells.append(f"{row['mean']:>30.3f}")
            else:
                cells.append(
                    f"{row['mean']:>9.3f} [{row['difference']:+.3f}, {row['ci_low']:+.3f}..{row['ci_high']:+.3f}]".rjust(30)
                )
        lines.append(f"{label:<42}" + "".join(cells))
    return "\n".join(lines)
