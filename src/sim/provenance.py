"""Where a result came from: package and library versions, git commit, lock file, parameters, seed.

The commit is read once per process (`git_commit` is cached) and can be handed down: `sim
report` records it before it writes anything into the tree and passes it to the notebook's
kernel in the environment variable COMMIT_VARIABLE, so a report made from a clean clone is not
stamped '+dirty' by its own output files.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution, distributions, version
from pathlib import Path
from typing import Any

from sim.resources import source_root

COMMIT_VARIABLE = "CADRE_SIM_GIT_COMMIT"
LOCK_NAME = "requirements.lock"  # written by `make lock` (uv pip compile), installed by `make setup`
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\#]+?))?\s*(?:\\)?\s*$")


@cache
def git_commit() -> str:
    """The commit of the source tree, with '+dirty' if tracked files changed; the installed commit or 'unknown' elsewhere.

    Order: the value a parent process recorded (COMMIT_VARIABLE), the checkout's `git
    rev-parse HEAD` (+dirty), the commit pip recorded for a `pip install git+…`, 'unknown'.
    Changes under reports/ do not count: they are outputs, not source, so the second report of
    `make reports` is not stamped '+dirty' by the first one's regenerated files.
    """
    handed_down = os.environ.get(COMMIT_VARIABLE)
    if handed_down:
        return handed_down
    root = source_root()
    if root is None:
        return _installed_commit() or "unknown"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)reports"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _installed_commit() -> str | None:
    """The commit in pip's direct_url.json (PEP 610) when installed from a git URL."""
    try:
        text = distribution("cadre-sim").read_text("direct_url.json")
        return json.loads(text)["vcs_info"]["commit_id"] if text else None
    except (PackageNotFoundError, ValueError, KeyError, TypeError):
        return None


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def lock_file() -> Path | None:
    """The checkout's lock file, or None (an installed wheel has none)."""
    root = source_root()
    path = root / LOCK_NAME if root is not None else None
    return path if path is not None and path.is_file() else None


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them: 'PyYAML' and 'pyyaml', 'typing_extensions' and 'typing-extensions'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(path: Path, environment: dict[str, str] | None = None) -> dict[str, str]:
    """name -> pinned version for the lines of a lock file whose environment marker holds here."""
    from packaging.markers import Marker

    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match is None:
            continue
        name, pinned, marker = match.groups()
        if marker and not Marker(marker).evaluate(environment):
            continue
        pins[normalise(name)] = pinned
    return pins


def installed_versions() -> dict[str, str]:
    """name -> version of every distribution this interpreter sees, except cadre-sim itself and pip."""
    found = {}
    for dist in distributions():
        name = normalise(dist.metadata["Name"] or "")
        if name and name not in {"cadre-sim", "pip"}:
            found.setdefault(name, dist.version)
    return found


def lock_differences(path: Path | None = None) -> dict[str, tuple[str, str]]:
    """name -> (locked, installed) for every package whose installed version is not the locked one.

    'missing' on either side means not installed, or installed but not in the lock.
    """
    path = path or lock_file()
    if path is None:
        return {}
    locked, installed = locked_versions(path), installed_versions()
    return {
        name: (locked.get(name, "not locked"), installed.get(name, "missing"))
        for name in sorted(set(locked) | set(installed))
        if locked.get(name) != installed.get(name)
    }


@cache
def lock_record() -> dict[str, Any] | None:
    """The lock file's name and SHA-256, and whether the installed versions match it (None outside a checkout)."""
    path = lock_file()
    if path is None:
        return None
    differences = lock_differences(path)
    return {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "installed_matches": not differences,
        "differences": {name: f"locked {a}, installed {b}" for name, (a, b) in differences.items()},
    }


def provenance(**extra: Any) -> dict[str, Any]:
    """A JSON-ready record of versions, commit and lock file, plus whatever the caller adds."""
    return {
        "package": "cadre-sim",
        "package_version": _version("cadre-sim"),
        "git_commit": git_commit(),
        "lock": lock_record(),
        "python": platform.python_version(),
        "mesa": _version("mesa"),
        "numpy": _version("numpy"),
        "pandas": _version("pandas"),
        **extra,
    }


# Modules that read runs but do not make them: a change to them keeps stored runs valid (the
# analysis designs they build are guarded by the batch store's spec check instead).
ANALYSIS_ONLY = {"figures.py", "lang.py", "fonts.py", "robustness.py", "voi.py", "design.py", "search.py"}
# Libraries whose versions can change a run's numbers.
COMPUTING_PACKAGES = ("numpy", "pandas", "scipy", "mesa", "pyarrow")


def model_inputs(code: Path | None = None, data: Path | None = None) -> dict[str, str]:
    """Everything that decides a run's numbers, each with a short SHA-256 or a version.

    Keys: 'code/<module path>' for the simulator's modules (not the report package nor
    ANALYSIS_ONLY), 'data/<path>' for every file in data/, the lock file, and
    'package/<name>' for COMPUTING_PACKAGES. A batch store records this (sim.batch.store) and
    refuses to resume, or `sim rerun` to re-run, when it changed, naming what changed.
    """
    from sim.resources import folder

    code = code or Path(__file__).resolve().parent
    data = data or folder("data")
    modules = [p for p in sorted(code.rglob("*.py")) if "report" not in p.relative_to(code).parts and p.name not in ANALYSIS_ONLY]
    files = {f"code/{p.relative_to(code).as_posix()}": p for p in modules}
    files |= {f"data/{p.relative_to(data).as_posix()}": p for p in sorted(data.rglob("*")) if p.is_file() and p.suffix != ".pyc"}
    lock = lock_file()
    if lock is not None:
        files[lock.name] = lock
    found = {key: hashlib.sha256(path.read_bytes()).hexdigest()[:16] for key, path in files.items()}
    return found | {f"package/{name}": _version(name) for name in COMPUTING_PACKAGES}


def inputs_fingerprint(inputs: dict[str, str]) -> str:
    """One short hash of `model_inputs()`: equal iff every input is."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def inputs_changes(before: dict[str, str], now: dict[str, str], limit: int = 6) -> str:
    """'data/parameters.yaml changed; package/numpy 2.1.3 -> 2.2.0; code/x.py added', at most `limit` items."""
    items = []
    for key in sorted(set(before) | set(now)):
        old, new = before.get(key), now.get(key)
        if old == new:
            continue
        if old is None or new is None:
            items.append(f"{key} {'added' if old is None else 'removed'}")
        else:
            items.append(f"{key} {old} -> {new}" if key.startswith("package/") else f"{key} changed")
    more = f"; and {len(items) - limit} more" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more
