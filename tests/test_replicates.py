"""Replicates run as blocks of one state (sim.replicates) give each seed's own run, bit for bit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import scenario_path
from sim import load_scenario, simulate
from sim.replicates import ReplicateModel, simulate_replicates

SEEDS = [3, 0, 12345678901]
POLICY_SCENARIOS = ("baseline", "talent_foundation", "digital_foundation", "innovation_leap", "all_programs")


def assert_same_as_separate_runs(scenario, seeds=SEEDS):
    tables = simulate_replicates(scenario, seeds)
    assert len(tables) == len(seeds)
    for seed, table in zip(seeds, tables, strict=True):
        pd.testing.assert_frame_equal(table, simulate(scenario, seed=seed), check_exact=True)


@pytest.mark.parametrize("persistence", ["revert", "sustain", "decay"])
@pytest.mark.parametrize("name", POLICY_SCENARIOS)
def test_blocks_equal_separate_runs(name, persistence):
    scenario = load_scenario(scenario_path(name), {"n_communities": 17, "persistence": persistence, "months": 60})
    assert_same_as_separate_runs(scenario)


def test_blocks_equal_separate_runs_in_the_markov_mode():
    assert_same_as_separate_runs(load_scenario(scenario_path("markov_verification"), {"months": 36}))


def test_blocks_equal_separate_runs_when_the_reserve_outgrows_its_table():
    scenario = load_scenario(scenario_path("all_programs"), {"n_communities": 11, "quota_growth_per_year": 0.1})
    model = ReplicateModel(scenario, SEEDS)
    stride = model.cadres.stride
    model.run_for(scenario.parameters.months)
    assert model.cadres.stride > stride  # the blocks were moved apart to grow
    for seed, table in zip(SEEDS, model.results(), strict=True):
        pd.testing.assert_frame_equal(table, simulate(scenario, seed=seed), check_exact=True)


def test_one_seed_is_a_plain_run():
    scenario = load_scenario(scenario_path("baseline"), {"n_communities": 9, "months": 12})
    assert_same_as_separate_runs(scenario, [5])


def test_batches_group_replicates_into_blocks_in_plan_order():
    from sim.batch import load_spec, plan_runs
    from sim.batch.runs import plan_blocks

    tasks = plan_runs(load_spec(Path(__file__).parents[1] / "experiments" / "compare_programs.yaml"))
    for workers in (1, 2):
        blocks = plan_blocks(tasks, workers)
        assert sorted(t.run_id for b in blocks for t in b) == sorted(t.run_id for t in tasks)
        scenarios = 5
        for block in blocks:
            assert len({t.design_point for t in block}) == 1
            replicates = [t.replicate for t in block]
            assert len(block) % scenarios == 0  # whole replicates: every scenario of each
            assert replicates == sorted(replicates)
            assert set(replicates) == set(range(replicates[0], replicates[0] + len(block) // scenarios))
        assert len(blocks) >= (5 if workers == 1 else 3 * workers)
        # Replicates come in the plan's order: no block starts before every earlier replicate has a block.
        starts = [b[0].replicate for b in blocks]
        assert starts == sorted(starts)


def test_runs_that_differ_in_policy_share_a_block_and_each_equals_its_own_run():
    """Scenarios, persistence regimes, program windows and horizons mixed in one BlockModel (sim.replicates)."""
    from sim.replicates import simulate_blocks

    runs = [
        (load_scenario(scenario_path(name), {"n_communities": 13, "persistence": persistence, "months": 64}), seed)
        for name in POLICY_SCENARIOS
        for persistence in ("sustain", "decay", "revert")
        for seed in (3, 11)
    ]
    runs.append((load_scenario(scenario_path("calibration/traditional"), {"n_communities": 13, "months": 12}), 5))
    moved = load_scenario(scenario_path("innovation_leap"), {"n_communities": 13, "months": 70})
    runs.append((moved.with_programs([{"name": "innovation_leap", "start": 2024, "end": 2025}]), 5))
    tables = simulate_blocks(runs)
    for (scenario, seed), table in zip(runs, tables, strict=True):
        pd.testing.assert_frame_equal(table, simulate(scenario, seed=seed), check_exact=True)


def test_runs_with_different_mechanisms_cannot_share_a_block():
    from sim.replicates import BlockModel

    a = load_scenario(scenario_path("baseline"), {"n_communities": 5})
    b = load_scenario(scenario_path("baseline"), {"n_communities": 5, "training_gain": a.parameters.training_gain * 1.1})
    with pytest.raises(ValueError, match="share every parameter that is not policy"):
        BlockModel([(a, 1), (b, 1)])
