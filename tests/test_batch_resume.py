"""A batch killed with SIGKILL mid-run, then resumed: every run present exactly once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from sim.batch import load_results, read_manifest, run_experiment
from sim.batch.store import read_part_meta

ROOT = Path(__file__).resolve().parents[1]
RUNS = 120


def test_sigkill_then_resume(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "killed",
                "scenarios": ["baseline", "all_programs"],
                "parameters": {"n_communities": 50, "months": 12},
                "replicates": RUNS // 2,
                "seed": 3,
                "outputs": {"months": [0, 6, 12]},
            }
        )
    )
    store = tmp_path / "store"
    batch = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "batch", spec, "--out", store, "--workers", "2", "--quiet", "--part-runs", "4"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so leftover workers can be cleaned up below
    )
    try:
        deadline = time.monotonic() + 120
        while not list(store.glob("part-*.parquet")):
            assert batch.poll() is None, batch.stderr.read().decode() if batch.stderr else ""
            assert time.monotonic() < deadline, "no part file appeared"
            time.sleep(0.01)
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(batch.pid, signal.SIGKILL)  # worker processes orphaned by the kill
    assert batch.returncode == -signal.SIGKILL
    done_at_kill = {rid for part in store.glob("part-*.parquet") for rid in read_part_meta(part)["runs"]}
    assert 0 < len(done_at_kill) < RUNS, "the batch finished before it was killed; make it longer"
    (store / ".part-09999.parquet.abc123.tmp").write_bytes(b"half a file")  # what a kill during a write leaves

    report = run_experiment(spec, workers=2, out=store, resume=True, quiet=True)
    assert report.ok and report.already_done == len(done_at_kill) and report.finished == RUNS - len(done_at_kill)
    assert not list(store.glob(".*.tmp"))
    table = load_results(store)
    assert table["run_id"].nunique() == RUNS and len(table) == 3 * RUNS
    assert table.groupby("run_id").size().eq(3).all()  # no run duplicated
    manifest = read_manifest(store)
    assert manifest["complete"] and manifest["counts"]["ok"] == RUNS and len(manifest["sessions"]) == 2
    parts = [read_part_meta(p)["runs"] for p in store.glob("part-*.parquet")]
    assert sum(len(p) for p in parts) == RUNS and all(len(p) <= 50 for p in parts)
