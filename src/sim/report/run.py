"""`sim report NAME`: execute notebooks/NAME.ipynb with papermill into reports/<name>/.

The committed reports in reports/<name>/ are references (`sim reproduce` compares with them),
so only a run with the same parameters as the reference writes there by default; a run with
other parameters goes to reports/<name>-<hash of its parameters>/ (not tracked by git), or to
`--out`. The commit is recorded before anything is written, so a report made from a clean
checkout is not stamped '+dirty' by its own files. While the notebook runs, its batches'
progress (done/total, ETA) and a line at least every 10 seconds are printed to stderr.

The output folder gets the executed notebook (NAME.ipynb), index.html (nbconvert's
HTMLExporter with the code hidden), the figures (PNG) and tables (CSV) the notebook saves
into its `output_dir` parameter, and metrics.json: the notebook's headline numbers plus the
run's provenance (notebook, parameters, seed, package versions, git commit, timings).

Parameters: `-f file.yaml` (a mapping) and then `-p name value` pairs, each value a plain
YAML scalar (a number, true/false or null) or else the text exactly as given. Only plain data
is accepted (text, finite numbers, booleans, null, lists and mappings of them): papermill
writes the values into the notebook as code, so nothing else may reach it. Names the notebook
does not declare (`papermill.inspect_notebook`), values of another kind than the declared
default, and scenario or experiment files that do not load are refused up front (InputError:
exit 2). A failing cell raises ReportFailed with one line naming the cell; the partial
notebook is kept (exit 1).

Language: every notebook has a `lang` parameter ("en" or "zh"; `sim report NAME --lang zh`).
In Chinese, each markdown cell is replaced by the Chinese text kept in its metadata (`zh`)
before the notebook runs, and the notebook sets its labels, tables and figures in Chinese
(`sim.lang`, `sim.fonts`). A Chinese report's reference folder is reports/<name>_zh/.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml

from sim.checks import MAX_SEED, clip, is_number, plain_data, shown, whole_number
from sim.errors import InputError, Terminated, closest
from sim.files import read_text, read_yaml
from sim.provenance import COMMIT_VARIABLE, git_commit, provenance
from sim.report.monitor import PROGRESS_VARIABLE, Monitor
from sim.resources import display_path, folder, reports_dir

NOTEBOOK_DIR = folder("notebooks")
KERNEL = "cadre-sim"  # registered by `make setup` (ipykernel install --sys-prefix)
SET_BY_REPORT = "output_dir"  # the notebook parameter `sim report` fills in with the output folder
NOT_AFFECTING = ("workers",)  # parameters that do not change a report's numbers (any executor gives the same)
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")  # a notebook name in notebooks/ (no path, no '..')
VERSIONED = ("statsmodels", "matplotlib", "papermill", "nbconvert", "ipykernel", "scipy", "pyarrow", "dask")


class ReportFailed(RuntimeError):
    """The notebook did not run to the end (a cell raised, or the kernel died)."""


@dataclass
class ReportResult:
    """What `run_report` wrote."""

    name: str
    out: Path
    notebook: Path
    html: Path
    metrics: Path
    seconds: float
    files: list[Path] = field(default_factory=list)


def available() -> list[str]:
    return sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))


def find_notebook(name: str) -> Path:
    """notebooks/NAME.ipynb, or a path to a notebook (NAME.ipynb); checked to be a readable notebook."""
    path = Path(name)
    if path.suffix != ".ipynb":
        if not NAME.fullmatch(name):
            raise InputError(f"{shown(name)}: a notebook name is letters, digits, '_' and '-' (or give a path ending in .ipynb)")
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        if not path.is_file():
            names = available()
            raise InputError(f"no notebook '{name}' in {NOTEBOOK_DIR}{closest(name, set(names))}; available: {', '.join(names)}")
    if not path.is_file():
        raise InputError(f"{name}: notebook not found")
    check_notebook(path)
    return path.resolve()


def check_notebook(path: Path) -> None:
    """Refuse a file that is not a Jupyter notebook (empty, not JSON, not nbformat) with one line."""
    import nbformat

    source = read_text(path, "notebook")
    try:
        nbformat.reads(source, as_version=4)
    except Exception as error:  # nbformat raises NotJSONError, ValidationError, KeyError, ... on bad input
        raise InputError(f"{path}: not a Jupyter notebook ({clip(type(error).__name__ + ': ' + str(error), 120)})") from None


def parse_value(text: str, name: str = "value") -> Any:
    """A `-p` value: a plain YAML number, true/false or null ('30' -> 30, 'true' -> True), else the text as given.

    Only those scalars are read as YAML: tags such as `!!binary`, flow lists and maps, and
    ' #' comments never change a value (text stays exactly what was typed).
    """
    tag = yaml.SafeLoader("").resolve(yaml.ScalarNode, text, (True, False))
    if tag.rsplit(":", 1)[-1] in ("int", "float", "bool", "null"):
        return plain_data(yaml.safe_load(text), f"-p {name}", "")
    return text


def gather_parameters(params_file: Path | str | None = None, pairs: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    """Parameters from a YAML file, then `-p` pairs (which win); only plain data (sim.checks.plain_data)."""
    parameters: dict[str, Any] = {}
    if params_file is not None:
        loaded = read_yaml(params_file, empty={})
        if not isinstance(loaded, dict):
            raise InputError(f"{params_file}: a parameter file must be a mapping of name: value")
        parameters.update(loaded)
    for name, value in pairs:
        parameters[name] = parse_value(value, name)
    return plain_data(parameters, str(params_file or "-p"), "")


def declared_parameters(notebook: Path) -> dict[str, Any]:
    """The notebook's parameters and their default values (papermill.inspect_notebook)."""
    import papermill

    declared = papermill.inspect_notebook(str(notebook))
    defaults = {}
    for name, info in declared.items():
        try:
            defaults[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            defaults[name] = info["default"]
    return defaults


def check_parameters(notebook: Path, parameters: Mapping[str, Any], declared: Mapping[str, Any]) -> None:
    """Refuse names the notebook does not declare, the folder parameter, and values of another kind than the default."""
    for name, value in parameters.items():
        if name == SET_BY_REPORT and name in declared:
            raise InputError(f"parameter '{name}' is set by `sim report`; choose the folder with --out")
        if name not in declared:
            raise InputError(
                f"unknown parameter '{name}' for {notebook.name}{closest(name, set(declared))}; "
                f"its parameters: {', '.join(n for n in declared if n != SET_BY_REPORT)}"
            )
        _check_kind(name, value, declared[name])


def _check_kind(name: str, value: Any, default: Any) -> None:
    """A value of the default's kind: numbers stay numbers (or null), text stays text; a None default takes anything."""
    if default is None or value is None:
        return
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int | float):
        ok, kind = is_number(value), "a number (or null)"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "text"
    else:
        return
    if not ok:
        raise InputError(f"parameter '{name}' = {shown(value)} must be {kind} (its default is {shown(default)})")


# Report parameters that are counts, seeds or rates, with what each notebook accepts (the same name means the
# same thing in every notebook); n_communities takes its range from data/parameters.yaml.
WHOLE_NUMBERS = {
    "replicates": (1, 10_000), "tracked_replicates": (0, 10_000), "seeds": (1, 1_000), "validation_seeds": (1, 1_000),
    "sensitivity_seeds": (1, 1_000), "draws": (1, 10_000), "seed": (0, MAX_SEED), "first_seed": (0, MAX_SEED),
    "workers": (1, 1_024), "exposure_years": (1, 100),
}  # fmt: skip


def check_inputs(parameters: Mapping[str, Any]) -> None:
    """Check report parameters as the notebook will use them — counts and seeds in range, the scenario or
    experiment file, the evaluation settings — so a bad value is refused before anything runs (exit 2) rather
    than failing inside a cell."""
    from sim.lang import check
    from sim.parameters import spec
    from sim.scenario import load_scenario, scenario_file

    for name, (low, high) in WHOLE_NUMBERS.items():
        if parameters.get(name) is not None:
            whole_number(parameters[name], "-p", f"parameter '{name}'", low, high)
    if parameters.get("n_communities") is not None:
        spec("n_communities").check(parameters["n_communities"], "-p")
    if "lang" in parameters:
        check(parameters["lang"], "parameter 'lang'")
    if isinstance(parameters.get("scenario"), str):
        load_scenario(scenario_file(parameters["scenario"], "scenario"))
    if isinstance(parameters.get("experiment"), str):
        from sim.report.notebook import experiment

        experiment(parameters["experiment"], parameters.get("replicates"), parameters.get("n_communities"))
    _check_evaluation(parameters)


def _check_evaluation(parameters: Mapping[str, Any]) -> None:
    """The decision settings a report overrides, through the same checks the notebook's `with_overrides` applies."""
    from sim.decision import settings
    from sim.policy import month_index

    end = parameters.get("evaluation_end")
    if end is not None and not (isinstance(end, list) and len(end) == 2 and all(isinstance(v, int) for v in end)):
        raise InputError(
            f"parameter 'evaluation_end' = {shown(end)} must be [year, month], e.g. [2030, 12] (a list: give it in a "
            "--parameters-file YAML file)"
        )
    if end is not None:
        whole_number(end[1], "-p", "parameter 'evaluation_end' month", 1, 12)
    settings().with_overrides(
        discount_rate=parameters.get("discount_rate"), family_weights=parameters.get("family_weights"),
        mode=parameters.get("evaluation_mode"), exposure_years=parameters.get("exposure_years"),
        end_month=month_index(*end) if end is not None else None,
    )  # fmt: skip


def make_folder(out: Path) -> None:
    """Create the output folder (and its parents), refusing one this process cannot create files in."""
    import tempfile

    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".sim-write-check.", dir=out)
    except OSError as error:
        raise InputError(f"--out {out}: cannot write there: {error.strerror or error}") from None
    os.close(fd)
    os.unlink(probe)


def pick_kernel() -> str:
    """The project's kernel if it is registered for this interpreter, else the interpreter's own 'python3'."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        return "python3"
    same = Path(spec.argv[0]).resolve() == Path(sys.executable).resolve() if spec.argv else False
    return KERNEL if same else "python3"


def comparable(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON would record them, without the output folder and what does not change the numbers."""
    plain = json.loads(json.dumps(dict(parameters), default=str))
    return {k: v for k, v in plain.items() if k != SET_BY_REPORT and k not in NOT_AFFECTING}


def earlier_report(out: Path) -> dict[str, Any] | None:
    """The `report` record of the metrics.json a finished (or failed) `sim report` left in `out`, if any."""
    try:
        record = json.loads((out / "metrics.json").read_text(encoding="utf-8")).get("report")
    except (OSError, ValueError, AttributeError):
        return None
    return record if isinstance(record, dict) else None


def same_parameters(recorded: Mapping[str, Any], effective: Mapping[str, Any], declared: Mapping[str, Any]) -> bool:
    """Whether a run with `effective` parameters reproduces a report recorded with `recorded` ones.

    A parameter the notebook gained after the report was made counts as the same while it keeps
    its default (the default keeps the old behaviour).
    """
    old, new, defaults = comparable(recorded), comparable(effective), comparable(declared)
    return old == {k: v for k, v in new.items() if k in old or k not in defaults or v != defaults[k]}


ZH_SUFFIX = "_zh"  # reports/<name>_zh/: the reference folder of a report in Chinese


def translated(notebook: Path, lang: str, folder: Path) -> Path:
    """The notebook to execute: itself in English; in Chinese a copy in `folder` whose markdown cells are their `zh` text.

    A markdown cell without Chinese text stays in English (tests/test_report_lang.py checks that
    every report has every cell in Chinese).
    """
    if lang != "zh":
        return notebook
    import nbformat

    from sim.lang import typeset_zh

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("zh"):
            cell.source = typeset_zh(cell.metadata["zh"])
    nb.metadata["language_of_report"] = "zh"
    path = folder / notebook.name
    nbformat.write(nb, path)
    return path


def default_folder(name: str, effective: Mapping[str, Any], declared: Mapping[str, Any] | None = None) -> Path:
    """reports/<name>/ when it holds no report or one made with these parameters; else reports/<name>-<hash>/.

    So regenerating a committed reference (`make reports`) rewrites it, and any other run goes
    to a folder of its own (ignored by git) instead of overwriting the reference.
    """
    if effective.get("lang") == "zh":
        name += ZH_SUFFIX
    reference = reports_dir() / name
    record = earlier_report(reference)
    if record is None and not reference.exists():
        return reference
    if record is not None and same_parameters(record.get("parameters", {}), effective, declared or {}):
        return reference
    digest = hashlib.sha256(json.dumps(comparable(effective), sort_keys=True).encode()).hexdigest()[:8]
    return reports_dir() / f"{name}-{digest}"


def clear_outputs(out: Path, notebook: Path) -> None:
    """Remove what an earlier report wrote in `out` (the files its metrics.json lists); refuse a folder holding anything else.

    `sim report` never deletes or overwrites a file it did not write.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file, not a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    record = earlier_report(out)
    listed = record.get("files") if record is not None else None
    plain = isinstance(listed, list) and all(isinstance(n, str) and _plain_file_name(n) for n in listed)
    if record is not None and not plain:
        raise InputError(
            f"--out {out}: its metrics.json was not written by `sim report` (its file list {shown(listed)} is not a list "
            "of names in the folder); choose an empty or new folder"
        )
    ours = set(listed or []) | {"metrics.json", notebook.name} if record is not None else set()
    foreign = sorted(p.name for p in out.iterdir() if p.name not in ours)
    if record is None or foreign:
        names = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise InputError(f"--out {out}: it holds files `sim report` did not write ({names}); choose an empty or new folder")
    for path in out.iterdir():  # names from the folder itself: a listed '../x' or '/x' can never match one
        if path.name in ours and (path.is_symlink() or path.is_file()):
            path.unlink()  # a link is removed, never what it points to


def _plain_file_name(name: str) -> bool:
    """A file name as `sim report` records its outputs: no folder part, not '.' or '..', no control characters."""
    return bool(name) and Path(name).name == name and "\\" not in name and name not in {".", ".."} and name.isprintable()


def _cell_name(executed: Path, exec_count: int | None) -> str:
    """'the cell `fit = ...` (In [7])': the failing cell by its first line of code and execution count.

    Papermill puts an error banner at the top of the partial notebook, which shifts cell
    indices, so the cell is found by its error output instead.
    """
    import nbformat

    first = ""
    try:
        for cell in nbformat.read(executed, as_version=4).cells:
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                lines = [line.strip() for line in cell.source.splitlines()]
                first = next((line for line in lines if line and not line.startswith("#")), "")
                break
    except (OSError, ValueError):
        pass
    first = first if len(first) <= 60 else first[:57] + "..."
    where = f"In [{exec_count}]" if exec_count else "a cell"
    return f"the cell `{first}` ({where})" if first else where


def _local_kernel_manager() -> type:
    """A kernel manager talking to the kernel over local (IPC) sockets rather than TCP ports.

    The kernel is on this machine anyway; IPC opens no network port, and spares every run
    ipykernel's warning about unencrypted TCP.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class LocalKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

    return LocalKernelManager


def execute(notebook: Path, executed: Path, parameters: Mapping[str, Any], kernel: str | None, cwd: Path) -> None:
    """papermill.execute_notebook, with errors turned into one-line ReportFailed messages."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=dict(parameters),
            kernel_name=kernel or pick_kernel(),
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,
            kernel_manager_class=_local_kernel_manager(),
        )
    except PapermillExecutionError as error:
        message = (str(error.evalue).strip().splitlines() or [""])[0]
        raise ReportFailed(
            f"{notebook.name}: {_cell_name(executed, error.exec_count)} failed with {error.ename}: {message} "
            f"(partial notebook kept: {executed})"
        ) from None
    except Exception as error:  # kernel not found or died, unreadable notebook, ...
        first = (str(error).strip().splitlines() or [""])[0]
        raise ReportFailed(f"{notebook.name}: could not run it: {type(error).__name__}: {first}") from None


def write_html(executed: Path, html: Path, title: str, lang: str = "en") -> Path:
    """index.html from the executed notebook: outputs only (code hidden), stderr streams and empty code cells dropped."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            outputs = cell.get("outputs", [])
            cell.outputs = [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    nb.cells = [cell for cell in nb.cells if cell.cell_type != "code" or cell.outputs]  # no blank gaps in the page
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    if lang == "zh":  # so browsers and screen readers pick Chinese fonts and voices
        body = re.sub(r"<html[^>]*>", '<html lang="zh-CN">', body, count=1)
    html.write_text(body, encoding="utf-8")
    return html


def _versions() -> dict[str, str]:
    found = {}
    for package in VERSIONED:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def write_metrics(
    out: Path,
    notebook: Path,
    parameters: Mapping[str, Any],
    started: str,
    seconds: float,
    kernel: str,
    failed: str | None = None,
    commit: str | None = None,
) -> Path:
    """metrics.json: the notebook's own numbers (if it wrote any) plus provenance and the list of outputs.

    A failed run records its error too, so the next run into the folder knows which files it may replace.
    """
    path = out / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    files = sorted(p.name for p in out.iterdir() if p.is_file() and p.name != "metrics.json")
    metrics["report"] = {
        "notebook": display_path(notebook),
        "parameters": dict(parameters),
        "started": started,
        "seconds": round(seconds, 1),
        "kernel": kernel,
        "command": " ".join(["sim", *sys.argv[1:]]) if Path(sys.argv[0]).name == "sim" else None,
        "files": files,
        **({"failed": failed} if failed else {}),
    }
    metrics["provenance"] = provenance(**_versions(), **({"git_commit": commit} if commit else {}))
    path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def run_report(
    name: str, parameters: Mapping[str, Any] | None = None, out: Path | str | None = None, kernel: str | None = None
) -> ReportResult:
    """Execute a notebook with parameters into `out` (see `default_folder`) and write its report files."""
    notebook = find_notebook(name)
    parameters = plain_data(dict(parameters or {}), "parameters", "")
    declared = declared_parameters(notebook)
    check_parameters(notebook, parameters, declared)
    check_inputs({**declared, **parameters})
    lang = str({**declared, **parameters}.get("lang", "en"))
    commit = git_commit()  # before anything in the tree is written
    out = Path(out) if out is not None else default_folder(notebook.stem, {**declared, **parameters}, declared)
    out = out.resolve()
    clear_outputs(out, notebook)
    make_folder(out)
    if SET_BY_REPORT in declared:
        parameters[SET_BY_REPORT] = str(out)
    effective = {**declared, **parameters}
    executed = out / notebook.name
    kernel = kernel or pick_kernel()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    monitor = Monitor(notebook.stem, executed)
    with (
        monitor,
        _environment({COMMIT_VARIABLE: commit, PROGRESS_VARIABLE: str(monitor.path)}),
        tempfile.TemporaryDirectory(prefix="sim-report-") as scratch,
    ):
        try:
            execute(translated(notebook, lang, Path(scratch)), executed, parameters, kernel, Path.cwd())
        except (ReportFailed, KeyboardInterrupt, Terminated) as error:
            # Recorded even when interrupted, so that the next run into this folder may replace what this one wrote.
            seconds = time.perf_counter() - started
            reason = str(error) if isinstance(error, ReportFailed) else f"interrupted ({type(error).__name__})"
            write_metrics(out, notebook, effective, started_at, seconds, kernel, failed=reason, commit=commit)
            raise
    seconds = time.perf_counter() - started
    print(f"{notebook.stem}: notebook done in {seconds:.0f} s; writing index.html and metrics.json", file=sys.stderr, flush=True)
    title = _title(executed) or notebook.stem
    html = write_html(executed, out / "index.html", title, lang)
    metrics = write_metrics(out, notebook, effective, started_at, seconds, kernel, commit=commit)
    files = sorted(p for p in out.iterdir() if p.is_file())
    return ReportResult(notebook.stem, out, executed, html, metrics, seconds, files)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Environment variables set for the kernel papermill starts (it inherits them), restored afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _title(executed: Path) -> str | None:
    """The first markdown heading of the notebook, for the HTML <title>."""
    import nbformat

    for cell in nbformat.read(executed, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return None
