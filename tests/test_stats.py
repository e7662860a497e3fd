"""sim.stats: the helpers recover known effects from synthetic data and compute what they claim on
small hand-checked inputs (paired intervals, factorial OLS, response surface and marginal effects,
win probabilities, ranks, cost-effectiveness, year averages)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import stats
from sim.errors import InputError


def runs(values: dict[str, list[float]], outcome: str, month: int = 90) -> pd.DataFrame:
    """A tidy batch table: one row per (scenario, replicate) at one month, like sim.batch's."""
    rows = []
    for scenario, column in values.items():
        for replicate, value in enumerate(column):
            rows.append(
                {
                    "run_id": f"{scenario}-0000-r{replicate:03d}",
                    "scenario": scenario,
                    "design_point": 0,
                    "replicate": replicate,
                    "seed": 1000 + replicate,
                    "month": month,
                    outcome: value,
                }
            )
    return pd.DataFrame(rows)


def crn_pair(rng: np.random.Generator, effect: float, n: int = 30) -> dict[str, list[float]]:
    """Baseline and treated share each replicate's large common shock (CRN); own noise is small."""
    common = rng.normal(0, 5, n)
    return {
        "baseline": list(50 + common + rng.normal(0, 0.5, n)),
        "treated": list(50 + effect + common + rng.normal(0, 0.5, n)),
    }


# --- paired intervals ------------------------------------------------------------------------
def test_paired_effects_recover_a_known_effect_with_a_narrow_paired_interval():
    rng = np.random.default_rng(1)
    table = runs(crn_pair(rng, effect=1.5), "mean_competence")
    row = stats.paired_effects(table, ["mean_competence"]).iloc[0]
    assert row["scenario"] == "treated" and row["n"] == 30
    assert row["ci_low"] < 1.5 < row["ci_high"]
    assert row["ci_high"] - row["ci_low"] < 1.0  # pairing removes the common shock (sd 5)
    assert row["verdict"] == "better"


def test_paired_interval_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(2)
    covered = 0
    trials = 200
    for _ in range(trials):
        row = stats.paired_effects(runs(crn_pair(rng, effect=-0.3, n=10), "idle_rate"), ["idle_rate"]).iloc[0]
        covered += row["ci_low"] < -0.3 < row["ci_high"]
    assert 0.90 <= covered / trials <= 0.99


@pytest.mark.parametrize(
    ("outcome", "effect", "verdict"),
    [
        ("idle_rate", -2.0, "better"),  # lower is better
        ("idle_rate", 2.0, "worse"),
        ("governance_cost", -2.0, "better"),
        ("mean_competence", -2.0, "worse"),  # higher is better
        ("response_speed", 2.0, "better"),
        ("mean_competence", 0.0, "unclear"),
    ],
)
def test_verdict_follows_the_outcome_direction(outcome, effect, verdict):
    table = runs(crn_pair(np.random.default_rng(3), effect=effect), outcome)
    assert stats.paired_effects(table, [outcome]).iloc[0]["verdict"] == verdict


def test_direction_and_month_index():
    assert stats.direction("idle_rate") == stats.direction("turnover_rate") == -1
    assert stats.direction("mean_competence") == stats.direction("service_satisfaction") == 1
    assert stats.month_index(2026) == 42 and stats.month_index(2027) == 54 and stats.month_index(2028) == 66
    assert stats.month_index(2030) == 90 and stats.month_index(2023, 6) == 0


# --- year averages ---------------------------------------------------------------------------
def monthly(turnover: list[float]) -> pd.DataFrame:
    months = range(len(turnover))
    return pd.DataFrame(
        {"run_id": "a", "scenario": "baseline", "design_point": 0, "replicate": 0, "seed": 1, "month": months,
         "turnover_rate": turnover, "idle_rate": [0.1 * m for m in months]}
    )  # fmt: skip


def test_snapshot_averages_turnover_over_the_last_12_months_and_keeps_others_as_they_are():
    values = [0.0] + [float(m) for m in range(1, 25)]  # month m has turnover m
    snap = stats.snapshot(monthly(values), 24, ["turnover_rate", "idle_rate"])
    assert len(snap) == 1
    assert snap["turnover_rate"].iloc[0] == pytest.approx(np.mean(range(13, 25)))
    assert snap["idle_rate"].iloc[0] == pytest.approx(2.4)


def test_trailing_year_leaves_month_0_out():
    values = [0.0] + [12.0] * 5
    out = stats.trailing_year(monthly(values))
    assert np.isnan(out["turnover_rate"].iloc[0])
    assert out["turnover_rate"].iloc[1:].tolist() == [12.0] * 5  # not dragged down by month 0's zero


def test_snapshot_refuses_missing_months():
    table = monthly([0.0] + [1.0] * 24)
    with pytest.raises(InputError, match="12 months"):
        stats.snapshot(table[table["month"] != 20], 24, ["turnover_rate"])
    with pytest.raises(InputError, match="not in the results"):
        stats.snapshot(table, 30, ["idle_rate"])


# --- factorial OLS ---------------------------------------------------------------------------
TRUTH = {"P1": 1.0, "P2": 2.0, "P3": -1.0, "P1+P2": 0.8, "P1+P3": 0.0, "P2+P3": 0.0, "P1+P2+P3": 0.0}


def factorial_data(rng: np.random.Generator, replicates: int = 30) -> pd.DataFrame:
    rows = []
    for replicate in range(replicates):
        block = rng.normal(0, 3)  # the replicate's common luck
        for p1 in (0, 1):
            for p2 in (0, 1):
                for p3 in (0, 1):
                    on = {"P1": p1, "P2": p2, "P3": p3}
                    mean = 10 + sum(effect * np.prod([on[f] for f in term.split("+")]) for term, effect in TRUTH.items())
                    rows.append({**on, "replicate": replicate, "y": mean + block + rng.normal(0, 0.5)})
    return pd.DataFrame(rows)


def test_factorial_ols_recovers_main_effects_and_synergy_within_their_intervals():
    fit = stats.factorial_fit(factorial_data(np.random.default_rng(4)), "y", ["P1", "P2", "P3"])
    effects = stats.factorial_effects(fit, ["P1", "P2", "P3"]).set_index("term")
    assert list(effects.index) == ["P1", "P2", "P1+P2", "P3", "P1+P3", "P2+P3", "P1+P2+P3"]
    for term, truth in TRUTH.items():
        assert effects.loc[term, "ci_low"] < truth < effects.loc[term, "ci_high"], term
    assert effects.loc["P1+P2", "ci_low"] > 0  # the synergy is detected
    assert effects.loc["P1", "kind"] == "alone" and effects.loc["P1+P2", "kind"] == "synergy"


def test_replicate_blocks_narrow_the_intervals_and_anova_lists_every_term():
    data = factorial_data(np.random.default_rng(5))
    blocked = stats.factorial_fit(data, "y", ["P1", "P2", "P3"])
    unblocked = stats.factorial_fit(data, "y", ["P1", "P2", "P3"], block=None)
    assert blocked.bse["P1"] < 0.5 * unblocked.bse["P1"]
    table = stats.anova(blocked)
    assert {"C(replicate)", "P1", "P2", "P3", "P1:P2", "P1:P2:P3", "Residual"} <= set(table.index)
    assert table.loc["P2", "PR(>F)"] < 1e-6 and table.loc["Residual", "df"] == 8 * 30 - 8 - 29


def test_add_indicators():
    table = pd.DataFrame({"scenario": ["baseline", "a", "b"]})
    out = stats.add_indicators(table, {"baseline": [], "a": ["P1"], "b": ["P1", "P3"]}, ["P1", "P2", "P3"])
    assert out[["P1", "P2", "P3"]].to_numpy().tolist() == [[0, 0, 0], [1, 0, 0], [1, 0, 1]]


# --- response surface and marginal effects ----------------------------------------------------
def surface_data(rng: np.random.Generator) -> pd.DataFrame:
    x, y = np.meshgrid([0.5, 1, 2, 3], [38, 60, 80, 100])
    frame = pd.concat([pd.DataFrame({"x": x.ravel(), "y": y.ravel(), "replicate": r}) for r in range(8)], ignore_index=True)
    block = rng.normal(0, 2, 8)[frame["replicate"]]
    frame["z"] = 1 + 2 * frame.x + 0.03 * frame.y - 0.5 * frame.x**2 + 0.0004 * frame.y**2 + 0.01 * frame.x * frame.y
    frame["z"] += block + rng.normal(0, 0.2, len(frame))
    return frame


def test_marginal_effects_at_the_mean_recover_the_true_slopes():
    data = surface_data(np.random.default_rng(6))
    fit = stats.response_surface(data, "z", "x", "y")
    at = {"x": data.x.mean(), "y": data.y.mean()}
    effects = stats.marginal_effects(fit, "x", "y", at, steps={"y": 10}).set_index("lever")
    true_x = 2 - 2 * 0.5 * at["x"] + 0.01 * at["y"]
    true_y = 10 * (0.03 + 2 * 0.0004 * at["y"] + 0.01 * at["x"])  # per +10 of y
    assert effects.loc["x", "ci_low"] < true_x < effects.loc["x", "ci_high"]
    assert effects.loc["y", "ci_low"] < true_y < effects.loc["y", "ci_high"]
    assert effects.loc["y", "step"] == 10


def test_marginal_effect_standard_error_is_the_delta_method():
    data = surface_data(np.random.default_rng(7))
    fit = stats.response_surface(data, "z", "x", "y", block=None)
    at = {"x": 1.2, "y": 55.0}
    row = stats.marginal_effects(fit, "x", "y", at).set_index("lever").loc["x"]
    gradient = pd.Series(0.0, index=fit.params.index)
    gradient[["x", "I(x ** 2)", "x:y"]] = [1.0, 2 * at["x"], at["y"]]
    assert row["effect"] == pytest.approx(gradient @ fit.params)
    assert row["se"] == pytest.approx(np.sqrt(gradient @ fit.cov_params() @ gradient))


def test_fit_statistics_match_statsmodels():
    fit = stats.response_surface(surface_data(np.random.default_rng(8)), "z", "x", "y")
    found = stats.fit_statistics(fit)
    assert found["r2"] == fit.rsquared and found["adj_r2"] == fit.rsquared_adj and found["aic"] == fit.aic
    assert found["n"] == 128 and 0.9 < found["r2"] <= 1


# --- win probabilities, ranks, costs ------------------------------------------------------------
