"""Impossible sizes are refused up front; a Dask cluster that is gone or empty ends the batch with one line.

Sizes are estimated arithmetically (sim.batch.limits), so even `replicates: 10**12` or a
10^10-point grid is refused at once: each case here has a 10 s budget.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import yaml

from conftest import BatchProcess, invoke_cli
from sim.batch import limits, load_results, run_experiment
from sim.batch.spec import load_spec
from sim.errors import InputError, RunError

TINY = {"n_communities": 50, "months": 6}


def write_spec(folder: Path, **fields) -> Path:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump({"name": "size", "scenarios": ["baseline"], "parameters": TINY, **fields}))
    return path


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"replicates": 10**12}, ("1,000,000,000,000 runs", "GB for their records", "split the experiment")),
        ({"replicates": 200_000_000}, ("200,000,000 runs", "GB")),
        ({"replicates": 200_000}, ("200,000 runs", "more than 100,000 runs", "--allow-large")),
        ({"parameters": {"n_communities": 200_000}, "replicates": 1000}, ("more than 24 hours", "--allow-large")),
        (
            {
                "design": {
                    "kind": "grid",
                    "parameters": {"funding_share": {"levels": 100_000}, "county_share": {"levels": 100_000}},
                }
            },
            ("10,000,000,000 points", "at most 1,000,000"),
        ),
        ({"design": {"kind": "sobol", "parameters": ["funding_share"], "samples": 2**30}}, ("4,294,967,296 points",)),
        ({"design": {"kind": "morris", "parameters": ["funding_share"], "trajectories": 10**9}}, ("2,000,000,000 points",)),
    ],
)
def test_impossible_sizes_are_refused_at_once(tmp_path: Path, fields: dict, words: tuple[str, ...]) -> None:
    started = time.monotonic()
    result = invoke_cli(["batch", write_spec(tmp_path, **fields), "--out", tmp_path / "store", "--workers", "1"])
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert all(w in result.stderr for w in words), result.stderr
    assert time.monotonic() - started < 10 and not (tmp_path / "store").exists()


def test_allow_large_confirms_a_batch_beyond_the_soft_limits(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_RUNS", 2)
    spec = write_spec(tmp_path, replicates=3)
    with pytest.raises(InputError, match=r"3 runs.*more than 2 runs"):
        run_experiment(spec, workers=1, out=tmp_path / "a", quiet=True)
    assert run_experiment(spec, workers=1, out=tmp_path / "b", quiet=True, allow_large=True).finished == 3
    found = limits.estimate(load_spec(spec), 1)
    assert found.runs == 3 and found.cpu_seconds == pytest.approx(3 * 50 * 6 * limits.SECONDS_PER_COMMUNITY_MONTH)


def test_workers_are_bounded_by_the_cores(tmp_path: Path) -> None:
    cores = os.cpu_count() or 1
    for option in ("--workers", "--dask-local"):
        result = invoke_cli(["batch", write_spec(tmp_path), option, str(cores + 1), "--out", tmp_path / "s"])
        assert result.returncode == 2 and f"from 1 to {cores}" in result.stderr


def test_a_dask_cluster_without_workers_ends_the_batch(tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        started = time.monotonic()
        with pytest.raises(RunError, match=r"has no workers for 2 s; stopping.*--resume"):
            run_experiment(
                write_spec(tmp_path), scheduler=cluster.scheduler_address, out=tmp_path / "s", quiet=True, dask_patience=2
            )
        assert time.monotonic() - started < 15


def test_a_lost_dask_scheduler_ends_the_batch_with_runs_saved(tmp_path: Path) -> None:
    from distributed import LocalCluster

    # Many runs, saved in parts of 5: the scheduler is closed as soon as the first part is on disk, long before the
    # batch could finish on any machine (CI's finished 400 such runs before its first 10-second progress line).
    spec = write_spec(tmp_path, replicates=5000, parameters={"n_communities": 50, "months": 24})
    store = tmp_path / "store"
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None)
    args = ["--scheduler", cluster.scheduler_address, "--out", store, "--dask-patience", "3", "--part-runs", "5"]
    batch = BatchProcess(["batch", spec, *args])
    try:
        batch.wait_for(lambda: any(store.glob("part-*.parquet")), "a part file")
        cluster.close()
        code, stderr, _ = batch.finish(timeout=60)
    finally:
        if batch.process.poll() is None:
            os.killpg(batch.pid, signal.SIGKILL)
        cluster.close()
    assert code == 1, stderr
    (line,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert "Dask scheduler" in line and "for 3 s" in line and "--resume" in line and "Traceback" not in stderr
    assert load_results(store)["run_id"].nunique() > 0  # the runs finished before the loss are saved
