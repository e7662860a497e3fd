"""CadreModel works with Mesa's own tools: keyword construction, DataCollector, running, batch_run."""

from __future__ import annotations

from pathlib import Path

import mesa
import pandas as pd
import pytest

from sim import load_scenario, simulate
from sim.errors import InputError
from sim.model import CadreModel
from sim.output import read_parquet
from test_persistence import RENAMED

REFERENCE = Path(__file__).parent / "reference"
SHORT = {"n_communities": 12, "months": 14}


def test_keyword_model_reproduces_a_saved_run_bit_for_bit():
    """Built by keyword (name, seed, size, regime) and stepped by Mesa until running is False."""
    model = CadreModel(policy_scenario="talent_foundation", seed=7, n_communities=50, persistence="revert")
    while model.running:
        model.step()
    assert model.month == model.steps == 90
    saved = read_parquet(REFERENCE / "talent_foundation_seed7_n50.parquet").rename(columns=RENAMED)
    table = model.results()
    for column in saved.columns:  # P1 has no increment cost line, so even program_cost is unchanged
        assert table[column].equals(saved[column]), column


def test_datacollector_holds_the_output_table_and_running_stops_at_the_horizon():
    model = CadreModel(policy_scenario="baseline", seed=3, **SHORT)
    assert isinstance(model.scenario, mesa.experimental.scenarios.Scenario)  # Mesa's own attribute is Mesa's
    assert model.policy_scenario.name == "baseline"
    for _ in range(13):
        model.step()
    assert model.running
    model.step()
    assert not model.running
    collected = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    table = model.results()
    assert list(collected.columns) == list(table.columns)
    assert collected.equals(table)


def test_levers_programs_and_parameters_by_keyword_match_a_scenario_file():
    by_keyword = CadreModel(
        policy_scenario="baseline",
        seed=2,
        programs=[{"name": "innovation_leap", "start": 2024, "end": 2024}],
        levers={"mentor_trained_share": 0.5},
        funding_share=0.01,
        **SHORT,
    )
    by_keyword.run_for(14)
    scenario = load_scenario("baseline", {**SHORT, "mentor_trained_share": 0.5, "funding_share": 0.01})
    scenario = scenario.with_programs([{"name": "innovation_leap", "start": 2024, "end": 2024}])
    assert by_keyword.results().equals(simulate(scenario, seed=2))
    assert by_keyword.policy.levers.funding_share == 0.03  # P3 inside its window moved the lever


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"policy_scenario": "no_such_scenario"}, "no_such_scenario"),
        ({"funding_share": 5}, "funding_share"),
        ({"persistence": "forever"}, "persistence"),
        ({"no_such_parameter": 1}, "unknown parameter 'no_such_parameter'"),
        ({"scenario": "baseline"}, "policy_scenario="),
    ],
)
def test_bad_keywords_are_one_line_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        CadreModel(**kwargs)


def test_batch_run_sweeps_a_lever_over_two_values():
    rows = mesa.batch_run(
        CadreModel,
        parameters={"policy_scenario": "baseline", "funding_share": [0.005, 0.03], **SHORT},
        rng=[4],
        max_steps=100,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    table = pd.DataFrame(rows)
    assert sorted(table["funding_share"]) == [0.005, 0.03]
    assert (table["month"] == 14).all() and (table["Step"] == 14).all()
    for _, row in table.iterrows():
        expected = simulate("baseline", seed=4, overrides={**SHORT, "funding_share": row["funding_share"]}).iloc[-1]
        assert row["service_satisfaction"] == expected["service_satisfaction"]
        assert row["cadres"] == expected["cadres"]
    assert table["mean_competence"].nunique() == 2  # the lever made a difference
