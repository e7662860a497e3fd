"""Packaging and data hygiene: pyproject.toml and environment.yml agree; the parameter
catalogue is complete and every figure it (or programs.yaml) cites exists."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from conftest import PARAMETERS_FILE, PROGRAMS_FILE, ROOT, parameter_entries, program_entries, seed_figures
from sim.parameters import catalogue

# pip requirement (normalised name, with extras) -> the conda-forge packages that provide it.
CONDA_ALIASES = {
    "dask[distributed]": ("dask", "distributed"),
    "mesa[network]": ("mesa", "networkx"),
    "mesa[viz]": ("mesa",),  # its packages (solara, altair, starlette) are listed on their own as well
}
# On PyPI only (not conda-forge): installed by environment.yml's pip: section, with the same specifier.
PIP_ONLY = {"noto-cjk-sans-otc"}
CONDA_ONLY = {"python", "pip"}  # python is checked against requires-python; pip installs the project
CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_requirements() -> dict[str, SpecifierSet]:
    """conda-equivalent name -> specifier, from [project].dependencies and every optional group."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        lines += group
    found: dict[str, SpecifierSet] = {}
    for line in lines:
        req = Requirement(line)
        name = normalise(req.name)
        if name == normalise(project["name"]):  # an extra that includes other extras ("cadre-sim[report,dask]")
            continue
        key = f"{name}[{','.join(sorted(normalise(e) for e in req.extras))}]" if req.extras else name
        for conda_name in CONDA_ALIASES.get(key, (name,)):
            assert conda_name not in found or found[conda_name] == req.specifier, f"{conda_name} listed twice"
            found[conda_name] = req.specifier
    return found


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def conda_requirements() -> tuple[dict[str, SpecifierSet], list[str]]:
    """conda name -> specifier, and the pip: sub-list."""
    found: dict[str, SpecifierSet] = {}
    pip: list[str] = []
    for entry in environment()["dependencies"]:
        if isinstance(entry, dict):
            pip += entry.get("pip", [])
            continue
        name, spec = CONDA_SPEC.match(str(entry)).groups()
        if spec and spec[0].isdigit():  # conda's "numpy 1.26.*" form
            spec = f"=={spec}"
        name = normalise(name)
        assert name not in found, f"{name} listed twice in environment.yml"
        found[name] = SpecifierSet(spec.replace(" ", ""))
    return found, pip


def test_same_packages_in_pyproject_and_environment():
    pip = pip_requirements()
    conda, _ = conda_requirements()
    conda_packages = (set(conda) - CONDA_ONLY) | PIP_ONLY
    difference = {"only in pyproject": set(pip) - conda_packages, "only in environment.yml": conda_packages - set(pip)}
    assert set(pip) == conda_packages, difference


@pytest.mark.parametrize("package", sorted(pip_requirements()))
def test_same_version_specifiers(package):
    conda, pip = conda_requirements()
    if package in PIP_ONLY:
        assert f"{package}{pip_requirements()[package]}" in [line.strip() for line in pip]
        return
    assert package in conda
    assert conda[package] == pip_requirements()[package], (str(conda[package]), str(pip_requirements()[package]))


def test_environment_python_and_pip_section():
    conda, pip = conda_requirements()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert conda["python"] == SpecifierSet(project["requires-python"])
    assert "pip" in conda
    lines = [line.strip() for line in pip]
    assert [line for line in lines if line.startswith("-") or normalise(Requirement(line).name) not in PIP_ONLY] == ["-e ."]
    assert "conda-forge" in environment()["channels"]


def test_normalisation_and_aliases():
    """The helpers used above do what they claim (so a mismatch would be seen)."""
    assert normalise("PyYAML") == normalise("pyyaml") and normalise("typing_extensions") == "typing-extensions"
    assert Requirement("dask[distributed]>=2024.1").extras == {"distributed"}
    assert SpecifierSet(">=3.5,<3.6") == SpecifierSet("<3.6,>=3.5") != SpecifierSet(">=3.5")


# --- parameter catalogue ------------------------------------------------------------------
SOURCE_START = re.compile(r"^(F\d{2}\b|assumption\b|calibrated\b)")
FIGURE_ID = re.compile(r"\bF(\d{2})\b(?:\s*[-–]\s*F(\d{2})\b)?")


def cited_figures(text: str) -> set[str]:
    """Figure IDs in a text; 'F37-F39' and 'F41–F43' cite the whole range."""
    ids = set()
    for first, last in FIGURE_ID.findall(text):
        end = int(last) if last else int(first)
        ids.update(f"F{i:02d}" for i in range(int(first), end + 1))
    return ids


def test_cited_figures_helper():
    expected = {"F05", "F11", "F12", "F37", "F38", "F39", "F41", "F42", "F43"}
    assert cited_figures("F11, F12: x; F37-F39 and F41–F43 (F05)") == expected


@pytest.mark.parametrize("name", sorted(parameter_entries()))
def test_parameter_entry_is_complete(name):
    entry = parameter_entries()[name]
    kind = entry.get("type", "float")
    assert kind in {"float", "int", "bool", "choice", "list"}
    assert "default" in entry
    assert str(entry.get("description", "")).strip()
    source = str(entry.get("source", ""))
    assert SOURCE_START.match(source), f"source must start with a figure ID, 'assumption' or 'calibrated': {source!r}"
    if kind not in {"bool", "choice"}:
        assert str(entry.get("unit", "")).strip(), "unit missing"
    if kind == "choice":
        assert entry["default"] in entry["choices"]
    if kind == "bool":
        assert isinstance(entry["default"], bool)
    if kind in {"float", "int"}:
        assert not isinstance(entry["default"], bool)
        low, high = entry["range"]
        allowed_low, allowed_high = entry.get("allowed", entry["range"])
        bounds = (allowed_low, low, entry["default"], high, allowed_high)
        assert allowed_low <= low <= entry["default"] <= high <= allowed_high, bounds
        if kind == "int":
            assert isinstance(entry["default"], int)
    # The model's own reader accepts the default as a value.
    assert catalogue()[name].check(entry["default"]) == catalogue()[name].default


def test_every_cited_figure_exists():
    known = set(seed_figures())
    for path in (PARAMETERS_FILE, PROGRAMS_FILE):
        cited = cited_figures(path.read_text(encoding="utf-8"))
        assert cited, path
        assert cited <= known, f"{path.name} cites unknown figures {sorted(cited - known)}"


def test_catalogue_lists_every_parameter_once():
    text = PARAMETERS_FILE.read_text(encoding="utf-8")
    top_level = re.findall(r"^([a-z][a-z0-9_]*):", text, flags=re.MULTILINE)
    assert len(top_level) == len(set(top_level)), "a parameter is declared twice (YAML keeps only the last)"
    assert list(catalogue()) == top_level


def test_programs_move_only_levers_to_allowed_values():
    specs = catalogue()
    ids = []
    for key, entry in program_entries().items():
        ids.append(entry["id"])
        assert entry["start"] <= entry["end"], key
        for lever, setting in entry["levers"].items():
            assert lever in specs and specs[lever].lever, f"{key}: {lever} is not a lever"
            specs[lever].check(setting["value"])
            assert setting["kind"] in ("investment", "recurring"), f"{key}: {lever}"
    assert sorted(ids) == ["P1", "P2", "P3"]


# --- imports are declared -------------------------------------------------------------------
def imported_top_level_modules() -> dict[str, set[str]]:
    """Top-level modules imported anywhere in src/sim (also inside functions) -> files importing them."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "src" / "sim").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


# Distributions that a declared one installs under another name: the `solara` package is a meta-package
# whose module `solara` comes from `solara-ui`.
INSTALLED_BY = {"solara-ui": "solara"}


def undeclared_imports() -> dict[str, str]:
    declared = set(pip_requirements())
    declared |= {dist for dist, by in INSTALLED_BY.items() if by in declared}
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module, files in imported_top_level_modules().items():
        if module in sys.stdlib_module_names or module in {"sim", "__future__"}:
            continue
        provided_by = {normalise(d) for d in distributions.get(module, [])}
        if not provided_by & declared:
            missing[module] = f"{sorted(provided_by) or 'not installed'} imported in {sorted(files)[0]}"
    return missing


def test_import_scan_sees_the_core_dependencies():
    modules = imported_top_level_modules()
    assert {"numpy", "pandas", "mesa", "yaml", "typer"} <= set(modules)


def test_every_third_party_import_is_a_declared_dependency():
    """Lazy imports count too: `pip install .` must give a working `sim batch`."""
    assert not undeclared_imports()


def test_every_subpackage_of_src_sim_is_listed_for_the_build():
    """pyproject lists packages explicitly (package-dir maps data/, notebooks/, experiments/): a new one must be added."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src" / "sim").rglob("__init__.py")}
    listed = set(setuptools["packages"])
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    for folder in ("data", "notebooks", "experiments"):
        assert setuptools["package-dir"][f"sim.{folder}"] == folder and f"sim.{folder}" in listed


def test_citation_file_names_this_version_and_the_source_article():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert citation["cff-version"] == "1.2.0" and citation["version"] == project["version"]
    assert citation["license"] == project["license"] == "MIT" and (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT")
    (article,) = citation["references"]
    assert article["title"] and article["authors"] and "seed_figures.csv" in article["notes"]
    assert {"message", "title", "authors", "type"} <= set(citation)
