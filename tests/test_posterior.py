"""Posterior draws as inputs: `sim run --draw`, batches with `posterior: true`, and the file's format."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import sim.posterior as posterior
from sim.batch import load_results, run_experiment
from sim.batch.spec import spec_from_dict
from sim.cli import app
from sim.output import write_table
from sim.parameters import default_values
from sim.posterior import apply_draw, draw_values, load_posterior, replicate_draws
from sim.scenario import load_scenario

DRAWS = pd.DataFrame(
    {
        "draw": [0, 1, 2],
        "exit_rate_base": [0.10, 0.15, 0.17],
        "traditional_release_rate": [0.035, 0.05, 0.07],
        "note": ["a", "b", "c"],  # a column that names no parameter is ignored
    }
)


@pytest.fixture
def fake_posterior(tmp_path, monkeypatch):
    path = tmp_path / "posterior.parquet"
    write_table(DRAWS, path, provenance={"posterior": {"method": "test"}})
    monkeypatch.setattr(posterior, "POSTERIOR_FILE", path)
    return path


def test_format_one_row_per_draw(fake_posterior):
    table = load_posterior()
    assert list(table.columns) == ["exit_rate_base", "traditional_release_rate"]
    assert draw_values(2) == {"exit_rate_base": 0.17, "traditional_release_rate": 0.07}
    assert posterior.posterior_provenance()["posterior"] == {"method": "test"}


def test_explicit_values_win_over_the_draw(fake_posterior):
    scenario = load_scenario("baseline", {"exit_rate_base": 0.11})
    assert apply_draw(scenario.parameters, 1) == {"traditional_release_rate": 0.05}


def test_replicate_draws_are_reproducible_and_in_range(fake_posterior):
    draws = replicate_draws(123, 50)
    assert draws == replicate_draws(123, 50) and set(draws) <= {0, 1, 2} and len(set(draws)) == 3


def test_sim_run_draw(fake_posterior, tmp_path):
    out = tmp_path / "run.parquet"
    small = ["--set", "n_communities=20", "--set", "months=12"]
    result = CliRunner().invoke(app, ["run", "baseline", "--seed", "1", "--draw", "0", *small, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "posterior draw 0" in result.output
    import pyarrow.parquet as pq

    record = json.loads(pq.read_schema(out).metadata[b"sim_provenance"])
    assert record["posterior_draw"] == 0
    assert record["scenario"]["parameters_changed"]["exit_rate_base"] == 0.10
    bad = CliRunner().invoke(app, ["run", "baseline", "--draw", "7", "--set", "months=1"])
    assert bad.exit_code == 2 and bad.output.startswith("error:") and "draws 0 to 2" in bad.output


def test_no_posterior_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(posterior, "POSTERIOR_FILE", tmp_path / "missing.parquet")
    result = CliRunner().invoke(app, ["run", "baseline", "--draw", "0", "--set", "months=1"])
    assert result.exit_code == 2 and "sim calibrate --method abc" in result.output
    with pytest.raises(Exception, match="no posterior"):
        spec_from_dict({"name": "x", "scenarios": ["baseline"], "posterior": True}, "test", tmp_path)


def test_batch_draw_per_replicate(fake_posterior, tmp_path):
    raw = {
        "name": "posterior_batch",
        "scenarios": ["baseline", "talent_foundation"],
        "parameters": {"n_communities": 10, "months": 6},
        "replicates": 4,
        "seed": 99,
        "posterior": True,
        "outputs": {"months": "end", "columns": ["turnover_rate"]},
    }
    with pytest.raises(Exception, match="true or false"):
        spec_from_dict({**raw, "posterior": "yes"}, "test", tmp_path)
    spec = spec_from_dict(raw, "test", tmp_path)
    report = run_experiment(spec, workers=1, out=tmp_path / "store", quiet=True)
    assert report.ok
    results = load_results(tmp_path / "store").sort_values(["replicate", "scenario"])
    expected = replicate_draws(99, 4)
    for replicate, rows in results.groupby("replicate"):
        assert set(rows["draw"]) == {expected[replicate]}  # the same draw for every scenario: paired
    manifest = json.loads((tmp_path / "store" / "_manifest.json").read_text())
    assert {run["draw"] for run in manifest["runs"]} == set(expected)
    assert "posterior" in manifest["resolved"]
    # without the posterior the runs use the point fit, and the spec's fingerprint is unchanged by the feature
    plain = spec_from_dict({k: v for k, v in raw.items() if k != "posterior"}, "test", tmp_path)
    assert "posterior" not in plain.resolved()


def test_draw_changes_the_run(fake_posterior):
    from sim.simulate import simulate

    scenario = load_scenario("baseline", {"n_communities": 20, "months": 12})
    point = simulate(scenario, seed=3)
    drawn = simulate(scenario.with_parameters(apply_draw(scenario.parameters, 2)), seed=3)
    assert default_values()["exit_rate_base"] != 0.17
    assert not point["turnover_rate"].equals(drawn["turnover_rate"])
    assert yaml.safe_dump(draw_values(2))  # plain values


def test_a_draw_is_carried_to_another_structure_and_reading_by_the_variants_point_values():
    """Index parameters: an elasticity moves by the variant's factor, a log-odds shift by its difference; the dynamic
    parameters stay the draw's."""
    from sim.parameters import calibrated_variants, default_values, variant_values
    from sim.posterior import for_variant

    default = dict(variant_values(default_values()))
    other = next(((k, v) for k, v in calibrated_variants().items() if k != ("frontline", "system")), None)
    if other is None or not default:
        pytest.skip("data/calibrated.yaml holds no variants")
    (structure, reading), wanted = other
    draw = {**default_values(), "exit_rate_base": 0.123}
    draw = {k: draw[k] for k in [*default, "exit_rate_base"]}
    draw["dispute_capacity_elasticity"] = default["dispute_capacity_elasticity"] * 1.1
    moved = for_variant(draw, {"capacity_structure": structure, "training_evidence": reading})
    assert moved["exit_rate_base"] == 0.123
    assert moved["dispute_capacity_elasticity"] == pytest.approx(wanted["dispute_capacity_elasticity"] * 1.1)
    assert moved["partner_adoption_logit"] == pytest.approx(
        draw["partner_adoption_logit"] + wanted["partner_adoption_logit"] - default["partner_adoption_logit"]
    )
    assert for_variant(draw, {"capacity_structure": "frontline", "training_evidence": "system"}) == draw
