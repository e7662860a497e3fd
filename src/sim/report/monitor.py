"""What `sim report` prints while the notebook runs: the batches' progress lines and a heartbeat.

The notebook runs in a Jupyter kernel, whose output goes into the notebook, not to the terminal.
So `sim report` hands the kernel a file to write batch progress to (PROGRESS_VARIABLE; see
`sim.report.notebook.run`) and a thread here prints each new line of it on stderr. When nothing
came for `every` seconds it prints a heartbeat with the elapsed time and the cells done so far,
so a log never goes quiet for longer than that (8 s, checked twice a second: at most 10 s
between lines).
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TextIO

PROGRESS_VARIABLE = "CADRE_SIM_PROGRESS_FILE"


class Monitor:
    """A context manager: creates the progress file, echoes it and the heartbeat until the block ends."""

    def __init__(self, name: str, executed: Path, every: float = 8.0, stream: TextIO | None = None) -> None:
        self.name, self.executed, self.every = name, executed, every
        self.stream = stream or sys.stderr
        self._folder = tempfile.TemporaryDirectory(prefix="sim-report-progress-")
        self.path = Path(self._folder.name) / "progress.log"
        self.path.touch()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sim-report-monitor", daemon=True)
        self.started = self._last = time.monotonic()

    def __enter__(self) -> Monitor:
        self._say(f"{self.name}: running the notebook (a line at least every 10 s)")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._folder.cleanup()

    def _say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
        self._last = time.monotonic()

    def _watch(self) -> None:
        pending = ""  # a line the kernel has not finished writing yet
        with self.path.open(encoding="utf-8") as lines:
            while True:
                stopping = self._stop.wait(0.5)
                *complete, pending = (pending + lines.read()).split("\n")
                for line in complete:
                    self._say(f"  {line.rstrip()}")
                if stopping:
                    return
                if time.monotonic() - self._last >= self.every:
                    self._say(self._heartbeat())

    def _heartbeat(self) -> str:
        elapsed = time.monotonic() - self.started
        cells = cells_done(self.executed)
        where = f", cell {cells[0]} of {cells[1]} done" if cells else ""
        return f"{self.name}: {elapsed:.0f} s elapsed{where}"


def cells_done(executed: Path) -> tuple[int, int] | None:
    """(completed, total) code cells of the notebook papermill is writing, or None while it cannot be read."""
    try:
        cells = [c for c in json.loads(executed.read_text(encoding="utf-8"))["cells"] if c.get("cell_type") == "code"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    done = sum(1 for c in cells if c.get("metadata", {}).get("papermill", {}).get("status") == "completed")
    return done, len(cells)
