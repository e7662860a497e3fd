"""The decision metric (sim.decision): integrated and discounted effects, scores, P(best), costs, frontier.

The frontier, ICERs and dominance are checked against two published examples:
- Paltiel AD et al. Expanded HIV screening in the United States: effect on clinical outcomes,
  HIV transmission, and costs. Ann Intern Med 2006;145(11):797-806, Table 4 (high-risk
  population; the figures as reproduced in the dampack package's "Basic Cost Effectiveness
  Analysis" vignette): annual screening is strongly dominated; the other strategies form the
  frontier with rising ICERs.
- Frick K. Decision rules, lecture 11, Johns Hopkins Bloomberg School of Public Health
  OpenCourseWare, 2007 (CC BY-NC-SA): five options, one strongly dominated and two removed by
  extended dominance in turn, leaving options 2 and 3 with an ICER of 8,333 per unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import decision
from sim.columns import by_family, column
from sim.decision import Settings

PERIOD = Settings(discount_rate=0.10, start_month=7, end_month=30)  # January 2024 - December 2025


def table_with(paths: dict[str, list[float]], outcome: str = "idle_rate", replicates: int = 1) -> pd.DataFrame:
    """A batch-like table: one run per scenario and replicate, months 0..30, one outcome."""
    rows = []
    for scenario, values in paths.items():
        for replicate in range(replicates):
            for month in range(31):
                rows.append({"scenario": scenario, "design_point": 0, "replicate": replicate, "month": month,
                             outcome: values[month] + replicate})  # fmt: skip
    return pd.DataFrame(rows)


def step_path() -> list[float]:
    """Difference 1 in months 7-18 (2024), 3 in months 19-30 (2025), 0 before."""
    return [0.0] * 7 + [1.0] * 12 + [3.0] * 12


def test_integrated_and_discounted_effect_by_hand():
    table = table_with({"baseline": [10.0] * 31, "program": [10.0 + d for d in step_path()]})
    effect = decision.integrated_effects(table, "baseline", ["idle_rate"], PERIOD).iloc[0]
    # Average difference over the two years: (12 x 1 + 12 x 3) / 24 months.
    assert effect["integrated"] == pytest.approx(2.0, rel=1e-12)
    # Discount-weighted average with v = 1/1.1 a year: months k = 0..23 weigh v^(k/12); the second
    # year's block is v times the first's, so the average is (1 + 3v) / (1 + v) = 4.1 / 2.1.
    assert effect["discounted"] == pytest.approx(4.1 / 2.1, rel=1e-12)


def test_months_outside_the_period_do_not_count():
    path = step_path()
    path[3] = 100.0  # before January 2024
    table = table_with({"baseline": [0.0] * 31, "program": path})
    assert decision.integrated_effects(table, "baseline", ["idle_rate"], PERIOD)["integrated"].iloc[0] == pytest.approx(2.0)


def test_a_missing_month_is_refused():
    table = table_with({"baseline": [0.0] * 31, "program": step_path()})
    with pytest.raises(Exception, match="every month 7-30"):
        decision.integrated_effects(table[table["month"] != 12], "baseline", ["idle_rate"], PERIOD)


def test_scores_standardise_sign_and_weight_by_family():
    effects = pd.DataFrame(
        [
            {"scenario": "P", "design_point": 0, "replicate": 0, "outcome": "idle_rate", "discounted": -0.34},  # F19 scale
            {"scenario": "P", "design_point": 0, "replicate": 0, "outcome": "mismatch_rate", "discounted": 0.0},
            {"scenario": "P", "design_point": 0, "replicate": 0, "outcome": "mean_competence", "discounted": 7.5},
        ]
    )
    s = Settings(family_weights={"pipeline": 1.0, "capability": 3.0, "governance": 1.0, "participation": 1.0})
    row = decision.scores(effects, s).iloc[0]
    # Idle rate down by its full scale scores +1 (lower is better); mismatch 0: the pipeline family averages to 0.5.
    assert row["pipeline"] == pytest.approx(0.5)
    assert row["capability"] == pytest.approx(7.5 / column("mean_competence").score_scale)
    # Only the families present count, weighted 1 : 3.
    assert row["overall"] == pytest.approx((0.5 + 3 * 0.5) / 4)
    assert set(by_family()) == {"pipeline", "capability", "governance", "participation"}


def test_p_best_and_lead_from_paired_replicates():
    scores = pd.DataFrame(
        {
            "scenario": ["A", "B", "C"] * 4,
            "design_point": 0,
            "replicate": np.repeat(range(4), 3),
            "overall": [3, 2, 1, 3, 4, 1, 5, 2, 1, 2, 2, 1],  # A best in replicates 0 and 2, B in 1, A and B tie in 3
        }
    )
    share = decision.p_best(scores, ["A", "B", "C"]).iloc[0]
    assert share.to_dict() == {"A": pytest.approx(0.625), "B": pytest.approx(0.375), "C": 0.0}
    lead = decision.lead(scores, ["A", "B", "C"]).iloc[0]
    assert (lead["best"], lead["runner_up"]) == ("A", "B")
    diffs = np.array([1, -1, 3, 0])
    half = 3.182446305284263 * diffs.std(ddof=1) / 2  # t(0.975, 3 df) x sd / sqrt(4)
    assert lead["lead"] == pytest.approx(0.75) and lead["ci_high"] - lead["lead"] == pytest.approx(half)


def frontier_of(options: dict[str, tuple[float, float]]) -> pd.DataFrame:
    data = pd.DataFrame([{"option": k, "cost": c, "effect": e} for k, (c, e) in options.items()])
    return decision.efficiency_frontier(data).set_index("option")


def test_frontier_paltiel_2006_hiv_screening():
    months = {"status quo": 277.25, "one time": 277.57, "5yr": 277.78, "3yr": 277.83, "annual": 277.76}
    costs = {"status quo": 26000, "one time": 27000, "5yr": 28020, "3yr": 28440, "annual": 29440}
    f = frontier_of({k: (costs[k], months[k] / 12) for k in costs})
    assert f.loc["annual", "status"] == "dominated" and f.loc["annual", "dominated_by"] == "3yr"
    assert list(f.index[f["status"] == "frontier"]) == ["status quo", "one time", "5yr", "3yr"]
    # ICER = extra dollars / extra QALYs (quality-adjusted life-months / 12) against the previous strategy.
    assert f.loc["one time", "icer"] == pytest.approx(1000 / (0.32 / 12))
    assert f.loc["5yr", "icer"] == pytest.approx(1020 / (0.21 / 12))
    assert f.loc["3yr", "icer"] == pytest.approx(420 / (0.05 / 12))
    assert np.isnan(f.loc["status quo", "icer"]) and np.isnan(f.loc["annual", "icer"])


def test_frontier_frick_2007_extended_dominance():
    f = frontier_of({"1": (300_000, 25), "2": (200_000, 20), "3": (450_000, 50), "4": (375_000, 40), "5": (400_000, 15)})
    assert f.loc["5", "status"] == "dominated"  # costs more than 2, 1 and 4 and does less
    # 2 -> 1 costs 20,000 per unit but 1 -> 4 only 5,000: 1 is extendedly dominated; then
    # 2 -> 4 costs 8,750 but 4 -> 3 only 7,500: 4 goes too.
    assert f.loc["1", "status"] == "extendedly dominated" and f.loc["4", "status"] == "extendedly dominated"
    assert list(f.index[f["status"] == "frontier"]) == ["2", "3"]
    assert f.loc["3", "icer"] == pytest.approx(250_000 / 30) and f.loc["3", "compared_with"] == "2"


def test_acceptability_switches_from_cheapest_to_most_effective():
    effects = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 3.0]])
    costs = np.array([[0.0, 0.0], [10.0, 10.0], [50.0, 50.0]])
    curve = decision.acceptability(effects, costs, ["none", "cheap", "big"], [0.0, 15.0, 100.0]).set_index(["value", "option"])
    assert curve.loc[(0.0, "none"), "probability"] == 1.0  # nothing is worth paying for
    assert curve.loc[(15.0, "cheap"), "probability"] == 1.0  # 15 > 10 per unit, but the step to big costs 20 per unit
    assert curve.loc[(100.0, "big"), "probability"] == 1.0


def test_price_draws_stay_in_range_with_the_central_value_as_mean():
    lines = pd.DataFrame({"key": ["a", "b", "c"], "low": [0.0, 5.0, 7.0], "central": [1.0, 5.0, 7.0], "high": [10.0, 9.0, 7.0]})
    draws = decision.price_draws(lines, 40_000, seed=1)
    assert (draws.iloc[0] == lines.set_index("key")["central"]).all()  # draw 0 is the central case
    for key, low, mid, high in lines[["key", "low", "central", "high"]].itertuples(index=False):
        assert draws[key].between(low, high).all()
        sd = (high - low) / np.sqrt(12)  # bounded above by the widest uniform's sd
        assert draws[key].mean() == pytest.approx(mid, abs=4 * sd / np.sqrt(len(draws)) + 1e-12)


def test_discount_weights_start_at_one_and_fall_by_the_rate_each_year():
    w = decision.discount_weights(np.arange(0, 40), PERIOD)
    assert w[7] == 1.0 and w[19] == pytest.approx(1 / 1.1) and w[6] == 0.0 and w[31] == 0.0


def test_run_costs_count_units_paid_in_the_window_by_hand():
    from sim.scenario import load_scenario

    scenario = load_scenario("digital_foundation", {"n_communities": 10, "persistence": "revert"})
    months = np.arange(31)  # to December 2025: only 2025 is inside P2's window (2025-2027)
    table = pd.DataFrame({"scenario": "P2", "design_point": 0, "replicate": 0, "month": months, "communities": 10,
                          "cadres": 100, "cadres_central_west": 60})  # fmt: skip
    q = decision.run_costs(table, lambda name, point: scenario, Settings(discount_rate=0.0, start_month=7, end_month=30)).iloc[0]
    # Per community: 12 months x 10 communities / 12 / 10 = 1 community-year; 100 cadres -> 10 cadre-years;
    # 60 central/western cadres -> 6 of their cadre-years.
    assert q["P2:digital_training_intensity:window:community_year"] == pytest.approx(1.0)
    assert q["P2:digital_training_intensity:window:cadre_year"] == pytest.approx(10.0)
    assert q["P2:training_budget_central_west:window:central_west_cadre_year"] == pytest.approx(6.0)
    assert q["P2:digital_training_intensity:maintenance:community_year"] == 0.0  # revert: nothing after the window


def test_the_answers_sensitivity_finds_a_leader_that_rests_on_one_family():
    """The report's 'what the answer depends on': program A leads only through a large governance score; leaving
    governance out (or counting one other family alone) makes B the leader, and the report's sensitivity says so."""
    from sim.report.answer import _sensitivity

    first = {family: members[0] for family, members in by_family().items()}
    standardised = {"A": {"pipeline": 0.1, "capability": 0.1, "governance": 4.0, "participation": 0.1},
                    "B": {"pipeline": 0.5, "capability": 0.5, "governance": 0.0, "participation": 0.5}}  # fmt: skip
    effects = pd.DataFrame(
        [
            {"scenario": program, "design_point": 0, "replicate": r, "outcome": first[family],
             "discounted": value * column(first[family]).score_scale * column(first[family]).direction}
            for program, values in standardised.items() for family, value in values.items() for r in range(2)
        ]
    )  # fmt: skip
    s = Settings(discount_rate=0.05, discount_range=(0.05, 0.05))  # no other discount rate: the table is not needed
    sens = _sensitivity(None, None, list(first.values()), effects, ["A", "B"], s, {0: "sustain"})
    leader = dict(zip(sens["variant"], sens["leader"], strict=True))
    assert leader["as reported"] == "A" and leader["governance only"] == "A"
    assert leader["without governance"] == "B" and leader["pipeline only"] == "B"
    assert leader["without pipeline"] == "A"  # leaving out a family B wins on does not help B


def test_p_best_of_the_replicates_carries_its_interval():
    """30 of 30 is not certainty: Wilson's 95% interval for 30 successes in 30 is [30 / (30 + z^2), 1] = [0.886, 1]."""
    from sim.report import answer

    assert answer._share(1.0, 30) == "100% (30 of 30) [89–100%]"
    assert answer._share(0.5, 30).startswith("50% (15 of 30) [33–67%]")


# --- evaluation windows (data/decision.yaml: equal exposure, calendar, long horizon) ------------------
def _programs(*keys):
    from sim.programs import standard_programs

    return [standard_programs()[k] for k in keys]


def test_each_mode_scores_a_program_over_its_window_by_hand():
    """Equal exposure: seven years from January of the program's first year; calendar: 2024-2030 for all; horizon: 2024-2040."""
    s = decision.settings()
    assert s.mode == "equal_exposure" and s.exposure_years == 7
    p1, p3 = _programs("talent_foundation"), _programs("innovation_leap")
    assert s.window(p1) == (7, 90)  # January 2024 (month 7) to December 2030 (month 90)
    assert s.window(p3) == (31, 114)  # January 2026 to December 2032
    assert s.window([*p1, *p3]) == (7, 90)  # a package starts with its first program
    assert s.in_mode("calendar").window(p3) == (7, 90)
    assert s.in_mode("horizon").window(p1) == (7, 210)
    assert s.with_overrides(exposure_years=3).window(p3) == (31, 66)
    assert s.with_overrides(mode="calendar", end_month=66).window(p1) == (7, 66)


def test_equal_exposure_scores_each_condition_over_its_own_window_discounted_to_its_start():
    """Two programs with the same effect path relative to their own start score the same under equal exposure;
    under the calendar period the later one loses the years after the period ends."""
    months = 40
    base = [0.0] * (months + 1)
    early = [0.0] * 7 + [1.0] * (months + 1 - 7)  # from month 7
    late = [0.0] * 19 + [1.0] * (months + 1 - 19)  # the same path, 12 months later
    table = table_with({"baseline": base, "early": early, "late": late})
    table = table[table["month"] <= months]
    s = Settings(discount_rate=0.10, mode="equal_exposure", exposure_years=1)
    windows = {"early": (7, 18), "late": (19, 30)}
    effects = decision.integrated_effects(table, "baseline", ["idle_rate"], s, windows).set_index("scenario")
    assert effects.loc["early", "discounted"] == pytest.approx(1.0) and effects.loc["late", "discounted"] == pytest.approx(1.0)
    calendar = Settings(discount_rate=0.10, start_month=7, end_month=18)  # one common year: 2024
    effects = decision.integrated_effects(table, "baseline", ["idle_rate"], calendar).set_index("scenario")
    assert effects.loc["early", "integrated"] == pytest.approx(1.0) and effects.loc["late", "integrated"] == 0.0


def test_equal_exposure_without_the_scenarios_programs_is_refused():
    table = table_with({"baseline": [0.0] * 31, "program": step_path()})
    with pytest.raises(Exception, match="equal-exposure scoring needs each scenario's programs"):
        decision.integrated_effects(table, "baseline", ["idle_rate"], Settings(mode="equal_exposure"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"mode": "fiscal"}, "choose one of equal_exposure"), ({"end_month": 0}, "model month from 1"),
     ({"exposure_years": 0}, "whole number of years"), ({"start_month": 100, "mode": "calendar"}, "after its end")],
)  # fmt: skip
def test_bad_evaluation_settings_are_one_line(overrides, message):
    from sim.errors import InputError

    with pytest.raises(InputError, match=message) as error:
        decision.settings().with_overrides(**overrides)
    assert "\n" not in str(error.value)
