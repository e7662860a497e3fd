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


# --- where a report goes, what it may replace, what it records and prints ----------------------
def test_only_the_references_parameters_write_into_the_reference_folder(tmp_path, monkeypatch):
    from sim.report import run

    monkeypatch.setattr(run, "reports_dir", lambda: tmp_path)
    fresh = {"replicates": 30, "workers": None, "output_dir": None}
    assert run.default_folder("scenario", fresh) == tmp_path / "scenario"  # nothing there yet
    (tmp_path / "scenario").mkdir()
    reference = {"replicates": 30, "workers": None, "output_dir": "/elsewhere/reports/scenario"}
    (tmp_path / "scenario" / "metrics.json").write_text(json.dumps({"report": {"parameters": reference}}), encoding="utf-8")
    assert run.default_folder("scenario", {**reference, "output_dir": None, "workers": 4}) == tmp_path / "scenario"
    other = run.default_folder("scenario", {**reference, "replicates": 20})
    assert other.parent == tmp_path and other.name.startswith("scenario-") and len(other.name) == len("scenario-") + 8
    assert run.default_folder("scenario", {**reference, "replicates": 20}) == other  # the same parameters, the same folder
    assert run.default_folder("scenario", {**reference, "replicates": 21}) != other
    # A parameter the notebook gained after the reference was made: the same while it keeps its default.
    declared = {"replicates": 10, "workers": None, "output_dir": None, "discount_rate": None}
    assert run.default_folder("scenario", {**reference, "discount_rate": None}, declared) == tmp_path / "scenario"
    assert run.default_folder("scenario", {**reference, "discount_rate": 0.03}, declared) != tmp_path / "scenario"


def test_a_report_replaces_only_the_files_an_earlier_report_wrote(tmp_path):
    from sim.report.run import clear_outputs

    notebook = Path("scenario.ipynb")
    out = tmp_path / "report"
    out.mkdir()
    for name in ("a.png", "scenario.ipynb", "metrics.json"):
        (out / name).write_text("x", encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps({"report": {"files": ["a.png", "scenario.ipynb"]}}), encoding="utf-8")
    clear_outputs(out, notebook)
    assert list(out.iterdir()) == []
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.png").write_text("keep", encoding="utf-8")
    with pytest.raises(InputError, match=r"holds files `sim report` did not write \(notes.png\)"):
        clear_outputs(mine, notebook)
    (mine / "metrics.json").write_text(json.dumps({"report": {"files": ["a.png"]}}), encoding="utf-8")
    with pytest.raises(InputError, match=r"notes\.png"):
        clear_outputs(mine, notebook)
    assert (mine / "notes.png").read_text(encoding="utf-8") == "keep"


def test_the_commit_is_recorded_before_anything_is_written_and_handed_to_the_kernel(tmp_path, monkeypatch):
    """A clean clone's report must not be stamped '+dirty' by its own output files."""
    from sim.report import run

    out = tmp_path / "out"

    def commit_before_writing() -> str:
        assert not out.exists(), "the commit must be read before the report writes anything"
        return "abc123"

    monkeypatch.setattr(run, "git_commit", commit_before_writing)
    body = (
        "from pathlib import Path\nfrom sim.provenance import git_commit\nPath(output_dir, 'commit.txt').write_text(git_commit())"
    )
    notebook = small_notebook(tmp_path / "commit.ipynb", body)
    result = run.run_report(str(notebook), {"x": 2}, out=out, kernel="python3")
    assert (out / "commit.txt").read_text(encoding="utf-8") == "abc123"  # what the kernel recorded
    assert json.loads(result.metrics.read_text(encoding="utf-8"))["provenance"]["git_commit"] == "abc123"


def test_a_failed_report_can_be_rerun_into_the_same_folder(tmp_path):
    notebook = small_notebook(tmp_path / "failing.ipynb", "raise ValueError('boom')")
    out = tmp_path / "out"
    assert sim("report", str(notebook), "--out", str(out)).returncode == 1
    assert "boom" in json.loads((out / "metrics.json").read_text(encoding="utf-8"))["report"]["failed"]
    again = sim("report", str(notebook), "--out", str(out))
    assert again.returncode == 1 and not error_lines(again)[0].startswith("error: --out")


def test_an_interrupted_report_can_be_rerun_into_the_same_folder(tmp_path):
    """SIGTERM (Slurm, `timeout`) in the middle of a notebook: exit 143, and the folder it began is still its own."""
    import signal
    import time

    notebook = small_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(60)")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim.cli", "report", str(notebook), "--out", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "slow.ipynb").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # the kernel is in the sleeping cell
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "interrupted" in json.loads((out / "metrics.json").read_text(encoding="utf-8"))["report"]["failed"]
    small_notebook(notebook, "z = 3")  # the same notebook, now quick
    again = sim("report", str(notebook), "--out", str(out))
    assert again.returncode == 0, again.stderr


def test_the_monitor_echoes_progress_lines_and_a_heartbeat(tmp_path):
    import io
    import time

    from sim.report.monitor import Monitor, cells_done

    stream = io.StringIO()
    executed = tmp_path / "x.ipynb"
    nb = new_notebook(cells=[new_code_cell("1"), new_code_cell("2"), new_markdown_cell("m")])
    nb.cells[0].metadata["papermill"] = {"status": "completed"}
    nbformat.write(nb, executed)
    assert cells_done(executed) == (1, 2) and cells_done(tmp_path / "missing.ipynb") is None
    with Monitor("demo", executed, every=0.6, stream=stream) as monitor:
        with monitor.path.open("a", encoding="utf-8") as progress:
            progress.write("demo: 3/10 runs done")  # half a line: not printed until it is complete
            progress.flush()
            time.sleep(0.7)
            progress.write(", ETA 7 s\n")
        time.sleep(1.5)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("demo: running the notebook")
    assert "  demo: 3/10 runs done, ETA 7 s" in lines
    beats = [line for line in lines if "s elapsed, cell 1 of 2 done" in line]
    assert beats, lines  # nothing new for 0.6 s: a heartbeat
    assert not monitor.path.exists()  # the progress file is removed afterwards


@pytest.mark.parametrize(
    ("notebook", "name", "value", "words"),
    [
        ("compare_programs", "replicates", "-5", "parameter 'replicates' = -5 must be a whole number from 1 to 10,000"),
        ("compare_programs", "replicates", "1e23", "parameter 'replicates' = '1e23' must be a number"),
        ("compare_programs", "n_communities", "0", "parameter 'n_communities' = 0 is out of range"),
        ("compare_programs", "discount_rate", "5", "discount_rate = 5 must be an annual rate"),
        ("compare_programs", "evaluation_mode", "best", "evaluation mode"),
        ("scenario", "seed", "-1", "parameter 'seed' = -1 must be a whole number from 0"),
        ("reproduce_article", "seeds", "0", "parameter 'seeds' = 0 must be a whole number from 1"),
    ],
)
def test_report_parameters_out_of_range_are_refused_before_the_notebook_runs(tmp_path, notebook, name, value, words):
    from conftest import invoke_cli

    result = invoke_cli(["report", notebook, "-p", name, value, "--out", tmp_path / "never"])
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert not (tmp_path / "never").exists()
