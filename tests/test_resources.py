"""sim.resources finds the project's files through importlib.resources (a user's own path wins);
sim.provenance records the commit (handed down when set), the lock file's hash and whether the
installed versions match it."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.resources
from pathlib import Path

import pytest

from conftest import ROOT
from sim import provenance, resources
from sim.errors import InputError
from sim.scenario import load_scenario, scenario_file


def test_packaged_folders_are_the_checkouts_folders_in_an_editable_install():
    """`make setup` installs editable: the resource packages are the repository's own folders, so new files appear at once."""
    for name in resources.PACKAGED:
        assert resources.folder(name) == ROOT / name
        assert Path(str(importlib.resources.files(resources.PACKAGED[name]))) == ROOT / name
    assert resources.data_file("parameters.yaml").read_text(encoding="utf-8").strip()
    assert resources.data_file("scenarios", "baseline.yaml").is_file()
    assert resources.notebook_file("scenario.ipynb").is_file()
    assert resources.experiment_file("compare_programs.yaml").is_file()
    assert resources.source_root() == ROOT


def test_data_file_is_general_not_a_list_of_known_files():
    assert resources.data_file("no_such_file.yaml") == ROOT / "data" / "no_such_file.yaml"
    assert not resources.data_file("no_such_file.yaml").exists()
    with pytest.raises(KeyError, match="not a packaged folder"):
        resources.folder("reports")


def test_resolve_prefers_the_users_own_file_then_the_packaged_one(tmp_path):
    own = tmp_path / "data" / "scenarios" / "baseline.yaml"
    own.parent.mkdir(parents=True)
    own.write_text("name: mine\n", encoding="utf-8")
    with contextlib.chdir(tmp_path):
        assert resources.resolve("data/scenarios/baseline.yaml") == Path("data/scenarios/baseline.yaml")
        assert load_scenario("data/scenarios/baseline.yaml").name == "mine"
        assert resources.resolve("data/scenarios/all_programs.yaml") == ROOT / "data" / "scenarios" / "all_programs.yaml"
        assert resources.resolve("elsewhere/x.yaml") == Path("elsewhere/x.yaml")  # unchanged: the error names it
    assert resources.packaged_path("data/programs.yaml") == ROOT / "data" / "programs.yaml"
    assert resources.packaged_path("/data/programs.yaml") is None and resources.packaged_path("docs/ODD.md") is None


def test_display_path_records_project_files_independently_of_the_checkout(tmp_path):
    assert resources.display_path(ROOT / "data" / "scenarios" / "baseline.yaml") == "data/scenarios/baseline.yaml"
    assert resources.display_path(ROOT / "docs" / "ODD.md") == "docs/ODD.md"
    assert resources.display_path(tmp_path / "x.yaml") == str(tmp_path / "x.yaml")


def test_scenarios_by_name_and_unknown_names():
    assert scenario_file("baseline") == ROOT / "data" / "scenarios" / "baseline.yaml"
    assert load_scenario("talent_foundation").name == "talent_foundation"
    with pytest.raises(InputError, match=r"no scenario of that name.*did you mean 'baseline'"):
        scenario_file("baselin")


def test_source_root_is_none_for_a_copy_outside_a_cadre_sim_checkout(tmp_path, monkeypatch):
    """An installed copy inside someone else's repository must not report that repository's commit."""
    fake = tmp_path / "other" / "src" / "sim"
    fake.mkdir(parents=True)
    (tmp_path / "other" / "pyproject.toml").write_text('[project]\nname = "other"\n', encoding="utf-8")
    monkeypatch.setattr(resources, "__file__", str(fake / "resources.py"))
    resources.source_root.cache_clear()
    try:
        assert resources.source_root() is None
    finally:
        monkeypatch.undo()
        resources.source_root.cache_clear()
    assert resources.source_root() == ROOT


# --- provenance -------------------------------------------------------------------------------
def test_a_handed_down_commit_wins(monkeypatch):
    monkeypatch.setenv(provenance.COMMIT_VARIABLE, "abc123")
    provenance.git_commit.cache_clear()
    try:
        assert provenance.git_commit() == "abc123"
        assert provenance.provenance()["git_commit"] == "abc123"
    finally:
        monkeypatch.delenv(provenance.COMMIT_VARIABLE)
        provenance.git_commit.cache_clear()
    assert provenance.git_commit() != "abc123"


def test_outside_a_checkout_the_commit_is_unknown(monkeypatch):
    monkeypatch.delenv(provenance.COMMIT_VARIABLE, raising=False)
    monkeypatch.setattr(provenance, "source_root", lambda: None)
    monkeypatch.setattr(provenance, "_installed_commit", lambda: None)
    provenance.git_commit.cache_clear()
    try:
        assert provenance.git_commit() == "unknown"
        assert provenance.lock_file() is None and provenance.lock_differences() == {}
    finally:
        monkeypatch.undo()
        provenance.git_commit.cache_clear()


def test_locked_versions_follow_environment_markers(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "# comment\n"
        "numpy==2.5.5 \\\n    --hash=sha256:00\n"
        "appnope==1.0.0 ; sys_platform == 'darwin' \\\n    --hash=sha256:11\n"
        "Typing_Extensions==4.15.0 ; python_full_version >= '3.12' \\\n"
        "    # via pandas\n",
        encoding="utf-8",
    )
    linux = {"sys_platform": "linux", "python_full_version": "3.12.1"}
    assert provenance.locked_versions(lock, linux) == {"numpy": "2.5.5", "typing-extensions": "4.15.0"}
    assert provenance.locked_versions(lock, {**linux, "sys_platform": "darwin"})["appnope"] == "1.0.0"


def test_lock_differences_name_each_mismatch(tmp_path):
    numpy = importlib.metadata.version("numpy")
    lock = tmp_path / "requirements.lock"
    installed = provenance.installed_versions()
    pins = {**installed, "numpy": "0.0.1", "not-a-real-package": "1.0"}
    del pins["pandas"]
    lock.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()), encoding="utf-8")
    differences = provenance.lock_differences(lock)
    assert differences == {
        "numpy": ("0.0.1", numpy),
        "not-a-real-package": ("1.0", "missing"),
        "pandas": ("not locked", importlib.metadata.version("pandas")),
    }


def test_provenance_records_the_lock_files_hash():
    record = provenance.provenance()["lock"]
    lock = ROOT / "requirements.lock"
    assert record["file"] == "requirements.lock"
    assert record["sha256"] == hashlib.sha256(lock.read_bytes()).hexdigest()
    assert record["installed_matches"] == (not record["differences"])
