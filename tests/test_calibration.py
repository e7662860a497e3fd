"""Calibration: the configuration's checks, the contrasts, and parameter recovery by `sim calibrate`.

The recovery test generates its targets with the model itself at known parameter values
(on seeds the fit does not use), then runs `sim calibrate` with both methods on a small
configuration (tests/data/recovery_calibration.yaml): the point fit must land near the
truth, and the truth must lie inside the posterior's 90% interval, which must be narrower
than the prior (so the data, not the prior, put it there).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from sim.calibration import load_config, moments, simulate_runs
from sim.cli import app
from sim.errors import InputError
from sim.output import read_parquet
from sim.parameters import catalogue
from sim.posterior import load_posterior, posterior_provenance

ROOT = Path(__file__).resolve().parents[1]
RECOVERY = ROOT / "tests" / "data" / "recovery_calibration.yaml"
TRUTH = {"traditional_release_rate": 0.045, "exit_rate_base": 0.12}
TRUTH_SEEDS = range(500, 532)  # targets: the model's moments at the truth, on seeds the fit never sees


def _write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _raw(path: Path = ROOT / "data" / "calibration.yaml") -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- the project's calibration file ----------------------------------------------------------
def test_every_figure_states_its_contrast_and_role():
    config = load_config()
    raw = _raw()
    for figure, target in config.targets.items():
        entry = raw["targets"][figure]
        assert entry["phrase"] and entry["population"] and entry["contrast"] and entry["time"], figure
        assert target.role in ("fitted", "matched", "held_out")
    assert config.figures("held_out") == ["F45"]
    # each figure has the contrast the article describes (issue 11)
    assert config.targets["F43"].scenario == "capability_bank" and config.targets["F43"].reference == "status_quo"
    assert {config.targets[f].scenario for f in ("F01", "F02")} == {"system"}  # the default reading (training_evidence)
    assert {config.targets[f].scenario for f in ("F41", "F42")} == {"partner"}
    assert {config.targets[f].scenario for f in ("F19", "F20")} == {"traditional"}
    # a matched figure is solved by exactly one parameter of its own; a held-out one by none
    assert sorted(config.index_parameters.values()) == sorted(config.figures("matched"))


def test_held_out_figure_has_no_parameter_fitted_or_set_from_it():
    config = load_config()
    for figure in config.figures("held_out"):
        assert figure not in config.dynamic_targets and figure not in config.index_parameters.values()
        for name in config.parameters:
            assert figure not in catalogue()[name].source, f"{name}'s prior cites held-out {figure}"


def test_contrast_scenarios_start_from_the_same_state():
    """Every effect is a contrast on common random numbers: month 0 is the same cadre state in both scenarios."""
    config = load_config()
    config.n_communities = 20
    runs = simulate_runs(config, {}, None, [3], {name: 1 for name in config.scenarios})
    cadre_columns = ["cadres", "mean_competence", "idle_rate", "mismatch_rate", "share_specialised", "digital_vacancy_rate"]
    reference = runs["status_quo"][0].iloc[0][cadre_columns]
    for name in ("training", "system", "capability_bank", "partner", "systematic"):
        pd.testing.assert_series_equal(runs[name][0].iloc[0][cadre_columns], reference, check_names=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["targets"]["F45"].update(role="fitted-ish"), "role"),
        (lambda r: r["index"].update(response_capacity_elasticity="F45"), "held out"),
        (lambda r: r["targets"]["F01"].update(scenario="nowhere"), "must be one of the scenarios"),
        (lambda r: r["targets"]["F43"].pop("reference"), "needs a reference"),
        (lambda r: r["dynamic"].update(parameters=["no_such_parameter"]), "must be one of the parameters"),
        (lambda r: r.update(surprise=1), "unknown field"),
        (lambda r: r["targets"]["F19"].update(months=[12, 1]), "first month is after the last"),
        (lambda r: r["abc"].update(population=0), "abc.population = 0"),
    ],
)
def test_bad_configuration_is_one_line(tmp_path, change, message):
    raw = _raw()
    change(raw)
    path = _write(tmp_path / "calibration.yaml", raw)
    with pytest.raises(InputError, match=message) as error:
        load_config(path)
    assert "\n" not in str(error.value)
    result = CliRunner().invoke(app, ["calibrate", "--config", str(path), "--no-write"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1


def test_abc_options_need_method_abc():
    result = CliRunner().invoke(app, ["calibrate", "--method", "smm", "--population", "10", "--no-write"])
    assert result.exit_code == 2 and "goes with --method abc" in result.output
    result = CliRunner().invoke(app, ["calibrate", "--method", "mcmc", "--no-write"])
    assert result.exit_code == 2 and "choose abc" in result.output


# --- parameter recovery ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def recovery(tmp_path_factory):
    """The small configuration with targets made by the model at TRUTH."""
    folder = tmp_path_factory.mktemp("recovery")
    config = load_config(RECOVERY)
    simulated = moments(config, simulate_runs(config, TRUTH, None, TRUTH_SEEDS))
    raw = _raw(RECOVERY)
    for figure, value in simulated.items():
        raw["targets"][figure]["value"] = round(value, 6)
    return _write(folder / "calibration.yaml", raw), folder


def test_point_fit_recovers_known_values(recovery):
    path, folder = recovery
    out = folder / "calibrated.yaml"
    result = CliRunner().invoke(
        app,
        ["calibrate", "--method", "smm", "--config", str(path), "--calibrated", str(out), "--workers", "1", "--quiet",
         "--no-structures"],
    )
    assert result.exit_code == 0, result.output
    fitted = yaml.safe_load(out.read_text(encoding="utf-8"))["values"]
    for name, truth in TRUTH.items():
        low, high = catalogue()[name].range
        # within a tenth of the prior range: the fit's seeds (4 x 20 communities) differ from the truth's
        assert abs(fitted[name] - truth) <= 0.1 * (high - low), (name, fitted[name], truth)


def test_posterior_covers_known_values_and_resumes(recovery):
    path, folder = recovery
    db, out = folder / "abc.db", folder / "posterior.parquet"
    common = ["calibrate", "--method", "abc", "--config", str(path), "--db", str(db), "--posterior", str(out), "--workers", "1",
              "--no-write"]  # the point values go nowhere: the test reads the posterior  # fmt: skip
    first = CliRunner().invoke(app, [*common, "--generations", "2", "--quiet"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, [*common, "--generations", "2", "--quiet"])
    assert again.exit_code == 2 and "--resume" in again.output  # an existing run is never overwritten
    resumed = CliRunner().invoke(app, [*common, "--resume", "--quiet"])  # on to the file's 3 generations
    assert resumed.exit_code == 0, resumed.output
    draws = load_posterior(out)
    record = posterior_provenance(out)["posterior"]
    assert record["generations"] == 3 and [s["started_generations"] for s in record["sessions"]] == [0, 2]
    epsilons = [g["epsilon"] for g in record["schedule"]]
    assert all(b < a for a, b in itertools.pairwise(epsilons)), epsilons  # it shrinks, across the resume too
    assert len(draws) == 400 and set(draws.columns) == set(TRUTH)
    for name, truth in TRUTH.items():
        low, high = np.quantile(draws[name], [0.05, 0.95])
        prior_low, prior_high = catalogue()[name].range
        assert low <= truth <= high, (name, low, truth, high)
        # The data narrowed the prior. One particle is one seed of 20 communities, whose noise
        # (sd about 0.019 in R1, 0.028 in R2) over the moments' slopes (about 2 and 1.9 per unit)
        # allows a 90% interval of about 60% of each prior range at best; 30 particles estimate it roughly.
        assert high - low < 0.75 * (prior_high - prior_low), (name, low, high)
    assert math.isclose(read_parquet(out)["draw"].max(), 399)


def test_a_structure_or_reading_brings_its_own_index_parameters_unless_set_on_purpose():
    from sim.parameters import Parameters, calibrated_variants

    if ("quality", "training") not in calibrated_variants():
        pytest.skip("data/calibrated.yaml holds no variants")
    wanted = calibrated_variants()[("quality", "training")]
    p = Parameters({"capacity_structure": "quality", "training_evidence": "training"})
    assert all(p[name] == value for name, value in wanted.items())
    chosen = Parameters({"capacity_structure": "quality", "training_evidence": "training", "dispute_capacity_elasticity": 0.9})
    assert chosen.dispute_capacity_elasticity == 0.9  # set on purpose: kept
    assert chosen.replace({"months": 12}).dispute_capacity_elasticity == 0.9  # and kept through later changes
    back = p.replace({"capacity_structure": "frontline", "training_evidence": "system"})
    assert back.dispute_capacity_elasticity == Parameters().dispute_capacity_elasticity


def test_every_reading_has_a_scenario_and_the_default_is_the_targets():
    config = load_config()
    reading = config.readings["training_evidence"]
    assert reading.figures == ("F01", "F02") and set(reading.scenarios) == {"system", "training"}
    assert config.targets_under({"training_evidence": "training"})["F01"].scenario == "training"
    assert config.targets["F01"].scenario == "system"
    assert len(config.variants()) == 8
    assert config.variants()[0] == {"capacity_structure": "frontline", "training_evidence": "system"}


def test_the_odd_tables_are_generated_from_the_calibration_files():
    import re

    from sim.article import calibration_markdown

    doc = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- calibration: .*? -->\n(.*?)\n<!-- end of calibration -->", doc, re.S)
    assert block, "docs/ODD.md lost its generated calibration block"
    assert block.group(1) == calibration_markdown(), "run tools/write_docs.py after sim calibrate"


def test_turnovers_score_unit_is_f43s_relative_fall_of_the_status_quos_turnover():
    """docs/decision.md: one score point of turnover is 28% of the status quo's turnover in 2024-2030 at the point values."""
    from sim.columns import column

    runs = simulate_runs(load_config(), {}, None, range(300, 306), {"status_quo": 90})
    level = float(np.mean([t.loc[(t["month"] >= 7) & (t["month"] <= 90), "turnover_rate"].mean() for t in runs["status_quo"]]))
    assert column("turnover_rate").score_scale == pytest.approx(0.28 * level, rel=0.05)
