"""`sim report` lets nobody in and deletes nothing it did not write.

- Injection: parameter values reach papermill only as plain data, so a `!!binary` tag or a
  quote-breaking string stays text inside the notebook and never runs as code.
- Foreign files: a report writes only into a new or empty folder or one holding an earlier
  report of its own (the files its metrics.json lists); it never deletes or overwrites anything else.
- Names: `sim report ../../x` cannot reach outside notebooks/.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import ROOT
from sim.errors import InputError
from sim.report.run import clear_outputs, find_notebook, gather_parameters, parse_value, run_report


def sim(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def echo_notebook(path: Path) -> Path:
    """A notebook with text parameters a, b, c that it writes, unchanged, to output_dir/echo.json."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = new_code_cell('a = "plain"\nb = "plain"\nc = "plain"\noutput_dir = None')
    parameters.metadata["tags"] = ["parameters"]
    body = "import json, pathlib\npathlib.Path(output_dir, 'echo.json').write_text(json.dumps([a, b, c]), encoding='utf-8')"
    nb.cells = [parameters, new_code_cell(body)]
    nbformat.write(nb, path)
    return path


def test_hostile_text_values_stay_text_and_never_run(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    payload = f'x" if __import__("os").system("touch {pwned}") else "'
    values = ["!!binary " + base64.b64encode(payload.encode()).decode(), payload, "a #b"]
    args = [arg for name, value in zip("abc", values, strict=True) for arg in ("-p", name, value)]
    out = tmp_path / "out"
    result = sim("report", echo_notebook(tmp_path / "echo.ipynb"), *args, "--out", out)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "echo.json").read_text(encoding="utf-8")) == values  # exactly the text typed, ' #' included
    assert not pwned.exists()


def test_tags_in_a_parameter_file_are_refused(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    payload = base64.b64encode(f'x" if __import__("os").system("touch {pwned}") else "'.encode()).decode()
    for text, words in [
        (f"label: !!binary {payload}\n", ("label", "bytes", "only text, numbers")),
        ("label: 2024-01-01\n", ("label", "date", "quote")),
        ("label: !!set {a: null}\n", ("label", "set")),
        ("label: &a [*a]\n", ("label", "nested more than")),
        ("label: .nan\n", ("label", "finite")),
    ]:
        params = tmp_path / "params.yaml"
        params.write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            gather_parameters(params)
        assert all(word in str(caught.value) for word in words), (words, str(caught.value))
    params.write_text(f"label: !!binary {payload}\n", encoding="utf-8")
    result = sim("report", echo_notebook(tmp_path / "echo.ipynb"), "-f", params, "--out", tmp_path / "never")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert not pwned.exists() and not (tmp_path / "never").exists()


def test_p_values_read_only_plain_scalars_as_yaml() -> None:
    assert parse_value("30") == 30 and parse_value("-1.5") == -1.5 and parse_value("false") is False and parse_value("~") is None
    for text in ("!!binary eA==", "[1, 2]", "{a: 1}", "30 # thirty", "!!python/object:os.system x", "'quoted'"):
        assert parse_value(text) == text
    for text in (".nan", ".inf", "-.inf"):
        with pytest.raises(InputError, match="finite"):
            parse_value(text)


def test_report_never_deletes_or_overwrites_foreign_files(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "seed_figures.csv").write_text("precious\n", encoding="utf-8")
    result = sim("report", echo_notebook(tmp_path / "echo.ipynb"), "--out", folder)
    assert result.returncode == 2 and "seed_figures.csv" in result.stderr and "did not write" in result.stderr
    assert (folder / "seed_figures.csv").read_text(encoding="utf-8") == "precious\n"
    assert sorted(p.name for p in folder.iterdir()) == ["seed_figures.csv"]
    for shipped in ("notebooks", "data"):
        before = sorted(p.name for p in (ROOT / shipped).iterdir())
        with pytest.raises(InputError, match="did not write"):
            run_report("scenario", out=ROOT / shipped)
        assert sorted(p.name for p in (ROOT / shipped).iterdir()) == before


def test_report_replaces_only_its_own_earlier_files(tmp_path: Path) -> None:
    notebook = echo_notebook(tmp_path / "echo.ipynb")
    out = tmp_path / "out"
    run_report(str(notebook), {"a": "one"}, out)
    recorded = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["report"]["files"]
    assert {"echo.ipynb", "index.html", "echo.json"} <= set(recorded)
    (out / "echo.json").write_text("stale", encoding="utf-8")
    run_report(str(notebook), {"a": "two"}, out)  # its own folder: the earlier files are replaced
    assert json.loads((out / "echo.json").read_text(encoding="utf-8"))[0] == "two"
    (out / "notes.md").write_text("mine", encoding="utf-8")  # someone adds a file after the report
    with pytest.raises(InputError, match=r"did not write \(notes\.md\)"):
        run_report(str(notebook), {"a": "three"}, out)
    assert (out / "notes.md").read_text(encoding="utf-8") == "mine"
    assert json.loads((out / "echo.json").read_text(encoding="utf-8"))[0] == "two"


def test_clear_outputs_removes_only_what_the_earlier_report_listed(tmp_path: Path) -> None:
    out = tmp_path / "earlier"
    out.mkdir()
    for name in ("a.png", "index.html", "n.ipynb"):
        (out / name).write_text("x", encoding="utf-8")
    metrics = {"report": {"notebook": "notebooks/n.ipynb", "files": ["a.png", "index.html", "n.ipynb"]}}
    (out / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (out / "b.csv").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match=r"did not write \(b\.csv\)"):
        clear_outputs(out, Path("n.ipynb"))
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.csv", "index.html", "metrics.json", "n.ipynb"]
    (out / "b.csv").unlink()
    clear_outputs(out, Path("n.ipynb"))
    assert not list(out.iterdir())
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="is a file"):
        clear_outputs(tmp_path / "file", Path("n.ipynb"))


def test_notebook_names_stay_inside_notebooks(tmp_path: Path) -> None:
    for name in ("../../x", "../notebooks/scenario", "/etc/passwd", ".hidden", "a/b"):
        with pytest.raises(InputError, match="notebook name"):
            find_notebook(name)
    (tmp_path / "empty.ipynb").write_text("", encoding="utf-8")
    (tmp_path / "list.ipynb").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "latin1.ipynb").write_bytes(b'{"cells": "\xe9"}')
    for bad in ("empty.ipynb", "list.ipynb"):
        with pytest.raises(InputError, match="not a Jupyter notebook"):
            find_notebook(str(tmp_path / bad))
    with pytest.raises(InputError, match="not UTF-8"):
        find_notebook(str(tmp_path / "latin1.ipynb"))


def test_missing_scenario_is_refused_up_front(tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(InputError, match=r"nope\.yaml.*file not found"):
        run_report("scenario", {"scenario": "data/scenarios/nope.yaml"}, out)
    assert not out.exists()


def test_a_planted_metrics_json_is_refused_and_deletes_nothing(tmp_path: Path) -> None:
    """A metrics.json listing '../victim' or an absolute path was not written by `sim report`: refused, nothing goes;
    a report's own record removes only the files inside the folder, by their own names (a link, not its target)."""
    import json

    from sim.report.run import clear_outputs

    victim = tmp_path / "victim"
    victim.write_text("keep me", encoding="utf-8")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("keep me too", encoding="utf-8")
    out = tmp_path / "o"
    out.mkdir()
    (out / "index.html").write_text("old report", encoding="utf-8")
    (out / "link.txt").symlink_to(outside)
    for files in (["../victim", "index.html", "link.txt"], [str(outside), "index.html", "link.txt"], ["a\nb"], "index.html"):
        record = {"report": {"notebook": "notebooks/scenario.ipynb", "started": "2026-12-08", "files": files}}
        (out / "metrics.json").write_text(json.dumps(record), encoding="utf-8")
        with pytest.raises(InputError, match=r"metrics.json was not written by `sim report`"):
            clear_outputs(out, Path("scenario.ipynb"))
        assert (out / "index.html").exists() and (out / "link.txt").is_symlink()
    assert victim.read_text(encoding="utf-8") == "keep me" and outside.read_text(encoding="utf-8") == "keep me too"
    record = {"report": {"notebook": "notebooks/scenario.ipynb", "started": "2026-12-08", "files": ["index.html", "link.txt"]}}
    (out / "metrics.json").write_text(json.dumps(record), encoding="utf-8")
    clear_outputs(out, Path("scenario.ipynb"))
    assert not (out / "index.html").exists() and not (out / "link.txt").exists()  # the link went, not its target
    assert outside.read_text(encoding="utf-8") == "keep me too"
