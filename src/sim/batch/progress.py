"""Progress of a batch: a tqdm bar on a terminal (or in Jupyter), plain log lines everywhere else.

Plain lines (`--quiet`, a log file, CI, the notebook a report runs) say done/total, failures,
elapsed time and an ETA, at the start, at least every `every` seconds while the batch runs
(`tick` is called by the batch loop about once a second, even when no run finishes) and at
the end.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def interactive(stream: TextIO) -> bool:
    """A terminal, or a Jupyter kernel (where tqdm.auto draws a widget)."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


class Progress:
    """Counts finished and failed runs; shows done/total, failures, elapsed time and ETA."""

    def __init__(
        self, name: str, total: int, done: int, quiet: bool = False, every: float = 10.0, stream: TextIO | None = None
    ) -> None:
        self.name, self.total, self.done, self.failed = name, total, done, 0
        self.every = every
        self.stream = stream or sys.stderr
        self.quiet = quiet or not interactive(self.stream)
        self.started = self._last = time.monotonic()
        self._start_done = done
        self._bar = None
        if not self.quiet:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=done, desc=name, unit="run", file=self.stream, dynamic_ncols=True)
            self._bar.set_postfix(failed=0)
        else:
            self.log(f"{name}: {total} runs ({done} already done)")

    def log(self, message: str) -> None:
        """A line that does not break the bar."""
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        if self._bar is not None:
            self._bar.update(1)
            if not ok:
                self._bar.set_postfix(failed=self.failed)
        else:
            self.tick()

    def tick(self) -> None:
        """A plain line if `every` seconds have passed since the last one (no-op with a bar)."""
        if self._bar is None and time.monotonic() - self._last >= self.every:
            self._line()

    def _line(self) -> None:
        self._last = now = time.monotonic()
        elapsed = now - self.started
        ran = self.done - self._start_done
        left = self.total - self.done
        eta = f"{elapsed / ran * left:.0f} s" if ran else "?"
        self.log(f"{self.name}: {self.done}/{self.total} runs done, {self.failed} failed, {elapsed:.0f} s elapsed, ETA {eta}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        else:
            self._line()
