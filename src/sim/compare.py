"""The comparison the project exists for: baseline against each program and all three.

Scenarios run on the same seeds (common random numbers), so differences are paired:
for each seed, program minus baseline, with a t-interval over seeds. This is the quick
plain-text version (`sim compare`); the full report is `sim report compare_programs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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
    """End-of-run headline outcomes per scenario and seed, in the batch store's tidy layout."""
    rows = []
    for name in COMPARISON:
        scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml", overrides)
        for seed in seeds:
            end = simulate(scenario, seed=seed).iloc[-1]
            rows.append(
                {
                    "scenario": name,
                    "design_point": 0,
                    "replicate": seed,
                    "seed": seed,
                    "month": int(end["month"]),
                    **{k: end[k] for k in HEADLINE},
                }
            )
    return pd.DataFrame(rows)


def paired_differences(table: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """Each scenario minus the baseline on the same seed, with 95% t-intervals (sim.batch's summary)."""
    from sim.batch.summary import paired_differences as batch_paired_differences  # sim.batch imports HEADLINE from here

    return batch_paired_differences(table, baseline=baseline, by="scenario", outcomes=list(HEADLINE))


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
    means = {name: table[table.scenario == name][list(HEADLINE)].mean() for name in COMPARISON}
    lines = [f"Mean at the end of the run over {seeds} seeds", ""]
    lines.append(f"{'outcome':<40}" + "".join(f"{LABELS[name]:>14}" for name in COMPARISON))
    for outcome, label in HEADLINE.items():
        lines.append(f"{label:<40}" + "".join(f"{means[name][outcome]:>14.3f}" for name in COMPARISON))
    lines += ["", "Paired difference from baseline, 95% confidence interval", ""]
    lines.append(f"{'outcome':<40}" + "".join(f"{LABELS[name]:>27}" for name in COMPARISON[1:]))
    for outcome, label in HEADLINE.items():
        cells = []
        for name in COMPARISON[1:]:
            row = diffs.loc[(name, outcome)]
            cells.append(f"{row['difference']:+.3f} ({row['ci_low']:+.3f}, {row['ci_high']:+.3f})".rjust(27))
        lines.append(f"{label:<40}" + "".join(cells))
    return "\n".join(lines)
