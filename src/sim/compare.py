"""The comparison the project exists for: baseline against each program and all three.

Scenarios run on the same seeds (common random numbers), so differences are paired:
for each seed, program minus baseline. The interval is a t-interval over seeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

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
    from scipy import stats  # imported here: it adds a third of a second to every CLI start

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


LABELS = {
    "baseline": "baseline",
    "talent_foundation": "P1 talent",
    "digital_foundation": "P2 digital",
    "innovation_leap": "P3 innovation",
    "all_programs": "all three",
}


def format_comparison(table: pd.DataFrame, seeds: int) -> str:
    """Two plain-text tables: scenario means at the end of the run, and paired differences with 95% CIs."""
    diffs = paired_differences(table).set_index(["scenario", "outcome"])
    lines = [f"Mean at the end of the run over {seeds} seeds", ""]
    lines.append(f"{'outcome':<40}" + "".join(f"{LABELS[name]:>14}" for name in COMPARISON))
    for outcome, label in HEADLINE.items():
        lines.append(f"{label:<40}" + "".join(f"{diffs.loc[(name, outcome), 'mean']:>14.3f}" for name in COMPARISON))
    lines += ["", "Paired difference from baseline, 95% confidence interval", ""]
    lines.append(f"{'outcome':<40}" + "".join(f"{LABELS[name]:>25}" for name in COMPARISON[1:]))
    for outcome, label in HEADLINE.items():
        cells = []
        for name in COMPARISON[1:]:
            row = diffs.loc[(name, outcome)]
            cells.append(f"{row['difference']:+.3f} ({row['ci_low']:+.3f}, {row['ci_high']:+.3f})".rjust(25))
        lines.append(f"{label:<40}" + "".join(cells))
    return "\n".join(lines)
