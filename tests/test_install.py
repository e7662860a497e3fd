"""Installing: the wheel works outside the checkout, `make setup` installs exactly the lock, the
lock covers pyproject.toml, and the set-up refuses a Python that is too old instead of replacing it.

The wheel test builds a wheel from the working tree (tracked and new files, in a copy), installs
it with `--no-deps` into a fresh venv outside the checkout whose dependencies are this
environment's (a .pth line; `pip check` confirms the wheel's requirements are met there), and
runs `sim run` and `sim report` from a folder that has no data/ and no notebooks/. So the code
and every file it reads come from the wheel; the dependency versions are the locked ones, which
`test_pip_freeze_matches_the_lock` checks. No network is needed beyond the build's setuptools.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import ROOT
from sim.output import write_table
from sim.provenance import LOCK_NAME, locked_versions, normalise
from sim.simulate import simulate

LOCK = ROOT / LOCK_NAME
PACKAGED = ("data", "notebooks", "experiments")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would point Python or sim at the checkout."""
    drop = {"PYTHONPATH", "CADRE_SIM_GIT_COMMIT", "CADRE_SIM_PROGRESS_FILE", "VIRTUAL_ENV"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "PYTHONWARNINGS": "ignore", **extra}


def source_files() -> list[str]:
    """Tracked and new (not ignored) files of the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [line for line in listed.stdout.splitlines() if (ROOT / line).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the working tree (so no stale build/ folder can leak into it)."""
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the working tree")
    copy = tmp_path_factory.mktemp("source")
    for name in source_files():
        if name.split("/")[0] in {"reports", "tests", "benchmarks", "docs"}:
            continue
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    dist = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(copy)]
    done = subprocess.run(build, capture_output=True, text=True, env=clean_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    (found,) = dist.glob("cadre_sim-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv outside the checkout with the wheel installed; returns its bin/ folder."""
    target = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = Path(
        subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_cadre_sim_test_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    done = subprocess.run([*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    check = subprocess.run([*pip, "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr  # every requirement of the wheel is met
    return target / "bin"


def test_the_wheel_carries_every_packaged_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"sim/{name}" for name in source_files() if name.split("/")[0] in PACKAGED}
    assert expected and expected <= names, sorted(expected - names)
    assert {"sim/data/parameters.yaml", "sim/notebooks/scenario.ipynb", "sim/experiments/compare_programs.yaml"} <= names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata and "Classifier: Programming Language :: Python :: 3.12" in metadata
    assert "Provides-Extra: report" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_sim_runs_from_the_wheel_outside_the_checkout(installed, tmp_path):
    where = subprocess.run(
        [
            installed / "python",
            "-c",
            "import sim, sim.resources as r; print(sim.__file__); print(r.folder('data')); print(r.source_root())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    module, data, root = where.stdout.split("\n")[:3]
    venv_root = installed.parent
    assert Path(module).is_relative_to(venv_root) and Path(data).is_relative_to(venv_root) and root == "None", where.stdout
    version = subprocess.run([installed / "sim", "--version"], capture_output=True, text=True, env=clean_env())
    assert version.stdout.strip() == "cadre-sim 0.1.0"

    done = subprocess.run(
        [installed / "sim", "run", "baseline", "--seed", "1", "--out", "run.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr
    reference = tmp_path / "reference.csv"
    write_table(simulate(ROOT / "data" / "scenarios" / "baseline.yaml", seed=1), reference)
    assert (tmp_path / "run.csv").read_bytes() == reference.read_bytes()  # the same numbers as the checkout
    record = json.loads((tmp_path / "run.csv.provenance.json").read_text(encoding="utf-8"))
    assert record["git_commit"] == "unknown" and record["lock"] is None and record["scenario"]["source"].endswith("baseline.yaml")


def test_sim_report_runs_from_the_wheel_outside_the_checkout(installed, tmp_path):
    small = ["-p", "replicates", "2", "-p", "n_communities", "30", "-p", "tracked_replicates", "1", "-p", "workers", "1"]
    # Jupyter's data files (nbconvert's HTML templates) came with the dependencies, in this environment's share/.
    env = clean_env(JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"))
    done = subprocess.run(
        [installed / "sim", "report", "scenario", *small], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "reports" / "scenario"  # ./reports/<name>/: no checkout, no committed reference
    assert (out / "index.html").is_file() and list(out.glob("*.png"))
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["scenario_file"] == "data/scenarios/baseline.yaml" and metrics["replicates"] == 2
    assert metrics["report"]["notebook"] == "notebooks/scenario.ipynb"
    assert metrics["provenance"]["git_commit"] == "unknown"
    assert "scenario_baseline: 2/2 runs done" in done.stderr  # batch progress reaches the terminal


# --- the lock -----------------------------------------------------------------------------------
def freeze() -> dict[str, str]:
    """`pip freeze` of this environment (the project itself, installed editable, left out)."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    )
    pins = {}
    for line in listed.stdout.splitlines():
        name, _, version = line.partition("==")
        if version:
            pins[normalise(name)] = version
    return pins


def test_pip_freeze_matches_the_lock():
    """`make setup` installs exactly the locked versions: nothing missing, nothing else, no other version."""
    installed, locked = freeze(), locked_versions(LOCK)
    differences = {
        n: (locked.get(n), installed.get(n)) for n in set(installed) | set(locked) if installed.get(n) != locked.get(n)
    }
    assert not differences, f"(locked, installed); run `make setup` to sync .venv: {differences}"


def test_the_lock_satisfies_pyproject_and_pins_every_package_with_hashes():
    """A requirement added to pyproject.toml without `make lock` fails here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *(r for group in project["optional-dependencies"].values() for r in group)]
    locked = locked_versions(LOCK)
    for line in requirements:
        requirement = Requirement(line)
        if normalise(requirement.name) == project["name"]:
            continue
        assert normalise(requirement.name) in locked, f"{requirement.name} is not in {LOCK_NAME}: run `make lock`"
        assert requirement.specifier.contains(locked[normalise(requirement.name)], prereleases=True), line
    lines = LOCK.read_text(encoding="utf-8").splitlines()
    pinned = [i for i, line in enumerate(lines) if "==" in line and not line.startswith((" ", "#"))]
    unhashed = [lines[i] for i in pinned if not lines[i + 1].strip().startswith("--hash=sha256:")]
    assert len(pinned) >= len(locked) and not unhashed, unhashed  # pip installs it with --require-hashes
    assert "make lock" in lines[1]  # how to update it


# --- choosing the interpreter -------------------------------------------------------------------
def find_python(python: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ROOT / "tools" / "find-python.sh"], capture_output=True, text=True, env=clean_env(PYTHON=python))


def test_an_explicit_python_is_used_as_given(tmp_path):
    done = find_python(sys.executable)
    assert done.returncode == 0 and Path(done.stdout.strip()).resolve() == Path(sys.executable).resolve()


def test_an_explicit_old_python_is_refused_not_replaced(tmp_path):
    old = tmp_path / "python3.11"
    old.write_text('#!/bin/sh\ncase "$2" in *version_info*) exit 1;; *) echo 3.11.7;; esac\n', encoding="utf-8")  # a 3.11
    old.chmod(old.stat().st_mode | stat.S_IEXEC)
    done = find_python(str(old))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error: PYTHON={old} is Python 3.11.7; cadre-sim needs Python >= 3.12")
    missing = find_python(str(tmp_path / "nothing-here"))
    assert missing.returncode == 1 and "no such interpreter" in missing.stderr
