"""Where the project's own files are: data/, notebooks/ and experiments/, read with importlib.resources.

The three folders stay at the top of the repository; the build installs them as the resource
packages `sim.data`, `sim.notebooks` and `sim.experiments` (pyproject.toml,
`[tool.setuptools] package-dir`). An editable install (`make setup`) maps those packages to the
checkout's folders, so a file added to data/ is found at once; a wheel carries copies. Every
module that needs one of these files asks this module, never `__file__`:

    data_file("parameters.yaml")            # data/parameters.yaml
    data_file("scenarios", "baseline.yaml") # data/scenarios/baseline.yaml
    notebook_file("scenario.ipynb")         # notebooks/scenario.ipynb
    resolve("data/scenarios/baseline.yaml") # a user's path as given if it exists, else the packaged file

`source_root()` is the git checkout the package runs from (None for a wheel): provenance asks
it for the commit, and the committed reports live under it.
"""

from __future__ import annotations

import functools
import importlib.resources
import tomllib
from pathlib import Path, PurePosixPath

# Top-level folder of the repository -> the resource package the build installs it as.
PACKAGED = {"data": "sim.data", "notebooks": "sim.notebooks", "experiments": "sim.experiments"}


class ResourceMissingError(FileNotFoundError):
    """The installation has no such packaged file."""


@functools.cache
def folder(name: str) -> Path:
    """The installed folder of a packaged top-level folder ('data', 'notebooks', 'experiments')."""
    if name not in PACKAGED:
        raise KeyError(f"'{name}' is not a packaged folder; packaged: {', '.join(PACKAGED)}")
    found = importlib.resources.files(PACKAGED[name])
    if not isinstance(found, Path):  # e.g. run from a zip archive: paths are needed by papermill, pandas, ...
        raise ResourceMissingError(f"{PACKAGED[name]} is not on the file system ({found}); install cadre-sim unzipped")
    return found


def _file(name: str, parts: tuple[str, ...]) -> Path:
    return folder(name).joinpath(*parts)


def data_file(*parts: str) -> Path:
    """A file (or folder) in the project's data/, e.g. data_file('scenarios', 'baseline.yaml').

    The path is returned whether or not it exists, so callers can test `is_file()` and writers
    (`sim calibrate`) can create it.
    """
    return _file("data", parts)


def notebook_file(*parts: str) -> Path:
    """A file in the project's notebooks/."""
    return _file("notebooks", parts)


def experiment_file(*parts: str) -> Path:
    """A file in the project's experiments/."""
    return _file("experiments", parts)


def packaged_path(path: Path | str) -> Path | None:
    """'data/scenarios/x.yaml' (a relative path starting with a packaged folder) -> the installed file; else None."""
    pure = PurePosixPath(str(path).replace("\\", "/"))
    if pure.is_absolute() or len(pure.parts) < 2 or pure.parts[0] not in PACKAGED:
        return None
    return _file(pure.parts[0], pure.parts[1:])


def resolve(path: Path | str) -> Path:
    """A user's path as given when it exists (or is absolute); else the packaged file it names.

    `data/scenarios/baseline.yaml` therefore works from the checkout's root, from notebooks/
    (JupyterLab's folder) and from anywhere a wheel is installed; a file of the user's own
    always wins. A path that is neither comes back unchanged, so the caller's 'file not found'
    names what the user typed.
    """
    given = Path(path).expanduser()
    if given.is_absolute() or given.exists():
        return given
    packaged = packaged_path(path)
    if packaged is not None and packaged.exists():
        return packaged
    return given


def display_path(path: Path | str) -> str:
    """How a path is recorded in outputs: 'data/…' for a packaged file, relative to the checkout inside it, else absolute.

    Records then do not depend on where the project was cloned or installed.
    """
    path = Path(path).resolve()
    for name in PACKAGED:
        base = folder(name).resolve()
        if path.is_relative_to(base):
            return str(PurePosixPath(name, *path.relative_to(base).parts))
    root = source_root()
    if root is not None and path.is_relative_to(root):
        return str(path.relative_to(root))
    return str(path)


@functools.cache
def source_root() -> Path | None:
    """The checkout this package runs from (editable install or source tree), or None when installed from a wheel.

    Recognised by its pyproject.toml naming cadre-sim two levels above this file, so an
    installed copy inside someone else's repository never reports that repository.
    """
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if not (root / "src" / "sim").is_dir() or not pyproject.is_file():
        return None
    try:
        name = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None
    return root if name == "cadre-sim" else None


def reports_dir() -> Path:
    """Where reports go by default: the checkout's reports/ (the committed references), else ./reports."""
    root = source_root()
    return root / "reports" if root is not None else Path("reports").resolve()
