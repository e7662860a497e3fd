"""Shared paths, reference data and cached simulation runs for the test suite.

Runs are cached per (scenario, seed, overrides) for the whole session, so tests in
different modules that need the same run (e.g. the default baseline at month 0) share it.
Cached frames are returned as copies: a test can never corrupt another test's input.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from sim import simulate
from sim.parameters import Parameters

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SCENARIOS = DATA / "scenarios"
PARAMETERS_FILE = DATA / "parameters.yaml"
PROGRAMS_FILE = DATA / "programs.yaml"
SEED_FIGURES_FILE = DATA / "seed_figures.csv"
PROGRAM_SCENARIOS = ("talent_foundation", "digital_foundation", "innovation_leap")


def scenario_path(name: str) -> Path:
    return SCENARIOS / f"{name}.yaml"


@functools.cache
def seed_figures() -> dict[str, float]:
    """Figure ID -> value from data/seed_figures.csv (NaN where the article gives no number)."""
    with SEED_FIGURES_FILE.open(encoding="utf-8") as handle:
        return {row["id"]: float(row["value"]) for row in csv.DictReader(handle)}


@functools.cache
def parameter_entries() -> dict[str, dict[str, Any]]:
    """The raw parameter catalogue (data/parameters.yaml) as written."""
    return yaml.safe_load(PARAMETERS_FILE.read_text(encoding="utf-8"))


@functools.cache
def program_entries() -> dict[str, dict[str, Any]]:
    """The raw program definitions (data/programs.yaml) as written."""
    return yaml.safe_load(PROGRAMS_FILE.read_text(encoding="utf-8"))


def default(name: str) -> Any:
    """The value the model uses when nothing overrides it (the catalogue's, or a calibrated one)."""
    return Parameters()[name]


@functools.cache
def _run(scenario: str, seed: int, overrides: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    return simulate(scenario_path(scenario), seed=seed, overrides=dict(overrides))


def run(scenario: str = "baseline", seed: int = 0, **overrides: Any) -> pd.DataFrame:
    """simulate() of a standard scenario, cached for the session (a fresh copy each call)."""
    return _run(scenario, seed, tuple(sorted(overrides.items()))).copy()


def pooled(frames: Iterable[pd.DataFrame], column: str) -> pd.Series:
    """Sum of one column over several runs, month by month."""
    return sum(frame[column] for frame in frames)


# --- command line ---------------------------------------------------------------------
CLI = (sys.executable, "-m", "sim.cli")


@dataclass(frozen=True)
class CliResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: Iterable[str], cwd: Path | str = ROOT) -> CliResult:
    args = tuple(str(a) for a in args)
    env = {**os.environ, "PYTHONWARNINGS": "ignore::FutureWarning", "COLUMNS": "200"}
    done = subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    return CliResult(args, done.returncode, done.stdout, done.stderr)


def invoke_cli(args: Iterable[str], cwd: Path | str = ROOT) -> CliResult:
    """The CLI run in this process (typer's CliRunner): like run_cli, without the ~1 s of imports.

    An exception escaping the command is rendered as the interpreter would (a traceback on
    stderr, exit code 1), so tests can check that none escapes.
    """
    from typer.testing import CliRunner

    from sim.cli import app

    args = tuple(str(a) for a in args)
    with contextlib.chdir(cwd):
        result = CliRunner().invoke(app, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(result.exception))
    return CliResult(args, result.exit_code, result.stdout, stderr)


def run_cli_batch(cases: Mapping[str, Iterable[str]], cwd: Path | str = ROOT) -> dict[str, CliResult]:
    """Run several CLI invocations as concurrent subprocesses (each is ~1 s of imports)."""
    workers = max(2, (os.cpu_count() or 2) + 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(run_cli, args, cwd) for name, args in cases.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="session")
def figures() -> dict[str, float]:
    return seed_figures()


# --- a batch run as a real process, watched through its progress bar ------------------------
class BatchProcess:
    """A `sim batch` subprocess whose progress bar (stderr) is read as it runs."""

    def __init__(self, args: Iterable[object], cwd: Path = ROOT) -> None:
        # Ctrl-C as in a terminal's job: a shell without job control starts background commands (CI scripts,
        # `nohup ... &`) with SIGINT ignored, and an ignored signal stays ignored in every child — which `sim batch`
        # rightly respects. So the child starts with Python's own Ctrl-C handler whatever this process inherited.
        inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sim.cli", *map(str, args)],
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own session and process group, like a job started from a shell
            )
        finally:
            signal.signal(signal.SIGINT, inherited)
        self.pid = self.process.pid
        self.chunks: list[bytes] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        while chunk := self.process.stderr.read1(4096):
            self.chunks.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    def wait_for_runs(self, runs: int, total: int, timeout: float = 180.0) -> None:
        """Until the progress bar shows at least `runs` finished runs (however slow the machine is)."""

        def shown() -> int:
            return max((int(n) for n in re.findall(rf"(\d+)/{total}", self.stderr)), default=0)

        self.wait_for(lambda: shown() >= runs, f"{runs} finished runs on the progress bar", timeout)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
        """Until `condition()` holds while the batch is still running (however fast or slow the machine is)."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"the batch ended before {what}: {self.stderr[-500:]}"
            assert time.monotonic() < deadline, f"no {what} in {timeout} s: {self.stderr[-500:]}"
            time.sleep(0.05)

    def finish(self, timeout: float = 20.0) -> tuple[int, str, float]:
        """Exit status, stderr and seconds taken; fails if the batch does not exit within `timeout`."""
        started = time.monotonic()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait()
            pytest.fail(f"the batch did not exit within {timeout} s of the signal")
        seconds = time.monotonic() - started
        self.reader.join(5)
        return self.process.returncode, self.stderr, seconds
