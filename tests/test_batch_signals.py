"""Interrupting `sim batch`: Ctrl-C twice, SIGTERM and SIGKILL end it within seconds, with the runs
finished so far saved (Ctrl-C, SIGTERM) and no process left behind (all three).

Each test starts a real batch of tiny runs on 2 worker processes in its own session, writes
parts only at the end (so the finished runs are held in memory when the signal comes), waits
until its progress bar shows finished runs, signals, and then checks the exit status, the time
it took, the store and that no process of that session is still alive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
import yaml

from conftest import BatchProcess
from sim.batch import load_results, read_manifest
from sim.batch.store import live_entries

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="workers watch the batch with a pidfd (Linux)")


def start_batch(tmp_path: Path) -> tuple[BatchProcess, Path]:
    """A batch of 20,000 tiny runs on 2 workers that writes parts only at the end, once a few runs have finished.

    Plain progress lines come every 10 s, so the batch must outlast that on the fastest machine (a CI machine ran
    about 40 such runs a second per worker): 20,000 runs take minutes there, and the signal comes at the first line.
    """
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {"name": "signals", "scenarios": ["baseline"], "parameters": {"n_communities": 50, "months": 24}, "replicates": 20000}
        )
    )
    store = tmp_path / "store"
    batch = BatchProcess(["batch", spec, "--out", store, "--workers", "2", "--part-runs", "100000", "--part-seconds", "1000"])
    batch.wait_for_runs(3, 20000)  # finished, and held in memory: no part file yet
    assert not list(store.glob("part-*.parquet"))
    return batch, store


def left_behind(session: int, wait: float = 10.0) -> list[str]:
    """Processes of that session still alive after `wait` seconds (they get that long to exit)."""
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for process in psutil.process_iter(["pid", "cmdline"]):
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if os.getsid(process.pid) == session and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{process.pid}: {' '.join(process.info['cmdline'] or [])[:120]}")
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def assert_saved(store: Path, stderr: str) -> None:
    """The runs finished before the signal are in a journaled part file and readable; the manifest agrees."""
    saved = {rid for entry in live_entries(store) for rid in entry["runs"]}
    assert saved, stderr
    table = load_results(store)
    assert set(table["run_id"]) == saved and table.groupby("run_id").size().eq(25).all()
    manifest = read_manifest(store)
    assert manifest["counts"]["ok"] == len(saved) and manifest["sessions"][-1]["interrupted"] is True
    assert "runs saved" in stderr and "--resume" in stderr and "Traceback" not in stderr


def test_ctrl_c_twice_saves_finished_runs_and_exits(tmp_path: Path) -> None:
    batch, store = start_batch(tmp_path)
    try:
        os.killpg(batch.pid, signal.SIGINT)  # what a terminal sends: the whole foreground group
        time.sleep(0.1)
        os.killpg(batch.pid, signal.SIGINT)  # impatient: again, while it is saving
        code, stderr, seconds = batch.finish()
    finally:
        leftovers = left_behind(batch.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(batch.pid, signal.SIGKILL)
    assert code == 130, stderr
    assert seconds < 20
    assert_saved(store, stderr)
    assert not leftovers


def test_sigterm_saves_finished_runs_and_exits(tmp_path: Path) -> None:
    batch, store = start_batch(tmp_path)
    try:
        os.kill(batch.pid, signal.SIGTERM)  # what `timeout`, `docker stop` send: the main process only
        code, stderr, seconds = batch.finish()
    finally:
        leftovers = left_behind(batch.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(batch.pid, signal.SIGKILL)
    assert code == 143, stderr
    assert seconds < 20
    assert_saved(store, stderr)
    assert not leftovers


def test_sigkill_leaves_no_worker_behind(tmp_path: Path) -> None:
    batch, _ = start_batch(tmp_path)
    children = psutil.Process(batch.pid).children(recursive=True)
    try:
        os.kill(batch.pid, signal.SIGKILL)
        batch.process.wait(timeout=10)
        leftovers = left_behind(batch.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(batch.pid, signal.SIGKILL)
    assert children, "the batch had no worker processes to leave behind"
    assert not leftovers
