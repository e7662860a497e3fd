"""The batch store under damage: stray copies, flipped bytes, truncated parts, bad manifests and journals,
duplicated, removed or forged journal lines, foreign parts, a lost journal, changed model inputs, a full disk,
refused starts; and what the manifest costs per part.

One small serial store (6 runs in 3 part files) is made once and copied for each test.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import invoke_cli
from sim.batch import load_results, paired_differences, read_manifest, rerun, run_experiment, stored_run, summarize
from sim.batch import runner as runner_module
from sim.batch import store as store_module
from sim.batch.store import JOURNAL, MANIFEST, ResultStore, live_entries
from sim.errors import InputError, RunError
from sim.provenance import inputs_changes, inputs_fingerprint, model_inputs
from sim.resources import folder

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


# --- Every reader verifies: a journal line duplicated, removed or forged is refused by all of them -------------


def _lines(store: Path) -> list[str]:
    return (store / JOURNAL).read_text(encoding="utf-8").splitlines(keepends=True)


def _forge(line: str, **changes) -> str:
    return json.dumps({**json.loads(line), **changes}, separators=(",", ":")) + "\n"


def _renamed(line: str) -> str:
    runs = json.loads(line)["runs"]
    first = next(iter(runs))
    return _forge(line, runs={**{k: v for k, v in runs.items() if k != first}, first.replace("-r00", "-r09"): runs[first]})


MUTATIONS = {
    "duplicated": lambda lines, i: [*lines[: i + 1], lines[i], *lines[i + 1 :]],
    "removed": lambda lines, i: [*lines[:i], *lines[i + 1 :]],
    "forged with no runs": lambda lines, i: [*lines[:i], _forge(lines[i], runs={}), *lines[i + 1 :]],
    "forged with a run renamed": lambda lines, i: [*lines[:i], _renamed(lines[i]), *lines[i + 1 :]],
    "forged from another spec": lambda lines, i: [*lines[:i], _forge(lines[i], spec_fingerprint="0" * 16), *lines[i + 1 :]],
    "a forged 'dropped' line": lambda lines, i: [*lines, json.dumps({"dropped": json.loads(lines[i])["part"]}) + "\n"],
}


def assert_every_reader_refuses(store: Path, run_id: str, *words: str) -> None:
    """The Python readers raise one InputError naming the store; the CLI readers exit 2 with one line."""
    readers = {
        "load_results": lambda: load_results(store),
        "summarize": lambda: summarize(store),
        "paired_differences": lambda: paired_differences(store),
        "stored_run": lambda: stored_run(store, run_id),
        "rerun": lambda: rerun(store, run_id),
    }
    for name, read in readers.items():
        with pytest.raises(InputError) as caught:
            read()
        message = str(caught.value)
        assert str(store) in message and "\n" not in message and all(w in message for w in words), (name, message)
    for args in (["summarize", store], ["rerun", store, run_id]):
        result = invoke_cli(args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("line", [0, 1, 2])
def test_any_one_journal_line_duplicated_removed_or_forged_is_refused_by_every_reader(
    store: Path, made, mutation: str, line: int
) -> None:
    lines = _lines(store)
    (store / JOURNAL).write_text("".join(MUTATIONS[mutation](lines, line)), encoding="utf-8")
    assert_every_reader_refuses(store, made[1]["run_id"].iloc[0])


def test_a_duplicated_line_no_longer_gives_duplicate_rows_and_resume_refuses_it(store: Path, made) -> None:
    lines = _lines(store)
    (store / JOURNAL).write_text("".join([*lines, lines[1]]), encoding="utf-8")
    assert_every_reader_refuses(store, made[1]["run_id"].iloc[0], "listed twice", "new --out")
    with pytest.raises(InputError, match="appears in both"):
        resume(store)


def test_a_line_with_no_runs_is_refused_on_resume_instead_of_running_them_twice(store: Path) -> None:
    lines = _lines(store)
    (store / JOURNAL).write_text("".join([lines[0], _forge(lines[1], runs={}), lines[2]]), encoding="utf-8")
    with pytest.raises(InputError, match="does not match the part's own record"):
        resume(store)


def test_a_removed_line_is_refused_by_readers_and_its_runs_redone_on_resume(store: Path, made) -> None:
    lines = _lines(store)
    (store / JOURNAL).write_text(lines[0] + lines[2], encoding="utf-8")
    assert_every_reader_refuses(store, made[1]["run_id"].iloc[0], "not in the journal", "--resume")
    report = resume(store)
    assert report.finished == 2 and report.already_done == 4
    pd.testing.assert_frame_equal(load_results(store), made[1], check_exact=True)


def test_a_part_from_another_experiment_is_refused(store: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    run_experiment(write_spec(other, replicates=4), workers=1, out=other / "store", quiet=True, part_runs=2)
    shutil.copy(other / "store" / "part-00003.parquet", store / "part-00004.parquet")  # same columns, runs r003
    foreign = _forge(_lines(other / "store")[2], part="part-00004.parquet")
    (store / JOURNAL).write_text("".join([*_lines(store), foreign]), encoding="utf-8")
    assert_every_reader_refuses(store, "baseline-0000-r000", "another experiment spec", "new --out")
    with pytest.raises(InputError, match="different experiment spec"):
        resume(store)


def test_a_lost_journal_means_the_runs_are_redone_not_trusted(store: Path, made, capsys) -> None:
    (store / JOURNAL).unlink()
    part = store / "part-00002.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a damaged part: adopting it from its footer would certify it
    part.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"not journaled.*--resume"):
        load_results(store)
    report = resume(store)
    assert report.already_done == 0 and report.finished == 6
    assert "3 part file(s)" in capsys.readouterr().err
    pd.testing.assert_frame_equal(load_results(store), made[1], check_exact=True)
    assert [e["part"] for e in live_entries(store)] == ["part-00004.parquet"]  # new parts; the old ones ignored


def test_an_unfinished_store_is_read_with_a_warning(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    run_experiment(spec, workers=1, out=tmp_path / "s", quiet=True, only=["baseline-0000-r000", "all_programs-0000-r000"])
    result = invoke_cli(["summarize", tmp_path / "s"])
    assert result.returncode == 0 and "warning:" in result.stderr and "2 of 6 runs are finished" in result.stderr


# --- Stale inputs: a store remembers the code, data and library versions its runs were made with -----------------


def _changed_inputs(monkeypatch: pytest.MonkeyPatch, key: str = "data/parameters.yaml") -> None:
    real = store_module.model_inputs()
    changed = {**real, key: "0123456789abcdef"}
    monkeypatch.setattr(store_module, "model_inputs", lambda: changed)
    monkeypatch.setattr(runner_module, "model_inputs", lambda: changed)


def test_resume_and_rerun_refuse_changed_model_inputs_unless_allowed(store: Path, made, monkeypatch) -> None:
    _changed_inputs(monkeypatch)
    changed = r"inputs changed since this store was made \(data/parameters.yaml changed\).*--allow-mixed"
    with pytest.raises(InputError, match=changed):
        resume(store)
    with pytest.raises(InputError, match=r"inputs changed since the batch ran \(data/parameters.yaml changed\).*checkout"):
        rerun(store, made[1]["run_id"].iloc[0])
    result = invoke_cli(["batch", store.parent / "spec.yaml", "--out", store, "--resume", "--workers", "1", "--quiet"])
    assert result.returncode == 2 and "data/parameters.yaml changed" in result.stderr
    report = resume(store, allow_mixed=True)
    assert report.already_done == 6
    manifest = read_manifest(store)
    assert "data/parameters.yaml changed" in manifest["sessions"][-1]["allow_mixed"]
    assert len(manifest["inputs_fingerprints"]) == 2 and manifest["inputs"] == model_inputs()  # the first session's
    pd.testing.assert_frame_equal(load_results(store), made[1], check_exact=True)


def test_model_inputs_name_an_edited_data_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(folder("data"), data)
    before = model_inputs(data=data)
    parameters = data / "parameters.yaml"
    parameters.write_text(parameters.read_text(encoding="utf-8").replace("default:", "default: ", 1), encoding="utf-8")
    after = model_inputs(data=data)
    assert [k for k in before if before[k] != after[k]] == ["data/parameters.yaml"]
    assert inputs_changes(before, after) == "data/parameters.yaml changed"
    assert inputs_fingerprint(before) != inputs_fingerprint(after)


def test_ctrl_c_before_any_run_finished_says_nothing_was_saved(tmp_path: Path, monkeypatch, capsys) -> None:
    def interrupted(*args) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner_module._Batch, "_loop", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(write_spec(tmp_path), workers=1, out=tmp_path / "s", quiet=True)
    err = capsys.readouterr().err
    assert "nothing was saved; run the batch again" in err and "--resume" not in err
    assert not (tmp_path / "s").exists()  # the start's files are gone, as the message says
