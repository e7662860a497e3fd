"""Provenance: the commit a result names, and when it is '+dirty'."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sim import provenance


def git(root: Path, *args: str) -> str:
    command = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def test_regenerated_reports_do_not_make_the_source_dirty_but_a_source_change_does(tmp_path, monkeypatch):
    for name in ("src/model.py", "reports/compare/metrics.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1\n", encoding="utf-8")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    head = git(tmp_path, "rev-parse", "HEAD")
    monkeypatch.delenv(provenance.COMMIT_VARIABLE, raising=False)
    monkeypatch.setattr(provenance, "source_root", lambda: tmp_path)
    (tmp_path / "reports/compare/metrics.json").write_text("2\n", encoding="utf-8")  # an earlier report of `make reports`
    (tmp_path / "notes.txt").write_text("untracked\n", encoding="utf-8")
    provenance.git_commit.cache_clear()  # it is read once per process
    assert provenance.git_commit() == head
    (tmp_path / "src/model.py").write_text("2\n", encoding="utf-8")
    provenance.git_commit.cache_clear()
    assert provenance.git_commit() == f"{head}+dirty"
    provenance.git_commit.cache_clear()
