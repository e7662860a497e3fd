"""`sim reproduce`: regenerate every report from scratch and compare with the committed ones.

For each report with a committed `reports/<name>/metrics.json`, the notebook is executed
again with the parameters recorded there, into a scratch folder, and every number in the
new metrics.json is compared with the committed one (relative tolerance `rtol`; strings
must match exactly). Timings, paths and provenance are not compared. It is what an
academic runs first: no differences means the numbers in the reports follow from this code.
It first says whether the installed packages are the locked ones (requirements.lock): other
versions may give other numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.provenance import lock_differences, lock_file
from sim.resources import reports_dir

REPORTS_DIR = reports_dir()
# robustness feeds compare_programs (and its Chinese edition)
ORDER = ("reproduce_article", "robustness", "robustness_zh", "compare_programs", "compare_programs_zh", "scenario",
         "policy_levers")  # fmt: skip
NOT_COMPARED = ("report", "provenance", "seconds_by_part")  # timings (the report's, a batch's parts'), paths, commit, versions
DEFAULT_RTOL = 1e-6  # same code and seeds give the same numbers; this only absorbs float summation order


@dataclass(frozen=True)
class Difference:
    report: str
    key: str
    committed: Any
    reproduced: Any


def committed_reports() -> list[str]:
    """Reports with a committed metrics.json, in a sensible order."""
    names = [p.parent.name for p in REPORTS_DIR.glob("*/metrics.json")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def report_parameters(metrics: dict[str, Any]) -> dict[str, Any]:
    """The parameters the committed report was made with (minus its output folder)."""
    parameters = dict(metrics.get("report", {}).get("parameters", {}))
    for where in ("output_dir", "store"):  # where outputs and resumable stores go: reproducing starts from scratch
        parameters.pop(where, None)
    return parameters


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if not prefix and key in NOT_COMPARED:
                continue
            yield from flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{i}]")
    else:
        yield prefix, value


def compare(report: str, committed: dict[str, Any], reproduced: dict[str, Any], rtol: float = DEFAULT_RTOL) -> list[Difference]:
    old, new = dict(flatten(committed)), dict(flatten(reproduced))
    differences = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<missing>"), new.get(key, "<missing>")
        if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool) and not isinstance(b, bool):
            same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rtol, abs_tol=rtol * 1e-3)
        else:
            same = a == b
        if not same:
            differences.append(Difference(report, key, a, b))
    return differences


def check_lock(log=print) -> dict[str, tuple[str, str]]:
    """Say whether the installed versions are the locked ones; return the differences (name -> (locked, installed))."""
    path = lock_file()
    if path is None:
        log("no lock file (requirements.lock) in this installation: versions not checked")
        return {}
    differences = lock_differences(path)
    if not differences:
        log(f"installed packages match {path.name}")
        return differences
    log(f"WARNING: {len(differences)} installed packages differ from {path.name} (numbers may differ; `make setup` reinstalls):")
    for name, (locked, installed) in differences.items():
        log(f"  {name}: locked {locked}, installed {installed}")
    return differences


def reproduce(
    names: list[str] | None = None, scratch: Path | str = "build/reproduce", rtol: float = DEFAULT_RTOL, log=print
) -> list[Difference]:
    """Rerun the reports and return every difference from the committed metrics."""
    from sim.report.run import run_report

    available = committed_reports()
    names = names or available
    for name in names:
        if name not in available:
            raise InputError(f"no committed report '{name}' (reports/{name}/metrics.json); available: {', '.join(available)}")
    check_lock(log)
    differences = []
    for name in names:
        committed = json.loads((REPORTS_DIR / name / "metrics.json").read_text(encoding="utf-8"))
        parameters = report_parameters(committed)
        log(f"{name}: rerunning with {parameters}")
        notebook = Path(str(committed.get("report", {}).get("notebook") or name)).stem  # compare_programs_zh: compare_programs
        result = run_report(notebook, parameters, out=Path(scratch) / name)
        reproduced = json.loads(result.metrics.read_text(encoding="utf-8"))
        found = compare(name, committed, reproduced, rtol)
        log(f"{name}: {result.seconds:.0f} s, {'no differences' if not found else f'{len(found)} differences'}")
        differences += found
    return differences


def reproduce_calibration(scratch: Path | str = "build/reproduce", workers: int = 2, log=print) -> list[Difference]:
    """Run the calibration again (`sim calibrate`, into `scratch`) and check it against the committed posterior.

    ABC-SMC on two worker processes is not reproducible bit for bit (the workers' order decides
    which particles are drawn), so the check is statistical: every fitted parameter's new median
    lies inside the committed 90% interval, and the new run meets the convergence figures
    (effective sample size of the last population at least 500, last threshold within twice the
    noise floor). Each failure is a Difference.
    """
    import yaml

    from sim.abc import run_abc
    from sim.calibration import load_config
    from sim.posterior import POSTERIOR_FILE

    folder = Path(scratch) / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("abc.db*"):  # this function's own database from an earlier call
        stale.unlink()
    committed = yaml.safe_load(POSTERIOR_FILE.with_suffix(".yaml").read_text(encoding="utf-8"))
    result = run_abc(load_config(), workers=workers, db=folder / "abc.db", out=folder / "posterior.parquet",
                     calibrated=folder / "calibrated.yaml", log=log)  # fmt: skip
    new = result.summary
    differences = []
    for name, old in committed["parameters"].items():
        median = new["parameters"][name]["median"]
        if not old["p05"] <= median <= old["p95"]:
            differences.append(Difference("calibration", f"{name} median", f"90% interval {old['p05']}-{old['p95']}", median))
    if new["effective_sample_size"] < 500:
        differences.append(Difference("calibration", "effective sample size", ">= 500", new["effective_sample_size"]))
    last = new["schedule"][-1]["epsilon_over_noise_floor"]
    if last > 2:
        differences.append(Difference("calibration", "last threshold / noise floor", "<= 2", last))
    return differences
