"""Summaries on synthetic results with a known paired difference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.batch import paired_differences, summarize
from sim.batch.summary import format_headline, headline

REPLICATES = 40
EFFECT = 0.5


def synthetic(design_points: int = 1) -> pd.DataFrame:
    """Two scenarios x design points x replicates x 3 months. y has a large replicate effect
    (common random numbers) that pairing removes; 'treated' adds EFFECT plus small noise."""
    rng = np.random.default_rng(1)
    luck = rng.normal(0, 5, REPLICATES)
    noise = rng.normal(0, 0.2, (design_points, REPLICATES, 3))
    noise -= noise.mean(axis=1, keepdims=True)  # so the true mean paired difference is exactly EFFECT
    rows = []
    for scenario in ("baseline", "treated"):
        for point in range(design_points):
            for r in range(REPLICATES):
                for month in range(3):
                    y = 10 + point + luck[r] + month + (EFFECT + noise[point, r, month] if scenario == "treated" else 0.0)
                    ids = {"run_id": f"{scenario}-{point:04d}-r{r:03d}", "scenario": scenario, "design_point": point}
                    rows.append(
                        {**ids, "replicate": r, "seed": 1000 + r, "param_x": float(point), "month": month, "y": y, "count": r}
                    )
    return pd.DataFrame(rows)


def test_paired_difference_recovers_known_effect() -> None:
    table = synthetic()
    diffs = paired_differences(table)
    assert set(diffs["scenario"]) == {"treated"} and set(diffs["outcome"]) == {"y", "count"}
    treated = table[table.scenario == "treated"].sort_values(["replicate", "month"])
    base = table[table.scenario == "baseline"].sort_values(["replicate", "month"])
    for month in range(3):
        row = diffs[(diffs.outcome == "y") & (diffs.month == month)].iloc[0]
        d = treated[treated.month == month]["y"].to_numpy() - base[base.month == month]["y"].to_numpy()
        low, high = stats.ttest_1samp(d, 0).confidence_interval(0.95)
        assert row["n"] == REPLICATES
        assert row["difference"] == pytest.approx(d.mean(), abs=1e-12) == pytest.approx(EFFECT, abs=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-12)
        assert row["ci_low"] < EFFECT < row["ci_high"] and row["ci_high"] - row["ci_low"] < 0.2  # pairing removed the luck
    assert diffs[diffs.outcome == "count"]["difference"].eq(0).all()


def test_design_points_compared_within_scenario() -> None:
    table = synthetic(design_points=3)
    one = table[table.scenario == "treated"]
    diffs = paired_differences(one)  # one scenario: design points against point 0
    y = diffs[(diffs.outcome == "y") & (diffs.month == 0)].set_index("design_point")
    assert list(y.index) == [1, 2] and y.loc[2, "param_x"] == 2.0
    assert y.loc[1, "difference"] == pytest.approx(1.0, abs=0.1) and y.loc[2, "difference"] == pytest.approx(2.0, abs=0.1)
    by_scenario = paired_differences(table, baseline="baseline", by="scenario")
    assert sorted(set(by_scenario["design_point"])) == [0, 1, 2]


def test_summarize_statistics() -> None:
    table = synthetic()
    summary = summarize(table, outcomes=["y"])
    row = summary[(summary.scenario == "baseline") & (summary.month == 1)].iloc[0]
    values = table[(table.scenario == "baseline") & (table.month == 1)]["y"]
    assert row["n"] == REPLICATES and row["mean"] == pytest.approx(values.mean())
    assert row["median"] == pytest.approx(values.median())
    assert (row["p10"], row["p90"]) == pytest.approx(tuple(np.quantile(values, [0.1, 0.9])))
    assert len(summary) == 2 * 3


def test_headline_needs_headline_outcomes() -> None:
    table = synthetic().rename(columns={"y": "idle_rate"})
    diffs, last = headline(table)
    assert last == 2 and set(diffs["outcome"]) == {"idle_rate"}
    text = format_headline(diffs, last)
    assert "Idle rate (% of cadres) \u2193" in text and "treated point 0 (x=0): 40 pairs" in text
