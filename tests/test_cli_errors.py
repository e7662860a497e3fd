"""The failures probing found, each now one line: exit 2 for bad input, 1 for a runtime failure, no traceback,
no partial file; and NaN can no longer reach an output with exit 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import invoke_cli, scenario_path
from sim import simulate
from sim.calibration import CONFIG_FILE, load_config
from sim.errors import InputError, RunError
from sim.model import CadreModel

BASELINE = scenario_path("baseline")
FAST = ["--set", "n_communities=10", "--set", "months=2"]


def error_line(result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("post_domains_admin=[0,0,0,0,0]", ("post_domains_admin", "at least one must be above 0")),
        ("post_domains_grid=[.inf,1,1,1,1]", ("post_domains_grid'[0] = inf", "finite number from 0 to 1")),
        ("cgcmm_thresholds=[.nan,45,60,75]", ("cgcmm_thresholds'[0] = nan", "from 0 to 100")),
        ("stage_focus_foundation=[-1,1,1,1,1]", ("stage_focus_foundation'[0] = -1",)),
        ("funding_share=.nan", ("funding_share", "not a finite number")),
        ("selection_method=observer_period # comment", ("comment", "quote")),
        ("funding_share=!!binary eA==", ("funding_share", "bytes")),
    ],
)
def test_every_element_and_value_is_checked(setting: str, words: tuple[str, ...]) -> None:
    line = error_line(invoke_cli(["run", BASELINE, *FAST, "--set", setting]), 2)
    assert all(w in line for w in words), line


def test_non_finite_outputs_fail_the_run_naming_outputs_and_inputs(monkeypatch) -> None:
    results = CadreModel.results

    def with_nan(model):
        table = results(model)
        table.loc[table["month"] >= 1, "service_satisfaction"] = np.nan
        return table

    monkeypatch.setattr(CadreModel, "results", with_nan)
    with pytest.raises(
        RunError, match=r"outputs service_satisfaction are not finite .* from month 1; likely inputs: .*funding_share=0.02"
    ):
        simulate(BASELINE, seed=0, overrides={"n_communities": 10, "months": 2, "funding_share": 0.02})
    line = error_line(invoke_cli(["run", BASELINE, *FAST]), 1)
    assert "service_satisfaction" in line and "n_communities=10" in line


def test_program_window_start_zero_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zero.yaml"
    path.write_text("name: zero\nprograms:\n  - {name: innovation_leap, start: 0}\n", encoding="utf-8")
    line = error_line(invoke_cli(["run", path, *FAST]), 2)
    assert "innovation_leap" in line and "start = 0 is not a year" in line


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ("is empty", "name:")),
        (b"name: x\ndescription: \xe9t\xe9\n", ("not UTF-8", "offset")),
        (b"a: &a [*a, *a]\n" + b"b: " + b"[" * 3000 + b"]" * 3000 + b"\n", ("nested",)),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, content: bytes, words: tuple[str, ...]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    line = error_line(invoke_cli(["run", path, *FAST]), 2)
    assert str(path) in line and all(w in line for w in words), line


def test_outputs_are_checked_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "out.csv.provenance.json").mkdir()  # the provenance could not be written next to it
    for out, words in [
        (tmp_path / "out.csv", ("is a folder",)),
        ("/proc/x.csv", ("cannot write in /proc",)),
        (tmp_path / ("x" * 300 + ".csv"), ("longer than this file system allows",)),
        (tmp_path / "no" / "x.csv", ("does not exist",)),
    ]:
        line = error_line(invoke_cli(["run", BASELINE, *FAST, "--out", out]), 2)
        assert all(w in line for w in words), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv.provenance.json"]
    long_name = tmp_path / ("y" * 300 + ".yaml")
    assert "cannot read it" in error_line(invoke_cli(["run", long_name]), 2)


def test_national_sample_is_named_as_the_option() -> None:
    line = error_line(invoke_cli(["national", BASELINE, "--sample", str(10**9)]), 2)
    assert "--sample" in line and "1000000000" in line and "200,000" in line and "n_communities" not in line


def test_long_values_are_cut_in_messages(tmp_path: Path) -> None:
    line = error_line(invoke_cli(["run", BASELINE, "--set", "selection_method=" + "x" * 100_000]), 2)
    assert len(line) <= 410


def test_calibration_config_gets_the_same_checks(tmp_path: Path) -> None:
    raw = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    assert load_config().tolerance == raw["tolerance"]
    for change, words in [
        ({"tolerence": 0.1}, ("unknown field 'tolerence'", "did you mean 'tolerance'")),
        ({"tolerance": float("nan")}, ("tolerance = nan", "finite number")),
        ({"tolerance": 1.5}, ("tolerance = 1.5", "finite number from 0 to 1")),
        ({"seeds": [0, -1]}, ("seeds[1] = -1", "non-negative whole number")),
        ({"dynamic": {**raw["dynamic"], "parameters": ["training_rate_bse"]}}, ("did you mean 'training_rate_base'",)),
        ({"targets": {**raw["targets"], "F19": {**raw["targets"]["F19"], "fitt": True}}}, ("targets.F19.fitt",)),
        ({"index": {**raw["index"], "partner_adoption_logit": "F99"}}, ("index.partner_adoption_logit = 'F99'",)),
    ]:
        path = tmp_path / "calibration.yaml"
        path.write_text(yaml.safe_dump({**raw, **change}), encoding="utf-8")
        with pytest.raises(InputError) as caught:
            load_config(path)
        assert all(w in str(caught.value) for w in words), str(caught.value)
