"""`sim report`: papermill runs a notebook into an output folder with index.html, PNG, CSV and
metrics.json (with provenance); a failing cell gives one line naming it, exit 1 and the partial
notebook; unknown parameters exit 2 before anything runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import ROOT
from sim.errors import InputError
from sim.report.run import check_parameters, declared_parameters, gather_parameters, parse_value


def sim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def small_notebook(path: Path, body: str) -> Path:
    """A notebook with a tagged parameters cell (x, output_dir) followed by `body`."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = new_code_cell("x = 1  # a number\noutput_dir = None  # set by sim report")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# A small test report"), parameters, new_code_cell("y = 2 * x"), new_code_cell(body)]
    nbformat.write(nb, path)
    return path


def test_scenario_report_writes_html_metrics_figures_and_tables(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("replicates: 2\nn_communities: 50\ntracked_replicates: 1\nworkers: 1\n", encoding="utf-8")
    out = tmp_path / "report"
    scenario = "data/scenarios/innovation_leap.yaml"
    result = sim("report", "scenario", "-f", str(params), "-p", "scenario", scenario, "--out", str(out))
    assert result.returncode == 0, result.stderr
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "One scenario, many replicates" in html and "<img" in html
    assert "track_cadres" not in html  # code is hidden
    assert list(out.glob("*.png")) and list(out.glob("*.csv"))
    executed = nbformat.read(out / "scenario.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters["scenario"] == "data/scenarios/innovation_leap.yaml"
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["scenario"] == "innovation_leap" and metrics["replicates"] == 2 and metrics["seed"] == 20230601
    assert {"git_commit", "package_version", "python", "mesa", "numpy", "statsmodels", "papermill"} <= set(metrics["provenance"])
    parameters = metrics["report"]["parameters"]
    assert parameters["replicates"] == 2 and parameters["n_communities"] == 50  # from -f
    assert parameters["scenario"] == "data/scenarios/innovation_leap.yaml"  # from -p
    assert parameters["seed"] == 20230601  # the notebook's default, recorded too
    assert "index.html" in metrics["report"]["files"]


def test_failing_cell_gives_one_line_exit_1_and_keeps_the_partial_notebook(tmp_path):
    notebook = small_notebook(tmp_path / "failing.ipynb", 'raise ValueError(f"boom {y}")')
    out = tmp_path / "out"
    result = sim("report", str(notebook), "-p", "x", "7", "--out", str(out))
    assert result.returncode == 1
    (line,) = error_lines(result)
    assert "failing.ipynb" in line and "ValueError: boom 14" in line
    assert 'the cell `raise ValueError(f"boom {y}")` (In [4])' in line  # by its code; In [3] is the injected parameters
    assert str(out / "failing.ipynb") in line
    partial = nbformat.read(out / "failing.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for cell in partial.cells for o in cell.get("outputs", []))
    assert not (out / "index.html").exists()


def test_unknown_parameter_exits_2_with_one_line(tmp_path):
    result = sim("report", "compare_programs", "-p", "replicate", "3", "--out", str(tmp_path / "never"))
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert "unknown parameter 'replicate'" in line and "did you mean 'replicates'" in line
    assert not (tmp_path / "never").exists()


def test_unknown_notebook_and_malformed_parameters_exit_2(tmp_path):
    assert "no notebook 'compare'" in error_lines(sim("report", "compare"))[0]
    result = sim("report", "scenario", "-p", "replicates")
    assert result.returncode == 2 and "-p needs a NAME and a VALUE" in error_lines(result)[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n", encoding="utf-8")
    result = sim("report", "scenario", "-f", str(bad))
    assert result.returncode == 2 and "must be a mapping" in error_lines(result)[0]


def test_parameter_values_are_yaml_scalars(tmp_path):
    assert parse_value("30") == 30 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("null") is None and parse_value("data/scenarios/baseline.yaml") == "data/scenarios/baseline.yaml"
    assert parse_value("a: b: c") == "a: b: c"  # not valid YAML: kept as text
    params = tmp_path / "p.yaml"
    params.write_text("replicates: 4\nscenario: data/scenarios/baseline.yaml\n", encoding="utf-8")
    assert gather_parameters(params, [("replicates", "6")]) == {"replicates": 6, "scenario": "data/scenarios/baseline.yaml"}


def test_every_notebook_declares_its_parameters_and_output_dir():
    for name in ("compare_programs", "scenario", "policy_levers"):
        notebook = ROOT / "notebooks" / f"{name}.ipynb"
        declared = declared_parameters(notebook)
        assert {"replicates", "n_communities", "workers", "output_dir"} <= set(declared), name
        assert declared["output_dir"] is None and declared["replicates"] <= 10, name  # small defaults for nbval
        with pytest.raises(InputError, match="set by `sim report`"):
            check_parameters(notebook, {"output_dir": "x"}, declared)
        nb = nbformat.read(notebook, as_version=4)
        assert nb.metadata.kernelspec.name == "cadre-sim"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), f"{name}: commit it executed (make notebooks)"
        assert "parameters" in code[0].metadata.get("tags", [])
