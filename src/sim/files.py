"""Reading input files with errors a user can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.checks import clip, plain_data
from sim.errors import InputError

MAX_INPUT_BYTES = 10_000_000  # an input file (YAML, notebook) larger than this is refused, not parsed


def read_text(path: Path | str, what: str = "file") -> str:
    """A UTF-8 text file; missing, unreadable, oversized or non-UTF-8 files become one-line InputErrors."""
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a folder, not a {what}")
        if not path.is_file():
            raise InputError(f"{path}: file not found")
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise InputError(f"{path}: {path.stat().st_size:,} bytes; a {what} may hold at most {MAX_INPUT_BYTES:,}")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start}); save it as UTF-8"
        ) from None
    except OSError as error:  # permission denied, a name too long, ...
        raise InputError(f"{clip(str(path), 120)}: cannot read it: {error.strerror or error}") from None


def read_yaml(path: Path | str, empty: Any = None) -> Any:
    """Parse a YAML file into plain data (sim.checks.plain_data); any problem becomes a one-line InputError.

    An empty file (or one holding only comments) gives `empty`; callers that need content
    refuse it themselves, naming what the file should hold.
    """
    path = Path(path)
    source = read_text(path)
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(clip(f"{path}:{line} malformed YAML: {problem}")) from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to read") from None
    if data is None:
        return empty
    return plain_data(data, str(path), "")
