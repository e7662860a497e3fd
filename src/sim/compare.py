"""The comparison the project exists for, as plain text: `sim compare` and `sim summarize`.

Both use the report's decision metric (`sim.decision`, docs/decision.md): each condition's
overall and family scores against the baseline, averaged over its evaluation window (equal
exposure by default: seven years from each program's start; where the runs are too short for
that, or the scenarios' programs are not known, the calendar period from January 2024 to the
runs' end) and discounted, with 95% t-intervals over paired replicates (run-to-run randomness
only), P(best), and each decision outcome's integrated effect in its own units with the
direction that counts as better. Scenarios run on the same seeds (common random numbers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from sim import decision
from sim.columns import FAMILIES, FAMILY_LABELS, column, decision_outcomes
from sim.decision import GROUP, Settings, mean_interval
from sim.scenario import load_scenario
from sim.simulate import simulate

COMPARISON = ("baseline", "talent_foundation", "digital_foundation", "innovation_leap", "all_programs")
LABELS = {
    "baseline": "baseline",
    "talent_foundation": "P1 talent",
    "digital_foundation": "P2 digital",
    "innovation_leap": "P3 innovation",
    "all_programs": "all three",
}


def scenarios(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The baseline, each program alone and all three, run as far as the decision metric's windows need."""
    chosen = {name: load_scenario(name, overrides) for name in COMPARISON}
    if "months" not in (overrides or {}):
        months = decision.settings().last_month(chosen)
        chosen = {name: sc.with_parameters({"months": months}) for name, sc in chosen.items()}
    return chosen


def compare_programs(seeds: Iterable[int], overrides: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every month of the baseline, each program alone and all three, per seed, in the batch store's tidy layout."""
    frames = []
    for name, scenario in scenarios(overrides).items():
        for seed in seeds:
            table = simulate(scenario, seed=seed)
            frames.append(table.assign(scenario=name, design_point=0, replicate=seed, seed=seed))
    return pd.concat(frames, ignore_index=True)


def _cell(mean: float, low: float, high: float, digits: int = 2) -> str:
    if pd.isna(low):
        return f"{mean:+.{digits}f}"
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def format_scores(
    table: pd.DataFrame,
    baseline: str,
    settings: Settings | None = None,
    labels: Mapping[str, str] | None = None,
    header: str = "",
    contenders: Iterable[str] | None = None,
    scenarios: Mapping[str, Any] | None = None,
) -> str:
    """Plain text: overall and family scores, P(best) and per-outcome integrated effects, per design point.

    Conditions are shown in `labels` order (then the table's); P(best) is among `contenders`
    (default: every condition but the baseline). `scenarios` (name -> Scenario) give each
    condition's programs, hence its window; without them, or with runs too short for the
    windows, the calendar period to the runs' end (`decision.scorable`).
    """
    s, windows = decision.scorable(settings or decision.settings(), scenarios, int(table["month"].max()))
    labels = dict(labels or {})
    outcomes = [o for o in decision_outcomes() if o in table.columns]
    effects = decision.integrated_effects(table, baseline, outcomes, s, windows)
    scores = decision.scores(effects, s)
    families = [f for f in FAMILIES if f in scores.columns]
    end = (pd.Period("2023-06", freq="M") + s.end_month).strftime("%B %Y")
    period = (f"each over the {s.exposure_years} years from January of its first program year (equal exposure)"
              if s.mode == "equal_exposure" else f"January 2024 - {end}")  # fmt: skip
    lines = [
        f"Scores against '{baseline}', {period}, discounted at {s.discount_rate:.0%} a year: each outcome's",
        "average difference from the baseline in units of the improvement the article reports for it (1 = that improvement",
        "in every outcome, all period; data/outputs.yaml), averaged by family, then across families (docs/decision.md).",
        "Mean [95% t-interval] over paired replicates: run-to-run randomness only, not the model's assumptions.",
    ]
    if header:
        lines.insert(0, header)
    for point, group in scores.groupby(GROUP, sort=True):
        present = set(group["scenario"])
        conditions = [c for c in labels if c in present] + sorted(present - set(labels))
        chosen = [c for c in (contenders or conditions) if c in present]
        name = {c: labels.get(c, c) for c in conditions}
        width = max(16, *(len(v) for v in name.values())) + 2
        best = decision.p_best(group, chosen).iloc[0]
        n = group.groupby("scenario").size().max()
        among = ", ".join(name[c] for c in chosen)
        lines += ["", f"{point_label(table, point)}{n} paired replicates; P(best): share of replicates with the highest overall "
                  f"score among {among}"]  # fmt: skip
        lines.append(
            f"  {'condition':<{width}}{'overall':>24}"
            + "".join(f"{FAMILY_LABELS[f][0]:>24}" for f in families)
            + f"{'P(best)':>9}"
        )
        for c in conditions:
            rows = group[group["scenario"] == c]
            cells = [_cell(*mean_interval(rows[k])) for k in ("overall", *families)]
            share = f"{best[c]:.0%}" if c in best.index else "-"
            lines.append(f"  {name[c]:<{width}}" + "".join(f"{v:>24}" for v in cells) + f"{share:>9}")
        lines += ["", "  Integrated effect: average difference from the baseline over the period, discounted, in the outcome's "
                  "units (\u2191 higher is better, \u2193 lower is better)"]  # fmt: skip
        col = 24
        labelled = {
            o: f"{column(o).label} ({column(o).difference_unit}) {'\u2191' if column(o).direction > 0 else '\u2193'}"
            for o in outcomes
        }
        lw = max(len(v) for v in labelled.values()) + 2
        lines.append(f"  {'outcome (unit)':<{lw}}" + "".join(f"{name[c][: col - 2]:>{col}}" for c in conditions))
        eff = effects[effects[GROUP] == point]
        for outcome in outcomes:
            scale = column(outcome).scale
            cells = [_cell(*mean_interval(eff[(eff["outcome"] == outcome) & (eff["scenario"] == c)]["discounted"] * scale))
                     for c in conditions]  # fmt: skip
            lines.append(f"  {labelled[outcome]:<{lw}}" + "".join(f"{v:>{col}}" for v in cells))
    return "\n".join(lines)


def point_label(table: pd.DataFrame, point: int) -> str:
    """'design point 1 (persistence=decay): ' for stores with a design, '' otherwise."""
    params = [c for c in table.columns if c.startswith("param_")]
    if not params or table[GROUP].nunique() == 1:
        return ""
    row = table[table[GROUP] == point].iloc[0]
    values = ", ".join(f"{c.removeprefix('param_')}={row[c]}" for c in params)
    return f"design point {point} ({values}): "


def format_comparison(table: pd.DataFrame, seeds: int, persistence: str, overrides: Mapping[str, Any] | None = None) -> str:
    """The `sim compare` text: scores of each program alone and all three against the baseline."""
    header = f"persistence after each window: {persistence} (change with --set persistence=revert|sustain|decay)"
    alone = ("talent_foundation", "digital_foundation", "innovation_leap")
    return format_scores(table, "baseline", labels=LABELS, header=header, contenders=alone, scenarios=scenarios(overrides))
