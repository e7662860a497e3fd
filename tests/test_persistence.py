"""What program levers do after their window: the three persistence regimes (sim.policy).

- revert reproduces the outputs saved before persistence existed, bit for bit;
- sustain keeps investment levers at the program's values and pays their maintenance;
- decay halves the gap to the status quo every half-life and pays nothing;
- recurring levers (funds, budgets, awards) revert under every regime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import default, program_entries, run, scenario_path
from sim import build_model, load_scenario, simulate
from sim.errors import InputError
from sim.output import read_parquet
from sim.policy import NUMERIC_LEVERS, SWITCH_LEVERS, month_index

REFERENCE = Path(__file__).parent / "reference"
RENAMED = {  # output columns that shared a lever's name (tests/reference/README.md)
    "mentor_trained_share": "mentors_trained",
    "training_base_coverage": "communities_training_base",
    "growth_file_coverage": "communities_growth_file",
    "promotion_standard_coverage": "communities_promotion_standard",
    "honour_fund_coverage": "communities_honour_fund",
    "rotation_coverage": "communities_scientific_use",
    "staged_training_coverage": "communities_staged_training",
}
SCENARIOS = ("baseline", "talent_foundation", "digital_foundation", "innovation_leap", "all_programs")
RECURRING = {  # lever -> program key, read from the file
    lever: key
    for key, entry in program_entries().items()
    for lever, setting in entry["levers"].items()
    if setting["kind"] == "recurring"
}


def increment_cost(table: pd.DataFrame, scenario: str) -> np.ndarray:
    """Monthly yuan of the increment lines (P2's budget rise, P3's fund rise) inside their windows, from the file."""
    total = np.zeros(len(table))
    keys = [scenario] if scenario in program_entries() else list(program_entries()) if scenario == "all_programs" else []
    years = table["date"].dt.year.to_numpy()
    for key in keys:
        entry = program_entries()[key]
        inside = (years >= entry["start"]) & (years <= entry["end"])
        for lever, setting in entry["levers"].items():
            line = setting["cost"]
            if isinstance(line, dict) and line.get("amount") == "increment":
                rise = setting["value"] - default(lever)
                units = table["communities"] * default(line["times"]) if "times" in line else table["cadres_central_west"]
                total += np.where(inside, rise * units.to_numpy() / 12, 0.0)
    return total


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_revert_reproduces_the_saved_outputs_bit_for_bit(scenario):
    saved = read_parquet(REFERENCE / f"{scenario}_seed7_n50.parquet").rename(columns=RENAMED)
    table = simulate(scenario_path(scenario), seed=7, overrides={"n_communities": 50, "persistence": "revert"})
    for column in saved.columns.drop("program_cost"):
        assert table[column].equals(saved[column]), column
    # program_cost now also counts the increment lines, and nothing else changed in it.
    np.testing.assert_allclose(
        table["program_cost"] - saved["program_cost"], increment_cost(table, scenario), rtol=1e-9, atol=1e-6
    )
    if scenario in ("baseline", "talent_foundation"):
        assert table["program_cost"].equals(saved["program_cost"])


def policy_at(scenario: str, month: int, **overrides):
    model = build_model(load_scenario(scenario_path(scenario), {"n_communities": 40, **overrides}), 3)
    return model.policy_schedule.at(month), model


def status_quo(lever: str, model):
    return model.policy_scenario.parameters[lever]


@pytest.mark.parametrize("key", list(program_entries()))
def test_sustain_keeps_investments_and_reverts_recurring_levers(key):
    entry = program_entries()[key]
    after = month_index(entry["end"]) + 1  # January after the window
    policy, model = policy_at(key, after, persistence="sustain")
    assert policy.active_programs == [] and [ph.phase for ph in policy.phases] == ["maintenance"]
    for lever, setting in entry["levers"].items():
        value = policy.levers.__getattribute__(lever) if lever in NUMERIC_LEVERS else policy.by_community(lever)
        expected = setting["value"] if setting["kind"] == "investment" else status_quo(lever, model)
        assert np.all(value == expected), lever


def test_sustain_pays_maintenance_after_the_window():
    entry = program_entries()["talent_foundation"]
    table = run("talent_foundation", 0, n_communities=40, persistence="sustain")
    after = table["date"].dt.year > entry["end"]
    units = {"community_year": 40, "cadre_year": table["cadres"]}
    expected = sum(s["maintenance"]["central"] * units[s["maintenance"]["per"]] / 12 for s in entry["levers"].values())
    np.testing.assert_allclose(table.loc[after, "program_cost"], expected[after], rtol=1e-12)
    assert (table.loc[after, "program_cost"] > 0).all()
    reverted = run("talent_foundation", 0, n_communities=40, persistence="revert")
    assert (reverted.loc[after, "program_cost"] == 0).all()


@pytest.mark.parametrize("half_life", [1.0, 2.5])
def test_decay_halves_the_gap_after_one_half_life(half_life):
    entry = program_entries()["talent_foundation"]
    end = month_index(entry["end"])
    h = round(12 * half_life)
    at_half, model = policy_at("talent_foundation", end + h, persistence="decay", investment_half_life_years=half_life)
    at_quarter, _ = policy_at("talent_foundation", end + 2 * h, persistence="decay", investment_half_life_years=half_life)
    n = model.communities.n
    for lever, setting in entry["levers"].items():
        base = status_quo(lever, model)
        if lever in NUMERIC_LEVERS:
            gap = setting["value"] - base
            assert getattr(at_half.levers, lever) == pytest.approx(base + gap / 2, abs=1e-12), lever
            assert getattr(at_quarter.levers, lever) == pytest.approx(base + gap / 4, abs=1e-12), lever
        else:  # an on/off or choice lever: the program's value stays in half (then a quarter) of the communities
            assert np.count_nonzero(at_half.by_community(lever) == setting["value"]) == pytest.approx(n / 2, abs=1)
            assert np.count_nonzero(at_quarter.by_community(lever) == setting["value"]) == pytest.approx(n / 4, abs=1)
    # The communities that keep a scheme at a quarter are among those that kept it at a half.
    kept_half = at_half.by_community("cross_street_rotation")
    kept_quarter = at_quarter.by_community("cross_street_rotation")
    assert not np.any(kept_quarter & ~kept_half)
    assert at_half.phases == ()  # nothing is paid while an investment decays


@pytest.mark.parametrize("persistence", ["revert", "sustain", "decay"])
@pytest.mark.parametrize("lever", sorted(RECURRING))
def test_recurring_levers_revert_under_every_regime(lever, persistence):
    key = RECURRING[lever]
    entry = program_entries()[key]
    inside, model = policy_at(key, month_index(entry["end"]), persistence=persistence)
    after, _ = policy_at(key, month_index(entry["end"]) + 1, persistence=persistence)
    value = entry["levers"][lever]["value"]
    assert getattr(inside.levers, lever) == value
    assert getattr(after.levers, lever) == status_quo(lever, model)


def test_revert_returns_every_lever_to_the_status_quo():
    policy, model = policy_at("all_programs", month_index(2029, 1), persistence="revert")
    for lever in NUMERIC_LEVERS:
        assert getattr(policy.levers, lever) == model.policy_scenario.parameters[lever], lever
    for lever in SWITCH_LEVERS:
        assert np.all(policy.by_community(lever) == model.policy_scenario.parameters[lever]), lever


def test_persistence_is_checked_like_any_parameter():
    with pytest.raises(InputError, match=r"persistence.*not one of: revert, sustain, decay"):
        load_scenario(scenario_path("baseline"), {"persistence": "forever"})
    with pytest.raises(InputError, match="investment_half_life_years"):
        load_scenario(scenario_path("baseline"), {"investment_half_life_years": -1})


BAD_PROGRAMS = {
    "kind": ("kind: forever", "must be one of: investment, recurring"),
    "maintenance_missing": ("maintenance: null", "needs a 'maintenance' cost"),
    "negative_cost": ("cost: {per: community_year, low: -1, central: 5, high: 9, reason: x}", "non-negative number of yuan"),
    "unordered": ("cost: {per: community_year, low: 9, central: 5, high: 10, reason: x}", "low <= central <= high"),
    "basis": ("cost: {per: household_year, low: 1, central: 5, high: 9, reason: x}", "per = 'household_year'"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROGRAMS))
def test_bad_program_costs_and_kinds_are_refused(case, tmp_path):
    from sim.programs import load_programs

    line, message = BAD_PROGRAMS[case]
    field = line.split(":")[0]
    text = (
        "p:\n  id: P9\n  name: test\n  start: 2024\n  end: 2025\n  levers:\n    training_base_coverage:\n"
        "      value: 0.9\n      kind: investment\n"
        "      cost: {per: community_year, low: 1, central: 2, high: 3, reason: x}\n"
        "      maintenance: {per: community_year, low: 1, central: 2, high: 3, reason: x}\n"
    )
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith(f"{field}:")]
    lines.insert(8, f"      {line}")
    path = tmp_path / "programs.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_programs(path)


def test_program_ids_work_where_program_names_do(tmp_path):
    path = tmp_path / "by_id.yaml"
    path.write_text("name: by_id\nprograms: [p3, P1]\n", encoding="utf-8")
    assert [p.key for p in load_scenario(path).programs] == ["innovation_leap", "talent_foundation"]
    assert load_scenario("talent_foundation").name == "talent_foundation"  # a scenario name instead of a path
