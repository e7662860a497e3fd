"""Reading input files with errors a user can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.errors import InputError


def read_yaml(path: Path | str) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes a one-line InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"{path}:{line} malformed YAML: {problem}") from None
