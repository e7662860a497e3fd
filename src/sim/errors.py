"""The one exception type users see: bad input, reported in a single clear line."""

from __future__ import annotations

import difflib


class InputError(ValueError):
    """Bad input from a file or the command line.

    The message names the file (when there is one), the field, the value and what is
    allowed. The CLI prints it on one line and exits with status 2.
    """


def closest(name: str, valid: list[str] | set[str]) -> str:
    """A ' (did you mean X?)' suffix for an unknown name, or '' if nothing is close."""
    match = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""
