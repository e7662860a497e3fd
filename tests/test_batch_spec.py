"""Experiment files: validation messages, designs, run ids and shared replicate seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.batch import load_spec, plan_runs, replicate_seeds
from sim.batch.spec import changes
from sim.errors import InputError
from sim.parameters import catalogue

ROOT = Path(__file__).resolve().parents[1]
TINY = {"n_communities": 50, "months": 6}  # below ~30 communities the initial posting fails for ~2% of seeds


def write_spec(folder: Path, **fields) -> Path:
    spec = {"name": "tiny", "scenarios": ["baseline"], "parameters": TINY, "replicates": 2, "seed": 1, **fields}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def error_of(folder: Path, **fields) -> str:
    with pytest.raises(InputError) as caught:
        load_spec(write_spec(folder, **fields))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(folder / "spec.yaml"))  # names the file
    return message


def test_shipped_experiments_load() -> None:
    compare = load_spec(ROOT / "experiments" / "compare_programs.yaml")
    assert list(compare.scenarios) == ["baseline", "talent_foundation", "digital_foundation", "innovation_leap", "all_programs"]
    assert len(plan_runs(compare)) == 150
    grid = load_spec(ROOT / "experiments" / "levers_grid.yaml")
    assert grid.design.kind == "grid" and len(grid.design.points) == 16
    assert grid.outputs.months == "end"


def test_unknown_field(tmp_path: Path) -> None:
    message = error_of(tmp_path, replicate=3)
    assert "unknown field 'replicate'" in message and "did you mean 'replicates'" in message and "allowed:" in message


def test_unknown_parameter_in_design(tmp_path: Path) -> None:
    message = error_of(tmp_path, design={"kind": "grid", "parameters": {"funding_shar": [0.0, 0.01]}})
    assert "design.parameters.funding_shar" in message and "unknown parameter 'funding_shar'" in message
    assert "did you mean 'funding_share'" in message


def test_bad_design_kind(tmp_path: Path) -> None:
    message = error_of(tmp_path, design={"kind": "latin", "parameters": ["funding_share"]})
    assert "design.kind = 'latin'" in message and "list, grid, lhs, sobol, morris" in message


def test_replicates_zero(tmp_path: Path) -> None:
    message = error_of(tmp_path, replicates=0)
    assert "replicates = 0" in message and "at least 1" in message


def test_missing_scenario_file(tmp_path: Path) -> None:
    message = error_of(tmp_path, scenarios=["baseline", "scenarios/nope.yaml"])
    assert "scenarios[1] = 'scenarios/nope.yaml'" in message and "not found" in message and str(tmp_path / "scenarios") in message
    message = error_of(tmp_path, scenarios=["baselin"])
    assert "no scenario of that name" in message and "did you mean 'baseline'" in message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"design": {"kind": "grid", "parameters": {"funding_share": [0.0, 5.0]}}}, "out of range"),
        ({"design": {"kind": "sobol", "parameters": ["funding_share"], "samples": 6}}, "power of 2"),
        ({"design": {"kind": "lhs", "parameters": ["capability_bank"], "samples": 4}}, "only vary numeric or choice parameters"),
        (
            {"design": {"kind": "lhs", "parameters": ["funding_share"], "samples": 4, "levels": 3}},
            "unknown field 'design.levels'",
        ),
        ({"outputs": {"months": [0, 12]}}, "from 0 to 6"),
        ({"outputs": {"columns": ["idle_rat"]}}, "did you mean 'idle_rate'"),
        ({"outputs": {"months": "last"}}, "'all', 'end' or a list"),
        ({"baseline": "nope"}, "baseline = 'nope' must be one of the scenarios"),
        ({"parameters": {"n_communities": 0}}, "n_communities"),
        ({"variants": {"a": {}}}, "not both"),
        ({"seed": -1}, "seed = -1"),
    ],
)
def test_other_errors(tmp_path: Path, fields: dict, expected: str) -> None:
    assert expected in error_of(tmp_path, **fields)


def test_variants_of_a_base(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "variants",
                "base": "baseline",
                "parameters": TINY,
                "variants": {
                    "status_quo": {},
                    "funded": {"parameters": {"funding_share": 0.03}, "programs": ["innovation_leap"]},
                },
            },
            sort_keys=False,
        )
    )
    spec = load_spec(path)
    assert spec.baseline == "status_quo"
    funded = spec.scenarios["funded"]
    assert funded.parameters.funding_share == 0.03 and funded.parameters.n_communities == 50
    assert [p.key for p in funded.programs] == ["innovation_leap"] and spec.scenarios["status_quo"].programs == ()


def test_sampled_designs_use_catalogue_ranges(tmp_path: Path) -> None:
    low, high = catalogue()["funding_share"].range
    lhs = load_spec(write_spec(tmp_path, design={"kind": "lhs", "parameters": ["funding_share", "cluster_size"], "samples": 8}))
    values = [p["funding_share"] for p in lhs.design.points]
    assert len(values) == 8 and all(low <= v <= high for v in values)
    assert sorted(int(v * 8 / high) for v in values) == list(range(8))  # one sample per stratum
    assert all(isinstance(p["cluster_size"], int) for p in lhs.design.points)
    sobol = load_spec(
        write_spec(tmp_path, design={"kind": "sobol", "parameters": ["funding_share", "mentor_trained_share"], "samples": 4})
    )
    assert len(sobol.design.points) == 4 * (2 * 2 + 2)
    morris = load_spec(
        write_spec(
            tmp_path, design={"kind": "morris", "parameters": {"funding_share": {"range": [0.0, 0.03]}}, "trajectories": 3}
        )
    )
    assert len(morris.design.points) == 3 * 2 and max(p["funding_share"] for p in morris.design.points) <= 0.03


def test_seeds_shared_across_scenarios_and_design_points(tmp_path: Path) -> None:
    spec = load_spec(
        write_spec(
            tmp_path,
            scenarios=["baseline", "all_programs"],
            replicates=3,
            design={"kind": "grid", "parameters": {"funding_share": [0.0, 0.01]}},
        )
    )
    tasks = plan_runs(spec)
    assert len(tasks) == 2 * 2 * 3 and len({t.run_id for t in tasks}) == len(tasks)
    seeds = replicate_seeds(1, 3)
    assert all(t.seed == seeds[t.replicate] for t in tasks)
    assert seeds == [int(s.generate_state(1, np.uint64)[0] >> np.uint64(1)) for s in np.random.SeedSequence(1).spawn(3)]
    assert tasks[0].run_id == "baseline-0000-r000"
    assert replicate_seeds(1, 5)[:3] == seeds  # adding replicates keeps the earlier seeds


def test_changes_names_field_paths() -> None:
    old = {"replicates": 30, "design": {"points": [{"a": 1}]}, "seed": 1}
    new = {"replicates": 40, "design": {"points": [{"a": 2}]}, "name": "x"}
    assert changes(old, new) == ["replicates: 30 -> 40", "design.points[0].a: 1 -> 2", "seed: removed", 'name: added ("x")']


def test_a_choice_parameter_can_be_a_factor_of_a_sampled_design():
    """Sampled as u in [0, 1]; choice floor(u x k) of k, every choice equally likely (sim.batch.design.choice_of)."""
    from sim.batch.design import build_design, choice_of
    from sim.parameters import catalogue

    design = build_design({"kind": "lhs", "parameters": ["capacity_structure", "training_gain"], "samples": 400, "seed": 3},
                          "test", 1)  # fmt: skip
    counts = pd.Series([p["capacity_structure"] for p in design.points]).value_counts()
    assert set(counts.index) == set(catalogue()["capacity_structure"].choices) and counts.min() == counts.max() == 100
    assert design.bounds["capacity_structure"] == (0.0, 1.0)
    spec = catalogue()["training_evidence"]
    assert [choice_of(spec, u) for u in (0.0, 0.49, 0.5, 1.0)] == ["system", "system", "training", "training"]


@pytest.mark.parametrize("name", ["trail\n", "tab\there", "a\x00b"])
def test_names_are_matched_whole_with_no_control_characters(tmp_path: Path, name: str) -> None:
    assert "name" in error_of(tmp_path, name=name)  # a trailing newline once made results/trail\n
    variants = {"base": "baseline", "variants": {name: {}}}
    spec = {"name": "tiny", "parameters": TINY, "replicates": 2, "seed": 1, **variants}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(InputError, match="letters, digits"):
        load_spec(tmp_path / "spec.yaml")
