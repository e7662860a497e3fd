"""The batch store under damage: stray copies, flipped bytes, truncated parts, bad manifests and journals,
a full disk, refused starts; and what the manifest costs per part.

One small serial store (6 runs in 3 part files) is made once and copied for each test.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import invoke_cli
from sim.batch import load_results, read_manifest, run_experiment, stored_run
from sim.batch import store as store_module
from sim.batch.store import JOURNAL, MANIFEST, ResultStore, live_entries
from sim.errors import InputError, RunError

SPEC = {
    "name": "damage",
    "scenarios": ["baseline", "all_programs"],
    "parameters": {"n_communities": 50, "months": 6},
    "replicates": 3,
    "seed": 5,
}


def write_spec(folder: Path, **fields) -> Path:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump({**SPEC, **fields}))
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("store")
    report = run_experiment(write_spec(folder), workers=1, out=folder / "store", quiet=True, part_runs=2)
    assert report.ok and report.finished == 6
    return folder, load_results(folder / "store")


@pytest.fixture
def store(made: tuple[Path, pd.DataFrame], tmp_path: Path) -> Path:
    shutil.copytree(made[0] / "store", tmp_path / "store")
    shutil.copy(made[0] / "spec.yaml", tmp_path / "spec.yaml")
    return tmp_path / "store"


def resume(store: Path, **options) -> object:
    return run_experiment(store.parent / "spec.yaml", workers=1, out=store, quiet=True, resume=True, **options)


def test_stray_copies_are_never_read(store: Path, made) -> None:
    shutil.copy(store / "part-00001.parquet", store / "part-00001 (copy).parquet")
    shutil.copy(store / "part-00002.parquet", store / "part-00009.parquet")  # a copy under a part's own name
    pd.testing.assert_frame_equal(load_results(store), made[1], check_exact=True)
    assert len(stored_run(store, made[1]["run_id"].iloc[0])) == 7
    report = resume(store)
    assert report.finished == 0 and report.already_done == 6
    pd.testing.assert_frame_equal(load_results(store), made[1], check_exact=True)


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_damaged_part_is_an_error_naming_it_then_recovers(store: Path, made, damage: str) -> None:
    part = store / "part-00002.parquet"
    data = bytearray(part.read_bytes())
    if damage == "flipped":
        middle = len(data) // 2
        data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    else:
        data = data[: len(data) - 100]
    part.write_bytes(bytes(data))
    words = ("part-00002.parquet", "damaged", "move it out of the store", "--resume")
    for attempt in (lambda: load_results(store), lambda: resume(store)):
        with pytest.raises(InputError) as caught:
            attempt()
        assert all(w in str(caught.value) for w in words), str(caught.value)
    result = invoke_cli(["summarize", store])
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "part-00002.parquet" in result.stderr
    part.rename(store.parent / "damaged.parquet")  # what the message says to do
    report = resume(store)
    assert report.finished == 2 and report.already_done == 4
    pd.testing.assert_frame_equal(load_results(store), made[1], check_exact=True)  # re-run: the same numbers


def test_bad_manifest_is_reported_and_rebuilt_on_resume(store: Path, capsys) -> None:
    (store / MANIFEST).write_bytes(b"\xff\xfe not a manifest")
    with pytest.raises(InputError, match=r"damaged.*--resume to rebuild it"):
        read_manifest(store)
    assert invoke_cli(["summarize", store]).returncode == 2
    report = resume(store)
    assert report.already_done == 6 and "rebuilt" in capsys.readouterr().err
    assert read_manifest(store)["counts"]["ok"] == 6


def test_journal_damage(store: Path) -> None:
    journal = store / JOURNAL
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    journal.write_text(lines[0] + lines[1] + lines[2][:40], encoding="utf-8")  # a kill while appending the last line
    assert len(live_entries(store)) == 2  # the torn line is ignored: its part counts as not done
    report = resume(store)
    assert report.finished == 2 and journal.read_text(encoding="utf-8").endswith("\n")
    journal.write_text(lines[0] + "garbage\n" + lines[1], encoding="utf-8")
    with pytest.raises(InputError, match=r"_journal.jsonl: line 2 is damaged"):
        load_results(store)


def test_manifest_is_written_twice_per_session_however_many_parts(tmp_path: Path, monkeypatch) -> None:
    writes = []
    original = ResultStore.write_manifest
    monkeypatch.setattr(ResultStore, "write_manifest", lambda self, *a: (writes.append(1), original(self, *a)))
    report = run_experiment(write_spec(tmp_path), workers=1, out=tmp_path / "s", quiet=True, part_runs=1)
    assert report.finished == 6 and len(live_entries(tmp_path / "s")) == 6  # six parts, six journal lines
    assert len(writes) == 2  # session start and end, not once per part


def test_full_disk_is_one_line_and_keeps_what_was_written(tmp_path: Path, monkeypatch) -> None:
    written = []

    def write_table(table, where, **kwargs):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(where)
        return original(table, where, **kwargs)

    original = store_module.pq.write_table
    monkeypatch.setattr(store_module.pq, "write_table", write_table)
    with pytest.raises(RunError, match=r"No space left on device; 2 runs are saved in its part files.*--resume"):
        run_experiment(write_spec(tmp_path), workers=1, out=tmp_path / "s", quiet=True, part_runs=2)
    assert len(live_entries(tmp_path / "s")) == 1 and not list((tmp_path / "s").glob(".*.tmp"))
    written.clear()
    result = invoke_cli(
        ["batch", tmp_path / "spec.yaml", "--out", tmp_path / "t", "--workers", "1", "--quiet", "--part-runs", "2"]
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert next(line for line in result.stderr.splitlines() if line.startswith("error:")).count("No space left") == 1


def test_refused_or_failed_starts_leave_no_debris(tmp_path: Path, monkeypatch) -> None:
    spec = write_spec(tmp_path)
    debris = tmp_path / "old"
    debris.mkdir()
    (debris / "_lock").touch()
    (debris / MANIFEST).write_text("{}")  # what an older version's refused start left
    assert run_experiment(spec, workers=1, out=debris, quiet=True).finished == 6  # not "already holds results"

    def no_backend(*args, **kwargs):
        raise InputError("--scheduler x: cannot reach a Dask scheduler there")

    monkeypatch.setattr("sim.batch.runner.open_backend", no_backend)
    fresh = tmp_path / "a" / "b"
    with pytest.raises(InputError, match="cannot reach"):
        run_experiment(spec, out=fresh, quiet=True)
    assert not (tmp_path / "a").exists()
    (tmp_path / "file").touch()
    assert invoke_cli(["batch", spec, "--out", tmp_path / "file"]).stderr.startswith("error: --out")


def test_a_store_never_touches_files_it_did_not_write(store: Path, tmp_path: Path) -> None:
    (store / ".notes.tmp").write_text("mine")
    (store / ".part-00042.parquet.x1y2.tmp").write_bytes(b"half a part")  # a kill during a write
    resume(store)
    assert (store / ".notes.tmp").read_text() == "mine" and not (store / ".part-00042.parquet.x1y2.tmp").exists()
    foreign = tmp_path / "data"
    foreign.mkdir()
    (foreign / "seed_figures.csv").write_text("precious")
    with pytest.raises(InputError, match="not a batch store's"):
        run_experiment(write_spec(tmp_path), workers=1, out=foreign, quiet=True)
    assert sorted(p.name for p in foreign.iterdir()) == ["seed_figures.csv"]


@pytest.mark.parametrize("name", [".", "..", ".hidden", "a/b", "x" * 101])
def test_store_names_stay_inside_results(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match=r"name = .* must be given, using"):
        run_experiment(write_spec(tmp_path, name=name), workers=1, quiet=True)
