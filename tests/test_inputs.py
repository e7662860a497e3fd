"""Bad input is refused with one clear line, from Python (InputError) and from the CLI.

The CLI contract (src/sim/cli.py): exit code 2, a single line on stderr starting with
"error:", never a traceback. Each case is checked both ways with the same expected words:
every case through the CLI app in this process (typer's CliRunner), and the cases in
SUBPROCESS_CASES also as real `python -m sim.cli` processes (each pays ~1 s of imports, so
only a few; they run concurrently).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import invoke_cli, parameter_entries, run_cli_batch, scenario_path
from sim import CadreModel, InputError, build_model, load_scenario, simulate
from sim.output import write_table
from sim.parameters import Parameters
from sim.scenario import parse_assignment

BASELINE = str(scenario_path("baseline"))
FAST = ["--set", "n_communities=10", "--set", "months=2"]

FILES = {
    # A list that is never closed: the parser notices on line 3.
    "malformed.yaml": "name: broken\nprograms: [talent_foundation\nparameters: {}\n",
    "unknown_program.yaml": "name: typo\nprograms: [talent_fundation]\n",
    "unknown_method.yaml": "name: method\nparameters:\n  selection_method: observer\n",
    "backwards_window.yaml": "name: backwards\nprograms:\n  - {name: innovation_leap, start: 2028, end: 2026}\n",
    "unknown_field.yaml": "name: field\nprogams: []\n",
    "unknown_parameter.yaml": "name: p\nparameters:\n  mentor_trained_shar: 0.5\n",
    "twice.yaml": "name: twice\nprograms: [innovation_leap, innovation_leap]\n",
    "not_a_mapping.yaml": "- just\n- a list\n",
}


@dataclass(frozen=True)
class Case:
    """One kind of bad input: how to trigger it from Python and from the CLI, and the words expected."""

    words: tuple[str, ...]
    cli: tuple[str, ...]
    file: str | None = None  # scenario file from FILES (Python side loads it)
    overrides: dict = field(default_factory=dict)  # Python side: overrides to simulate()


CASES = {
    "unknown_parameter": Case(
        ("unknown parameter 'mentor_trained_shar'", "did you mean 'mentor_trained_share'"),
        ("run", BASELINE, "--set", "mentor_trained_shar=0.5"),
        overrides={"mentor_trained_shar": 0.5},
    ),
    "unknown_parameter_in_file": Case(
        ("unknown_parameter.yaml", "unknown parameter 'mentor_trained_shar'", "did you mean 'mentor_trained_share'"),
        ("run", "unknown_parameter.yaml"),
        file="unknown_parameter.yaml",
    ),
    "out_of_range": Case(
        ("mentor_trained_share", "1.5", "out of range", "0 to 1"),
        ("run", BASELINE, "--set", "mentor_trained_share=1.5"),
        overrides={"mentor_trained_share": 1.5},
    ),
    "wrong_type": Case(
        ("n_communities", "'abc'", "not a number"),
        ("run", BASELINE, "--set", "n_communities=abc"),
        overrides={"n_communities": "abc"},
    ),
    "not_whole": Case(
        ("n_communities", "2.5", "not a whole number"),
        ("run", BASELINE, "--set", "n_communities=2.5"),
        overrides={"n_communities": 2.5},
    ),
    "not_bool": Case(
        ("recruitment", "maybe", "true/false"),
        ("run", BASELINE, "--set", "recruitment=maybe"),
        overrides={"recruitment": "maybe"},
    ),
    "malformed_yaml": Case(
        ("malformed.yaml", "line 3", "malformed YAML"),
        ("run", "malformed.yaml"),
        file="malformed.yaml",
    ),
    "unknown_program": Case(
        ("unknown program 'talent_fundation'", "did you mean 'talent_foundation'"),
        ("run", "unknown_program.yaml"),
        file="unknown_program.yaml",
    ),
    "unknown_selection_method": Case(
        ("selection_method", "'observer'", "traditional, capability_portrait, observer_period", "did you mean 'observer_period'"),
        ("run", "unknown_method.yaml"),
        file="unknown_method.yaml",
    ),
    "unknown_selection_method_set": Case(
        ("selection_method", "'observr'", "did you mean 'observer_period'"),
        ("run", BASELINE, "--set", "selection_method=observr"),
        overrides={"selection_method": "observr"},
    ),
    "window_ends_before_start": Case(
        ("innovation_leap", "ends (2026) before it starts (2028)"),
        ("run", "backwards_window.yaml"),
        file="backwards_window.yaml",
    ),
    "unknown_scenario_field": Case(
        ("unknown field 'progams'", "did you mean 'programs'"),
        ("run", "unknown_field.yaml"),
        file="unknown_field.yaml",
    ),
    "program_twice": Case(("listed twice",), ("run", "twice.yaml"), file="twice.yaml"),
    "scenario_not_a_mapping": Case(
        ("not_a_mapping.yaml", "expected a mapping"), ("run", "not_a_mapping.yaml"), file="not_a_mapping.yaml"
    ),
    "zero_communities": Case(
        ("n_communities", "= 0", "out of range", "allowed 1 to"),
        ("run", BASELINE, "--set", "n_communities=0"),
        overrides={"n_communities": 0},
    ),
    "zero_months": Case(
        ("months", "= 0", "out of range", "allowed 1 to"),
        ("run", BASELINE, "--set", "months=0"),
        overrides={"months": 0},
    ),
    "inconsistent_shares": Case(
        ("share_under_35 + share_over_45", "exceeds 1"),
        ("run", BASELINE, "--set", "share_under_35=0.95", "--set", "share_over_45=0.1"),
        overrides={"share_under_35": 0.95, "share_over_45": 0.1},
    ),
    "missing_file": Case(
        ("no_such_scenario.yaml", "file not found"), ("run", "no_such_scenario.yaml"), file="no_such_scenario.yaml"
    ),
}
# CLI-only bad input.
CLI_ONLY = {
    "unsupported_out_suffix": (
        ("run", BASELINE, *FAST, "--out", "table.txt"),
        ("unsupported file type '.txt'", ".csv", ".parquet"),
    ),
    "out_folder_missing": (("run", BASELINE, *FAST, "--out", "nowhere/table.csv"), ("does not exist",)),
    "set_without_equals": (("run", BASELINE, "--set", "mentor_trained_share"), ("expected name=value",)),
    "compare_unknown_parameter": (("compare", "--seeds", "1", "--set", "n_comunities=10"), ("did you mean 'n_communities'",)),
}
# Also run as real processes: one of each kind (--set, scenario file, refused size, output path).
SUBPROCESS_CASES = ("unknown_parameter", "malformed_yaml", "zero_communities", "unsupported_out_suffix")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def cli_args(name: str) -> tuple[str, ...]:
    return CASES[name].cli if name in CASES else CLI_ONLY[name][0]


def cli_words(name: str) -> tuple[str, ...]:
    return CASES[name].words if name in CASES else CLI_ONLY[name][1]


@pytest.fixture(scope="module")
def processes(workdir):
    return run_cli_batch({name: cli_args(name) for name in SUBPROCESS_CASES}, cwd=workdir)


def assert_one_line_error(result, words):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("name", sorted(CASES))
def test_python_raises_input_error(name, workdir):
    case = CASES[name]
    with pytest.raises(InputError) as caught:
        if case.file:
            simulate(workdir / case.file, seed=0, overrides={"n_communities": 10, "months": 2})
        else:
            simulate(BASELINE, seed=0, overrides=case.overrides)
    message = str(caught.value)
    assert "\n" not in message
    for word in case.words:
        assert word in message, (word, message)


@pytest.mark.parametrize("name", sorted(CASES) + sorted(CLI_ONLY))
def test_cli_reports_one_line_and_exits_2(name, workdir):
    assert_one_line_error(invoke_cli(cli_args(name), cwd=workdir), cli_words(name))
    assert not (workdir / "table.txt").exists()


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_cli_process_reports_one_line_and_exits_2(name, processes):
    assert_one_line_error(processes[name], cli_words(name))


def test_python_bad_out_path_and_seed(tmp_path):
    with pytest.raises(InputError, match=r"unsupported file type '\.xlsx'"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()
    with pytest.raises(InputError, match="does not exist"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "nowhere" / "out.csv")
    for seed in (-1, 1.5, True, "3"):
        with pytest.raises(InputError, match="seed"):
            simulate(BASELINE, seed=seed, overrides={"n_communities": 10, "months": 1})


def test_parse_assignment():
    assert parse_assignment("n_communities=30") == ("n_communities", 30)
    assert parse_assignment("recruitment=false") == ("recruitment", False)
    assert parse_assignment("cgcmm_thresholds=[20, 40, 60, 80]") == ("cgcmm_thresholds", [20, 40, 60, 80])
    with pytest.raises(InputError, match="expected name=value"):
        parse_assignment("n_communities")


def test_list_parameter_checks():
    with pytest.raises(InputError, match="must be increasing"):
        load_scenario(BASELINE, {"cgcmm_thresholds": [60, 45, 30, 75]})
    with pytest.raises(InputError, match="list of 4 numbers"):
        load_scenario(BASELINE, {"cgcmm_thresholds": [30, 45]})


def test_good_input_still_runs(workdir):
    """The checks above are not refusing everything: a valid override file runs."""
    good = workdir / "good.yaml"
    good.write_text(
        "name: good\nprograms:\n  - {name: innovation_leap, start: 2024, end: 2024}\nparameters:\n  n_communities: 10\n"
    )
    table = simulate(good, seed=0, overrides={"months": 8})
    assert len(table) == 9
    assert table["programs_active"].iloc[-1] == "P3"


# --- limits that used to crash the model ---------------------------------------------------
@pytest.mark.parametrize("value", [35, 38, 40])
def test_min_age_from_35_is_refused_cleanly(value, workdir):
    """min_age may not reach 35: F09 counts cadres under 35, and under-35s are drawn from [min_age, 35)."""
    words = ("min_age", f"= {value}", "out of range", "allowed 16 to 34")
    with pytest.raises(InputError) as caught:
        simulate(BASELINE, seed=0, overrides={"min_age": value, "n_communities": 10, "months": 2})
    assert "\n" not in str(caught.value)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    assert_one_line_error(invoke_cli(("run", BASELINE, *FAST, "--set", f"min_age={value}"), cwd=workdir), words)


def test_min_age_consistency_rule_backs_up_the_range():
    """Values that bypass the range check (a base mapping) still meet the consistency rule."""
    with pytest.raises(InputError, match=r"min_age = 35 must be below 35"):
        Parameters(base={**Parameters(), "min_age": 35})


def test_highest_allowed_min_age_runs_and_keeps_everyone_at_least_that_old():
    model = build_model(load_scenario(BASELINE, {"min_age": 34, "n_communities": 10}), 0)
    assert (model.cadres.age[model.rows] >= 34).all()
    recruits = 0
    for _ in range(3):
        model.step()
        assert (model.cadres.age[model.rows] >= 34).all()  # recruits too
        recruits += model.flows["recruits"]
    assert recruits > 0  # recruits were really checked


@pytest.mark.parametrize("command", ["run", "national"])
def test_negative_seed_is_one_line(command, workdir):
    args = ("run", BASELINE, *FAST) if command == "run" else ("national", BASELINE, "--sample", "10")
    result = invoke_cli((*args, "--seed", "-1"), cwd=workdir)
    assert_one_line_error(result, ("seed = -1 must be a whole number from 0 to",))
    assert result.stderr.strip() == "error: seed = -1 must be a whole number from 0 to 9,223,372,036,854,775,807"


def test_python_negative_seed_is_refused_by_build_model():
    with pytest.raises(InputError, match=r"^seed = -1 must be a whole number from 0 to 9,223,372,036,854,775,807$"):
        build_model(load_scenario(BASELINE, {"n_communities": 10}), -1)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", float("nan"), True, 2**64])
def test_cadre_model_refuses_a_bad_seed_in_one_line(seed):
    with pytest.raises(InputError, match=r"^seed = .* must be a whole number from 0 to 9,223,372,036,854,775,807$"):
        CadreModel(seed=seed, n_communities=50, months=1)


def test_numpy_integers_are_accepted_as_seeds_and_sizes():
    model = CadreModel(seed=np.int64(10), n_communities=np.int64(50), months=np.int32(1))
    assert (model.seed, model.p.n_communities) == (10, 50) and type(model.seed) is int
    reference = CadreModel(seed=10, n_communities=50, months=1)
    assert model.cadres.age[model.rows].tolist() == reference.cadres.age[reference.rows].tolist()


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_proposal_adoption_extremes_are_refused_as_out_of_range(value, workdir):
    """0 and 1 have no logit (sim.outcomes): they are outside the allowed 0.01 to 0.99."""
    words = ("proposal_adoption_2023", "out of range", "allowed 0.01 to 0.99")
    with pytest.raises(InputError) as caught:
        simulate(BASELINE, seed=0, overrides={"proposal_adoption_2023": value, "n_communities": 10, "months": 2})
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    result = invoke_cli(("run", BASELINE, *FAST, "--set", f"proposal_adoption_2023={value}"), cwd=workdir)
    assert_one_line_error(result, words)


@pytest.mark.parametrize("value", [0.01, 0.99])
def test_allowed_proposal_adoption_extremes_run(value):
    table = simulate(BASELINE, seed=0, overrides={"proposal_adoption_2023": value, "n_communities": 10, "months": 2})
    assert len(table) == 3
    assert table["proposal_adoption_rate"].iloc[0] == pytest.approx(value)
    for column in ("proposal_adoption_rate", "resident_participation"):
        assert np.isfinite(table[column]).all(), column
    assert ((table["proposal_adoption_rate"] > 0) & (table["proposal_adoption_rate"] < 1)).all()


# --- every plausible value runs ----------------------------------------------------------
# Sensitivity designs (LHS, Sobol, Morris in sim.batch.design) sample inside each parameter's
# plausible `range`, so both ends of every range must give a model that starts and steps.
SIZE_PARAMETERS = {"n_communities", "months"}  # their ends are run sizes, exercised elsewhere


def range_ends():
    for name, entry in parameter_entries().items():
        if name in SIZE_PARAMETERS or entry.get("type", "float") not in ("float", "int"):
            continue
        for end in (0, 1):
            yield pytest.param(name, entry["range"][end], id=f"{name}-{('low', 'high')[end]}")


@pytest.mark.parametrize(("name", "value"), list(range_ends()))
def test_every_plausible_range_end_runs(name, value):
    for seed in (0, 1):
        model = build_model(load_scenario(BASELINE, {"n_communities": 50, name: value}), seed)  # 50: low end of its range
        model.step()
        assert len(model.rows) > 0
