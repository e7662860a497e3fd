"""Running batches: executor equivalence, failures, manifest, re-runs, store refusals, the CLI.

Real worker processes and a real Dask LocalCluster, on tiny experiments (50 communities,
6 months) so the whole file takes seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.batch import load_results, read_manifest, replicate_seeds, rerun, run_experiment, stored_run
from sim.batch.store import MANIFEST
from sim.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
TINY = {"n_communities": 50, "months": 6}  # below ~30 communities the initial posting fails for ~2% of seeds


def write_spec(folder: Path, **fields) -> Path:
    spec = {
        "name": "tiny",
        "scenarios": ["baseline", "all_programs"],
        "parameters": TINY,
        "replicates": 2,
        "seed": 11,
        "design": {"kind": "grid", "parameters": {"funding_share": [0.0, 0.02]}},
        **fields,
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def sim_cli(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def serial_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("serial")
    report = run_experiment(write_spec(folder), workers=1, out=folder / "store", quiet=True, part_runs=3)
    assert report.ok and report.finished == 8
    return folder / "store"


def test_executors_give_identical_tables(serial_store: Path, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    processes = run_experiment(spec, workers=2, out=tmp_path / "processes", quiet=True)
    dask = run_experiment(spec, dask_local=2, out=tmp_path / "dask", quiet=True)
    assert processes.executor.startswith("processes") and dask.executor.startswith("dask LocalCluster")
    expected = load_results(serial_store)
    assert len(expected) == 8 * 7 and expected["run_id"].nunique() == 8
    for store in (tmp_path / "processes", tmp_path / "dask"):
        pd.testing.assert_frame_equal(load_results(store), expected, check_exact=True)


def test_store_is_one_tidy_table(serial_store: Path) -> None:
    table = pd.read_parquet(serial_store)  # plain pandas reads every part, skipping _manifest.json
    assert len(table) == 56 and len(list(serial_store.glob("part-*.parquet"))) == 3  # 8 runs in parts of <= 3
    assert list(table.columns[:6]) == ["run_id", "scenario", "design_point", "replicate", "seed", "param_funding_share"]
    seeds = table.groupby("replicate")["seed"].nunique()
    assert (seeds == 1).all()  # one seed per replicate, shared by scenarios and design points
    assert not list(serial_store.glob(".*"))


def test_manifest_records_provenance_and_runs(serial_store: Path) -> None:
    manifest = read_manifest(serial_store)
    provenance = manifest["provenance"]
    for key in ("package_version", "git_commit", "python", "mesa", "numpy"):
        assert provenance[key] and provenance[key] != "not installed"
    assert manifest["spec"]["name"] == "tiny" and manifest["resolved"]["replicates"] == 2
    assert manifest["counts"] == {"total": 8, "ok": 8, "failed": 0, "pending": 0} and manifest["complete"]
    run = next(r for r in manifest["runs"] if r["run_id"] == "all_programs-0001-r001")
    assert run["status"] == "ok" and run["parameters"] == {"funding_share": 0.02} and run["duration"] > 0
    assert all(r["seed"] == replicate_seeds(11, 2)[r["replicate"]] for r in manifest["runs"])


def test_rerun_reproduces_stored_rows(serial_store: Path) -> None:
    again = rerun(serial_store, "all_programs-0001-r001")
    stored = stored_run(serial_store, "all_programs-0001-r001")
    assert len(stored) == 7
    pd.testing.assert_frame_equal(again, stored, check_exact=True)


def test_failed_run_is_recorded_and_batch_exits_1(tmp_path: Path) -> None:
    # tier1_share + tier2_share > 1 passes the per-value checks of the spec but raises when the run starts.
    design = {"kind": "list", "points": [{"tier1_share": 0.2, "tier2_share": 0.3}, {"tier1_share": 0.7, "tier2_share": 0.45}]}
    spec = write_spec(tmp_path, design=design)
    done = sim_cli("batch", spec, "--out", tmp_path / "store", "--workers", "2", "--quiet")
    assert done.returncode == 1, done.stderr
    assert "4 runs failed" in done.stderr and "baseline-0001-r000" in done.stderr
    manifest = json.loads((tmp_path / "store" / MANIFEST).read_text())
    assert manifest["counts"] == {"total": 8, "ok": 4, "failed": 4, "pending": 0}
    failed = [r for r in manifest["runs"] if r["status"] == "failed"]
    assert {r["design_point"] for r in failed} == {1}
    assert all("tier1_share + tier2_share" in r["error"] and "Traceback" in r["traceback"] for r in failed)
    assert set(load_results(tmp_path / "store")["design_point"]) == {0}
    # the CLI's other paths: an existing store needs --resume; --resume retries the failures (which fail again)
    again = sim_cli("batch", spec, "--out", tmp_path / "store", "--workers", "1")
    assert again.returncode == 2 and again.stderr.startswith("error: ") and "--resume" in again.stderr
    resumed = sim_cli("batch", spec, "--out", tmp_path / "store", "--resume", "--quiet", "--only", "all_programs-0001-r001")
    assert resumed.returncode == 1 and "1 runs failed" in resumed.stderr


def test_cli_rerun_and_summarize(serial_store: Path, tmp_path: Path) -> None:
    done = sim_cli("rerun", serial_store, "baseline-0001-r000", "--out", tmp_path / "run.csv")
    assert done.returncode == 0, done.stderr
    assert "identical to the stored rows" in done.stdout and len(pd.read_csv(tmp_path / "run.csv")) == 7
    done = sim_cli("summarize", serial_store, "--out", tmp_path / "diffs.csv", "--stats", tmp_path / "stats.csv")
    assert done.returncode == 0, done.stderr
    assert "Paired differences from baseline 'baseline' at month 6" in done.stdout and "Idle rate (% of cadres)" in done.stdout
    diffs = pd.read_csv(tmp_path / "diffs.csv")
    assert set(diffs["scenario"]) == {"all_programs"} and {"ci_low", "ci_high", "difference"} <= set(diffs.columns)
    assert set(pd.read_csv(tmp_path / "stats.csv").columns) >= {"mean", "median", "p10", "p90"}
    bad = sim_cli("batch", tmp_path / "missing.yaml")
    assert bad.returncode == 2 and bad.stderr.strip() == f"error: {tmp_path / 'missing.yaml'}: file not found"


def test_store_refusals(serial_store: Path, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    with pytest.raises(InputError, match="already holds results"):
        run_experiment(spec, workers=1, out=serial_store, quiet=True)
    changed = write_spec(tmp_path, replicates=3, seed=12)
    with pytest.raises(InputError, match=r"experiment changed since this store was made \(replicates: 2 -> 3; seed: 11 -> 12\)"):
        run_experiment(changed, workers=1, out=serial_store, quiet=True, resume=True)
    with pytest.raises(InputError, match="--workers and --dask-local"):
        run_experiment(spec, workers=2, dask_local=2, out=tmp_path / "x", quiet=True)
    with pytest.raises(InputError, match="no run with that id"):
        run_experiment(spec, workers=1, out=tmp_path / "y", quiet=True, only=["baseline-0009-r000"])


def test_only_then_resume_completes_without_duplicates(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, replicates=1)
    first = run_experiment(spec, workers=1, out=tmp_path / "s", quiet=True, only=["baseline-0001-r000"])
    assert first.finished == 1 and read_manifest(tmp_path / "s")["counts"]["pending"] == 3
    rest = run_experiment(spec, workers=1, out=tmp_path / "s", quiet=True, resume=True)
    assert rest.already_done == 1 and rest.finished == 3
    table = load_results(tmp_path / "s")
    assert table.groupby("run_id").size().eq(7).all() and table["run_id"].nunique() == 4
    assert os.listdir(tmp_path / "s").count("_manifest.json") == 1


def test_plain_progress_lines_come_at_least_every_interval_with_an_eta(monkeypatch) -> None:
    """Non-interactive logs (CI, a file, a report's notebook) get lines, not a redrawn bar, even when no run finishes."""
    import io

    from sim.batch import progress as progress_module

    clock = [100.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: clock[0])
    stream = io.StringIO()  # not a terminal
    progress = progress_module.Progress("demo", total=10, done=2, stream=stream, every=10.0)
    assert progress._bar is None and stream.getvalue() == "demo: 10 runs (2 already done)\n"
    clock[0] += 4
    progress.update(True)  # 4 s: too soon for a line
    clock[0] += 6
    progress.tick()  # 10 s since the last line, nothing finished since: a line anyway
    clock[0] += 3
    progress.tick()
    clock[0] += 7
    progress.update(False)
    progress.close()
    lines = stream.getvalue().splitlines()[1:]
    assert lines == [
        "demo: 3/10 runs done, 0 failed, 10 s elapsed, ETA 70 s",
        "demo: 4/10 runs done, 1 failed, 20 s elapsed, ETA 60 s",
        "demo: 4/10 runs done, 1 failed, 20 s elapsed, ETA 60 s",
    ]
