"""The exceptions users see, each reported by the CLI as one clear line.

- InputError: bad input from a file or the command line (exit status 2).
- RunError: a run or batch that could not finish properly although its input was accepted,
  e.g. outputs that came out NaN, or a Dask cluster that went away (exit status 1).
- Terminated: the process received SIGTERM; raised so that `finally` blocks save what is
  done (exit status 143, like a process ended by the signal).
"""

from __future__ import annotations

import difflib
import signal


class InputError(ValueError):
    """Bad input from a file or the command line.

    The message names the file (when there is one), the field, the value and what is
    allowed. The CLI prints it on one line and exits with status 2.
    """


class RunError(RuntimeError):
    """A runtime failure with a message that says what failed and what to do (exit status 1)."""


class Terminated(BaseException):
    """SIGTERM arrived (raised by the handler in `sim.cli.main` or a batch); not an Exception, so no
    `except Exception` records it as a failed run."""

    exit_code = 128 + signal.SIGTERM


def closest(name: str, valid: list[str] | set[str]) -> str:
    """A ' (did you mean X?)' suffix for an unknown name, or '' if nothing is close."""
    match = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""
