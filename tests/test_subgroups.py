"""Outcomes by kind of community (sim.subgroups): from the same runs, consistent with the whole, changing nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, simulate
from sim.replicates import simulate_blocks
from sim.subgroups import PARTITIONS, SUBGROUPS, column_name, split


@pytest.fixture(scope="module")
def runs():
    scenario = load_scenario("talent_foundation", {"n_communities": 50, "months": 48})
    plain = simulate(scenario, seed=6)
    with_groups = simulate(scenario.with_parameters({"subgroup_outputs": True}), seed=6)
    return plain, with_groups


def test_recording_subgroups_changes_no_other_number(runs):
    plain, with_groups = runs
    pd.testing.assert_frame_equal(plain, with_groups[plain.columns], check_exact=True)
    assert len(with_groups.columns) == len(plain.columns) + len(SUBGROUPS) * 14


def test_each_partition_adds_up_to_the_whole(runs):
    """Counts add up over a partition's subgroups; a share is the subgroups' shares weighted by their cadres."""
    _, table = runs
    for members in PARTITIONS.values():
        for quantity in ("communities", "cadres", "cadres_central_west"):
            total = sum(table[column_name(quantity, g)] for g in members)
            np.testing.assert_allclose(total, table[quantity])
        cadres = {g: table[column_name("cadres", g)] for g in members}
        weighted = sum(table[column_name("idle_rate", g)] * cadres[g] for g in members) / table["cadres"]
        np.testing.assert_allclose(weighted, table["idle_rate"], atol=1e-12)
        mean = sum(table[column_name("mean_competence", g)] * cadres[g] for g in members) / table["cadres"]
        np.testing.assert_allclose(mean, table["mean_competence"], rtol=1e-12)


def test_a_subgroups_indices_start_at_100_and_split_gives_plain_names(runs):
    _, table = runs
    county = split(table, "county")
    assert county.loc[0, "dispute_resolution_efficiency"] == pytest.approx(100.0)
    assert county["communities"].iloc[0] == table[column_name("communities", "county")].iloc[0]
    assert "dispute_resolution_efficiency__street" not in county.columns


def test_subgroups_in_blocks_equal_their_own_runs():
    runs = [(load_scenario(name, {"n_communities": 30, "months": 30, "subgroup_outputs": True, "persistence": regime}), seed)
            for name in ("baseline", "innovation_leap") for regime in ("sustain", "revert") for seed in (2, 9)]  # fmt: skip
    for (scenario, seed), table in zip(runs, simulate_blocks(runs), strict=True):
        pd.testing.assert_frame_equal(table, simulate(scenario, seed=seed), check_exact=True)
