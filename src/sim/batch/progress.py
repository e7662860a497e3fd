"""Progress of a batch: a tqdm bar (tqdm.auto, so it also draws in Jupyter) or plain log lines."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts finished and failed runs; shows done/total, failures, elapsed time and ETA."""

    def __init__(
        self, name: str, total: int, done: int, quiet: bool = False, every: float = 10.0, stream: TextIO | None = None
    ) -> None:
        self.name, self.total, self.done, self.failed = name, total, done, 0
        self.quiet, self.every = quiet, every
        self.stream = stream or sys.stderr
        self.started = self._last = time.monotonic()
        self._start_done = done
        self._bar = None
        if not quiet:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=done, desc=name, unit="run", file=self.stream, dynamic_ncols=True)
            self._bar.set_postfix(failed=0)

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
        elif time.monotonic() - self._last >= self.every:
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
