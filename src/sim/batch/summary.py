"""Tidy summaries of a results store: distributions per condition, and paired differences.

- `summarize`: per scenario, design point and month, the mean, median and 10th/90th
  percentiles of each numeric output over replicates (one row per outcome: long format).
- `paired_differences`: each scenario minus the baseline scenario, paired on replicate (and
  therefore seed: replicates share seeds across scenarios), with a 95% t-interval. In an
  experiment with a single scenario, design points are compared with a baseline design point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.batch.runs import ID_COLUMNS, PARAM_PREFIX
from sim.batch.store import load_results, read_manifest
from sim.columns import column, decision_outcomes
from sim.errors import InputError, closest

QUANTILES = {"p10": 0.1, "p90": 0.9}


def _table(results: pd.DataFrame | Path | str) -> pd.DataFrame:
    return results if isinstance(results, pd.DataFrame) else load_results(results)


def outcome_columns(table: pd.DataFrame) -> list[str]:
    """The numeric output columns (not ids, design values or the month)."""
    skip = {*ID_COLUMNS, "month"}
    return [
        c
        for c in table.columns
        if c not in skip and not c.startswith(PARAM_PREFIX) and pd.api.types.is_numeric_dtype(table[c]) and table[c].dtype != bool
    ]


def condition_columns(table: pd.DataFrame) -> list[str]:
    """What identifies a condition: scenario, design point and the design's parameter values."""
    return ["scenario", "design_point", *(c for c in table.columns if c.startswith(PARAM_PREFIX))]


def _long(table: pd.DataFrame, outcomes: list[str] | None) -> tuple[pd.DataFrame, list[str]]:
    chosen = outcomes or outcome_columns(table)
    missing = [o for o in chosen if o not in table.columns]
    if missing:
        raise InputError(f"unknown outcome '{missing[0]}'{closest(missing[0], set(outcome_columns(table)))}")
    keys = [*condition_columns(table), "replicate", "seed", "month"]
    long = table.melt(id_vars=keys, value_vars=chosen, var_name="outcome")
    long["outcome"] = pd.Categorical(long["outcome"], categories=chosen)  # keeps the given order in the output
    return long, chosen


def summarize(results: pd.DataFrame | Path | str, outcomes: list[str] | None = None) -> pd.DataFrame:
    """n, mean, median, p10 and p90 over replicates, per condition, month and outcome."""
    table = _table(results)
    long, _ = _long(table, outcomes)
    keys = [*condition_columns(table), "month", "outcome"]
    grouped = long.groupby(keys, sort=True, dropna=False, observed=True)["value"]
    out = grouped.agg(n="count", mean="mean", median="median")
    quantiles = grouped.quantile(list(QUANTILES.values())).unstack()
    quantiles.columns = list(QUANTILES)
    out = out.join(quantiles).reset_index()
    out["outcome"] = out["outcome"].astype(str)
    return out


def default_baseline(results: pd.DataFrame | Path | str, table: pd.DataFrame) -> str:
    """The manifest's baseline scenario for a store; otherwise 'baseline' if present, else the first scenario."""
    if not isinstance(results, pd.DataFrame):
        return read_manifest(results)["resolved"]["baseline"]
    names = list(dict.fromkeys(table["scenario"]))
    return "baseline" if "baseline" in names else names[0]


def paired_differences(
    results: pd.DataFrame | Path | str,
    baseline: str | int | None = None,
    by: str = "auto",
    outcomes: list[str] | None = None,
    month: int | None = None,
) -> pd.DataFrame:
    """Paired differences from the baseline, with 95% t-intervals, per condition, month and outcome.

    `by="scenario"` pairs each scenario with the baseline scenario (same design point and
    replicate); `by="design_point"` pairs each design point with the baseline point (same
    scenario and replicate); "auto" picks design points when there is only one scenario.
    Columns: conditions, month, outcome, n (pairs), mean, baseline_mean, difference, sd,
    ci_low, ci_high.
    """
    table = _table(results)
    if month is not None:
        table = table[table["month"] == month]
    if by == "auto":
        by = "design_point" if table["scenario"].nunique() == 1 and table["design_point"].nunique() > 1 else "scenario"
    if by not in ("scenario", "design_point"):
        raise InputError(f"by = {by!r} must be 'scenario', 'design_point' or 'auto'")
    if by == "scenario":
        baseline = default_baseline(results, table) if baseline is None else baseline
        names = set(table["scenario"])
        if baseline not in names:
            raise InputError(
                f"baseline '{baseline}' is not a scenario here{closest(str(baseline), names)}; "
                f"scenarios: {', '.join(sorted(names))}"
            )
        pair_on = ["design_point", "replicate", "seed", "month"]
    else:
        baseline = 0 if baseline is None else int(baseline)
        if baseline not in set(table["design_point"]):
            raise InputError(f"baseline design point {baseline} is not in the results")
        pair_on = ["scenario", "replicate", "seed", "month"]
    long, _ = _long(table, outcomes)
    is_base = long[by] == baseline
    params = [c for c in condition_columns(table) if c.startswith(PARAM_PREFIX)]
    # the baseline side keeps only what pairs it: design values follow from the design point
    base = long[is_base].drop(columns=[by, *params]).rename(columns={"value": "baseline_value"})
    pairs = long[~is_base].merge(base, on=[*pair_on, "outcome"], how="inner")
    pairs["difference"] = pairs["value"] - pairs["baseline_value"]
    keys = [*condition_columns(table), "month", "outcome"]
    out = (
        pairs.groupby(keys, sort=True, dropna=False, observed=True)
        .agg(
            n=("difference", "count"),
            mean=("value", "mean"),
            baseline_mean=("baseline_value", "mean"),
            difference=("difference", "mean"),
            sd=("difference", "std"),
        )
        .reset_index()
    )
    out["outcome"] = out["outcome"].astype(str)
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(n > 1, stats.t.ppf(0.975, np.maximum(n - 1, 1)) * out["sd"] / np.sqrt(n), np.nan)
    out["ci_low"] = out["difference"] - half
    out["ci_high"] = out["difference"] + half
    out.insert(0, "baseline", baseline)
    return out


def headline(results: pd.DataFrame | Path | str, baseline: str | int | None = None) -> tuple[pd.DataFrame, int]:
    """Paired differences at the last month for the decision outcomes (data/outputs.yaml) that were kept."""
    table = _table(results)
    last = int(table["month"].max())
    outcomes = [o for o in decision_outcomes() if o in table.columns]
    if not outcomes:
        raise InputError("none of the headline outcomes were kept in this store; use paired_differences(outcomes=[...])")
    if baseline is None and not isinstance(results, pd.DataFrame) and table["scenario"].nunique() > 1:
        baseline = default_baseline(results, table)
    return paired_differences(table, baseline, outcomes=outcomes, month=last), last


def format_headline(diffs: pd.DataFrame, last: int) -> str:
    """Plain text: one block per compared condition, one line per headline outcome."""
    if diffs.empty:
        return "no paired differences: the experiment has a single condition"
    params = [c for c in diffs.columns if c.startswith(PARAM_PREFIX)]
    base = diffs["baseline"].iloc[0]
    against = f"design point {int(base)}" if isinstance(base, int | np.integer) else f"baseline '{base}'"
    lines = [
        f"Paired differences from {against} at month {last} only (mean over replicates, 95% t-interval: run-to-run "
        "randomness only); shares in percentage points; \u2191 higher / \u2193 lower is better"
    ]
    for _, block in diffs.groupby(condition_columns(diffs), sort=False, dropna=False):
        first = block.iloc[0]
        values = ", ".join(f"{c.removeprefix(PARAM_PREFIX)}={_fmt(first[c])}" for c in params)
        label = f"{first['scenario']} point {first['design_point']} ({values})" if params else str(first["scenario"])
        lines += ["", f"{label}: {int(block['n'].max())} pairs"]
        lines.append(f"  {'outcome (unit)':<58}{'baseline':>11}{'this':>11}{'difference':>12}   95% CI")
        for _, row in block.iterrows():
            spec = column(row["outcome"])
            name = f"{spec.label} ({spec.unit}) {'\u2191' if spec.direction > 0 else '\u2193'}"
            s = spec.scale
            lines.append(
                f"  {name:<58}{row['baseline_mean'] * s:>11.2f}{row['mean'] * s:>11.2f}{row['difference'] * s:>+12.2f}   "
                f"[{row['ci_low'] * s:+.2f}, {row['ci_high'] * s:+.2f}]"
            )
    return "\n".join(lines)


def _fmt(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
