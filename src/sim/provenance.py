"""Where a result came from: package and library versions, git commit, parameters, seed."""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@cache
def git_commit() -> str:
    """The commit of the source tree, with '+dirty' if it has uncommitted changes; 'unknown' outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def provenance(**extra: Any) -> dict[str, Any]:
    """A JSON-ready record of versions and commit, plus whatever the caller adds."""
    return {
        "package": "cadre-sim",
        "package_version": _version("cadre-sim"),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "mesa": _version("mesa"),
        "numpy": _version("numpy"),
        "pandas": _version("pandas"),
        **extra,
    }
