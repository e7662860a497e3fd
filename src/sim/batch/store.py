"""The results store: Parquet part files, a journal that lists them with checksums, and a manifest.

    results/compare_programs/
        part-00001.parquet     # rows of up to K finished runs; its footer lists their run ids
        part-00002.parquet
        _journal.jsonl         # one line per part file: name, SHA-256, size, its runs (append-only)
        _manifest.json         # spec, provenance, every run's seed, parameters, status, duration, error
        _lock                  # held while a batch writes (released by the kernel if the process dies)

The journal is the record of what is done: a run is done iff a part file the journal lists
holds it, and that file's SHA-256 still matches the journal's. Every reader goes through
`verified_entries` and `_tables`: only listed parts are read, each checksum is verified, each
journal line must agree with its part's own footer, each run must appear once and belong to
the experiment, every part must come from the store's spec and model inputs, and every run the
manifest records as finished must be where it says. So a stray copy, a garbled byte, a
duplicated, removed or forged journal line or a foreign part is never read as data: it is an
error that names the store and the problem and says how to recover.

The store records its model inputs (`sim.provenance.model_inputs`: code, data files, lock,
library versions); resuming with other inputs is refused unless `allow_mixed`, which the
manifest records.

Writing a part: temporary file, checksum, rename into place, then one journal line appended
(constant time per part, however many runs the batch has). A kill between the rename and the
append leaves a part the journal does not list: resuming ignores it (with a warning) and runs
its runs again (a part is never adopted without its journal line). The manifest is written whole
only when a session starts and ends.
`pandas.read_parquet(folder)` still reads the parts (names starting with '_' or '.' are
skipped) but verifies nothing; use `load_results`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.batch.runs import RunResult
from sim.batch.spec import ExperimentSpec, changes
from sim.errors import InputError
from sim.output import _atomic  # temp file in the same folder, then os.replace
from sim.provenance import inputs_changes, inputs_fingerprint, model_inputs

MANIFEST = "_manifest.json"
JOURNAL = "_journal.jsonl"
LOCK = "_lock"
META_KEY = b"sim_batch"
PART = re.compile(r"^part-(\d{5,})\.parquet\Z")
OWN_FILES = (MANIFEST, JOURNAL, LOCK)
# Temporary files of our own atomic writes: '.<name>.<random>.tmp' (sim.output._atomic).
OWN_TEMP = re.compile(r"^\.(part-\d{5,}\.parquet|_manifest\.json)\..+\.tmp\Z")
RECOVER = "move it out of the store, then run the batch again with --resume (its runs are run again)"
UNTRUSTED = "the store cannot be trusted: run the batch into a new --out"


class ResultStore:
    """One experiment's folder: knows which runs are done, appends part files and journal lines, writes the manifest."""

    def __init__(self, path: Path, spec: ExperimentSpec, allow_mixed: bool = False) -> None:
        self.path = path
        self.spec = spec
        self.fingerprint = spec.fingerprint()
        self.inputs = model_inputs()
        self.inputs_fingerprint = inputs_fingerprint(self.inputs)
        self.allow_mixed = allow_mixed
        self.mixed: str | None = None  # what changed, when resumed with other inputs under allow_mixed
        self.done: dict[str, dict[str, Any]] = {}  # run id -> {part, duration, worker, rows}
        self.previous: dict[str, Any] | None = None  # the manifest found on resume
        self.schema: pa.Schema | None = None
        self.warnings: list[str] = []  # for the batch's log
        self._next_part = 1
        self._lock_fd: int | None = None
        self._created: list[Path] = []  # what this session made, removed again by `abandon`
        self._wrote_part = False

    @classmethod
    def open(cls, path: Path | str, spec: ExperimentSpec, resume: bool, allow_mixed: bool = False) -> ResultStore:
        """Create the store, or reopen it to resume; refuses a folder it would spoil, or other model inputs
        unless `allow_mixed`."""
        store = cls(Path(path), spec, allow_mixed)
        store._make_folder()
        store._lock()
        try:
            kind = store._contents()
            if kind == "foreign":
                raise InputError(
                    f"{store.path}: the folder holds files that are not a batch store's; "
                    "a batch writes only into a new or empty folder or its own store; choose another --out"
                )
            if kind == "results" and not resume:
                raise InputError(
                    f"{store.path} already holds results ({len(store._listed())} part files); "
                    f"add --resume to finish that batch, or choose a new folder with --out"
                )
            if kind == "results":
                store._reopen()
        except BaseException:
            store.abandon()
            raise
        return store

    def _make_folder(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"--out {self.path}: is a file, not a folder")
        missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"--out {self.path}: cannot create the folder: {error.strerror or error}") from None
        self._created += reversed(missing)  # outermost first; removed innermost first
        if not (self.path / LOCK).exists():
            self._created.append(self.path / LOCK)

    def _contents(self) -> str:
        """'empty' (nothing, or only what a start that never wrote a part leaves), 'results', or 'foreign'."""
        names = {p.name for p in self.path.iterdir()} - {LOCK}
        if any(PART.match(n) for n in names) or _journal_lines(self.path / JOURNAL):
            return "results"
        leftovers = names - {MANIFEST, JOURNAL}
        return "foreign" if any(not OWN_TEMP.match(n) for n in leftovers) else "empty"

    def _lock(self) -> None:
        try:
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise InputError(f"--out {self.path}: cannot write there: {error.strerror or error}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            self._created = []  # the other batch's files
            raise InputError(f"{self.path}: another batch is writing to this store right now") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Release the store's lock (the kernel also releases it if the process dies)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def abandon(self) -> None:
        """Close, and if this session wrote no part, remove what it created (lock, manifest, folder): a refused
        or failed start leaves no debris that would refuse the next one."""
        self.close()
        if self._wrote_part:
            return
        for path in reversed(self._created):
            try:
                path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)
            except OSError:
                break  # not empty: something else is there; leave it

    def _listed(self) -> list[dict[str, Any]]:
        return live_entries(self.path)

    def _reopen(self) -> None:
        for stray in self.path.iterdir():
            if OWN_TEMP.match(stray.name):
                stray.unlink(missing_ok=True)
        _repair_torn_journal(self.path / JOURNAL)
        self.previous = self._previous_manifest()
        if self.previous is not None and "resolved" in self.previous:
            what = changes(self.previous["resolved"], self.spec.resolved())
            if what:
                raise InputError(
                    f"{self.path}: the experiment changed since this store was made ({'; '.join(what[:8])}"
                    f"{'; ...' if len(what) > 8 else ''}); run it into a new folder with --out, or restore the old spec"
                )
        entries = self._listed()
        self._check_inputs(entries)
        listed = set()
        for entry in entries:
            listed.add(entry["part"])
            self._take(entry)
        unlisted = []
        for part in sorted(p for p in self.path.iterdir() if PART.match(p.name)):
            self._next_part = max(self._next_part, int(PART.match(part.name).group(1)) + 1)
            if part.name not in listed:
                unlisted.append(part.name)
        if unlisted:
            self.warnings.append(
                f"warning: {len(unlisted)} part file(s) ({', '.join(unlisted[:3])}{', ...' if len(unlisted) > 3 else ''}) "
                "are not in the store's journal (a batch killed while writing one, a copy, or a lost journal); "
                "they are ignored and their runs are run again"
            )

    def _check_inputs(self, entries: list[dict[str, Any]]) -> None:
        """Refuse to resume with other model inputs than the store's runs were made with, unless allow_mixed."""
        previous = self.previous or {}
        held = {e.get("inputs_fingerprint") for e in entries}
        if self.previous is not None:
            held |= set(previous.get("inputs_fingerprints") or [None])
        if held <= {self.inputs_fingerprint}:
            return
        recorded = previous.get("inputs")
        what = (
            inputs_changes(recorded, self.inputs) or "the runs were made with several"
            if isinstance(recorded, dict)
            else "the store does not record them (made by an older version of sim)"
        )
        if not self.allow_mixed:
            raise InputError(
                f"{self.path}: the model's inputs changed since this store was made ({what}); new runs would not match its "
                "runs: run the batch into a new folder with --out (or add --allow-mixed to resume anyway, recorded in "
                "the manifest)"
            )
        self.mixed = what
        self.warnings.append(f"warning: resuming {self.path} with other model inputs ({what}), as --allow-mixed asks")

    def accepted_inputs(self) -> list[str]:
        """The input fingerprints this store's runs may carry: the first session's, and any allowed since."""
        earlier = list((self.previous or {}).get("inputs_fingerprints") or [])
        return list(dict.fromkeys([*earlier, self.inputs_fingerprint]))

    def _take(self, entry: dict[str, Any]) -> None:
        """Count a journal entry's runs as done, after checking its file against the journal."""
        part = self.path / entry["part"]
        if not part.is_file():
            self.warnings.append(f"warning: {entry['part']} is listed in the journal but missing; its runs are run again")
            self._append({"dropped": entry["part"], "reason": "missing", "written": _now()})
            return
        data = verify(part, entry)
        try:
            metadata = pq.read_schema(pa.BufferReader(data)).metadata
        except (OSError, pa.ArrowException):
            raise InputError(f"{part}: not a readable Parquet file; {RECOVER}") from None
        _check_footer(part, metadata, entry)
        if entry.get("spec_fingerprint") != self.fingerprint:
            raise InputError(
                f"{part}: written by a different experiment spec (fingerprint {entry.get('spec_fingerprint')}, "
                f"now {self.fingerprint}); use a new folder with --out"
            )
        for rid, info in entry["runs"].items():
            if rid in self.done:
                raise InputError(f"{self.path}: run {rid} appears in both {self.done[rid]['part']} and {part.name}; {RECOVER}")
            self.done[rid] = {**info, "part": part.name}
        if self.schema is None:
            self.schema = pq.read_schema(part).remove_metadata()

    def _previous_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None (with a warning) if it is missing or damaged: the journal says what is done."""
        file = self.path / MANIFEST
        if not file.is_file():
            return None
        try:
            manifest = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            self.warnings.append(f"warning: {file} is damaged; it is rebuilt from the journal and the experiment file")
            return None
        return manifest if isinstance(manifest, dict) else None

    def write_part(self, results: list[RunResult], session: int) -> str:
        """Write the rows of these finished runs as one new part file and journal it; returns its name."""
        table = self._table(results)
        name = f"part-{self._next_part:05d}.parquet"
        runs = {
            r.run_id: {"duration": round(r.duration, 4), "worker": r.worker, "rows": 0 if r.rows is None else len(r.rows)}
            for r in results
        }
        meta = {
            "spec_fingerprint": self.fingerprint,
            "inputs_fingerprint": self.inputs_fingerprint,
            "session": session,
            "written": _now(),
            "runs": runs,
        }
        table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
        facts: dict[str, Any] = {}

        def write(tmp: str) -> None:
            pq.write_table(table, tmp)
            os.chmod(tmp, 0o644)  # mkstemp creates 0600
            facts.update(_file_facts(Path(tmp)))

        _atomic(self.path / name, write)
        self._wrote_part = True
        self._next_part += 1
        self._append({**facts, "part": name, **meta})
        for rid, info in runs.items():
            self.done[rid] = {**info, "part": name}
        return name

    def _table(self, results: list[RunResult]) -> pa.Table:
        frames = [r.rows for r in results if r.rows is not None and len(r.rows)]
        table = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False) if frames else None
        if table is not None and self.schema is None:
            self.schema = table.schema.remove_metadata()
        if table is None:
            if self.schema is None:
                raise RuntimeError("a part with no rows before any schema is known")  # months are checked to exist in every run
            return self.schema.empty_table()
        if table.schema.names != self.schema.names:
            raise RuntimeError(f"run columns changed within one experiment: {table.schema.names} vs {self.schema.names}")
        return table.cast(self.schema)

    def _append(self, entry: dict[str, Any]) -> None:
        """One line at the end of the journal (constant time per part)."""
        with open(self.path / JOURNAL, "a", encoding="utf-8") as journal:
            journal.write(json.dumps(entry, separators=(",", ":"), default=str) + "\n")

    def write_manifest(self, header: dict[str, Any], runs: Iterable[dict[str, Any]]) -> None:
        """Replace `_manifest.json` atomically, writing the run records one by one (no whole-document string)."""

        def write(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(header, indent=1, default=str)[:-2] + ',\n "runs": [\n')
                for i, run in enumerate(runs):
                    handle.write(("," if i else "") + json.dumps(run, default=str) + "\n")
                handle.write("]}\n")
            os.chmod(tmp, 0o644)

        _atomic(self.path / MANIFEST, write)
        if self.path / MANIFEST not in self._created:
            self._created.append(self.path / MANIFEST)


def _file_facts(path: Path) -> dict[str, Any]:
    """What the journal records to verify a file later: its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return {"bytes": size, "sha256": digest.hexdigest()}


def verify(part: Path, entry: dict[str, Any]) -> bytes:
    """The part file's bytes if they match the journal's size and SHA-256; else an InputError saying how to recover."""
    try:
        data = part.read_bytes()
    except OSError as error:
        raise InputError(f"{part}: cannot read it ({error.strerror or error}); {RECOVER}") from None
    if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        what = "truncated or extended" if len(data) != entry.get("bytes") else "its bytes changed"
        raise InputError(f"{part}: damaged ({what} since it was written: the checksum in the journal does not match); {RECOVER}")
    return data


def _journal_lines(path: Path) -> list[str]:
    """Complete lines of the journal (a last line without its newline was cut by a kill: ignored)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    try:
        return [line.decode("utf-8") for line in lines[:-1] if line.strip()]
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: damaged (not UTF-8 text); the store cannot be trusted: run the batch into a new --out"
        ) from None


def _repair_torn_journal(path: Path) -> None:
    """Cut a last line a kill left unfinished, so the next append starts a fresh line."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def live_entries(path: Path) -> list[dict[str, Any]]:
    """The journal's part entries, in order, minus parts later dropped (missing on a resume)."""
    journal = Path(path) / JOURNAL
    entries: list[dict[str, Any]] = []
    dropped: set[str] = set()
    for number, line in enumerate(_journal_lines(journal), 1):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict) and "dropped" in entry:
            dropped.add(str(entry["dropped"]))
            continue
        if not (isinstance(entry, dict) and PART.match(str(entry.get("part"))) and isinstance(entry.get("runs"), dict)):
            raise InputError(f"{journal}: line {number} is damaged; the store cannot be trusted: run the batch into a new --out")
        entries.append(entry)
    return [e for e in entries if e["part"] not in dropped]


def _check_footer(part: Path, metadata: dict[bytes, bytes] | None, entry: dict[str, Any]) -> dict[str, Any]:
    """The part's own record (the metadata in its footer) must list the same runs, spec and inputs as its journal line."""
    try:
        meta = json.loads((metadata or {})[META_KEY])
    except (KeyError, ValueError):
        raise InputError(f"{part}: not a part file of a batch store (no {META_KEY.decode()} footer); {RECOVER}") from None
    keys = ("spec_fingerprint", "inputs_fingerprint")
    if set(meta.get("runs") or {}) != set(entry["runs"]) or any(meta.get(k) != entry.get(k) for k in keys):
        raise InputError(f"{part.parent}: the journal's line for {part.name} does not match the part's own record; {UNTRUSTED}")
    return meta


def verified_entries(path: Path | str) -> list[dict[str, Any]]:
    """The journal's live entries, checked against the manifest; an InputError naming the store and the problem if

    - a part comes from another experiment spec, or from model inputs the store did not accept;
    - a run is listed twice, or is not a run of this experiment (a foreign or forged line);
    - a run the manifest records as finished is not in the part it names (a removed line, a forged 'dropped').
    Runs the manifest records as failed (with their error) or pending (a batch that has not finished) may be absent.
    """
    path = Path(path)
    manifest = read_manifest(path)
    entries = live_entries(path)
    records = manifest.get("runs")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError(f"{path / MANIFEST}: damaged (no list of runs); run the batch again with --resume to rebuild it")
    where = {r.get("run_id"): r.get("part") if r.get("status") == "ok" else None for r in records}
    spec, accepted = manifest.get("spec_fingerprint"), manifest.get("inputs_fingerprints")
    seen: dict[str, str] = {}
    for entry in entries:
        name = entry["part"]
        if spec is not None and entry.get("spec_fingerprint") != spec:
            raise InputError(f"{path}: {name} was written by another experiment spec than the store's; {UNTRUSTED}")
        if accepted is not None and entry.get("inputs_fingerprint") not in accepted:
            raise InputError(f"{path}: {name} was made with other model inputs than the store records; {UNTRUSTED}")
        for rid in entry["runs"]:
            if rid in seen:
                raise InputError(f"{path}: run {rid} is listed twice in the journal ({seen[rid]} and {name}); {UNTRUSTED}")
            if rid not in where:
                raise InputError(f"{path}: {name} lists run {rid}, which is not a run of this experiment; {UNTRUSTED}")
            seen[rid] = name
    lost = [(rid, part) for rid, part in where.items() if part is not None and seen.get(rid) != part]
    if lost:
        rid, part = lost[0]
        raise InputError(
            f"{path}: {len(lost)} run(s) the manifest records as finished are not in the journal (first: {rid} in {part}); "
            "run the batch again with --resume, which runs them again"
        )
    return entries


def read_part_meta(part: Path) -> dict[str, Any]:
    """The batch metadata in a part file's footer (run ids, durations, spec fingerprint)."""
    try:
        metadata = pq.read_schema(part).metadata or {}
    except (OSError, pa.ArrowException) as error:
        raise InputError(f"{part}: not a readable Parquet file ({str(error)[:100]}); {RECOVER}") from None
    if META_KEY not in metadata:
        raise InputError(f"{part}: not a part file of a batch store (no {META_KEY.decode()} metadata)")
    return json.loads(metadata[META_KEY])


def read_manifest(path: Path | str) -> dict[str, Any]:
    """A store's manifest, or an InputError if the folder is not a store or the manifest is damaged."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise InputError(f"{path}: not a batch results folder (no {MANIFEST})")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        manifest = None
    if not isinstance(manifest, dict):
        raise InputError(f"{file}: damaged (not a JSON manifest); run the batch again with --out {path} --resume to rebuild it")
    return manifest


def _tables(path: Path, columns: list[str] | None, run_ids: list[str] | None) -> Iterator[pa.Table]:
    """Each listed part, verified, as an Arrow table (optionally only some columns or runs)."""
    filters = [("run_id", "in", run_ids)] if run_ids is not None else None
    for entry in verified_entries(path):
        part = path / entry["part"]
        if run_ids is not None and not set(run_ids) & set(entry["runs"]):
            continue
        if not part.is_file():
            raise InputError(f"{part}: listed in the journal but missing; run the batch again with --resume to re-run its runs")
        try:
            table = pq.read_table(pa.BufferReader(verify(part, entry)), columns=columns, filters=filters)
        except (OSError, pa.ArrowException):
            raise InputError(f"{part}: not a readable Parquet file; {RECOVER}") from None
        _check_footer(part, table.schema.metadata, entry)
        yield table.replace_schema_metadata(None)


def load_results(path: Path | str, columns: Iterable[str] | None = None, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The store as one table, sorted by run_id and month: only the parts the journal lists, each checksum-verified."""
    path = Path(path)
    if not path.is_dir() or not live_entries(path):
        unlisted = path.is_dir() and any(PART.match(p.name) for p in path.iterdir())
        hint = "; its part files are not journaled: run the batch again with --resume, which runs their runs again"
        raise InputError(f"{path}: no results (no part files listed in {JOURNAL}){hint if unlisted else ''}")
    wanted = list(columns) if columns is not None else None
    tables = list(_tables(path, wanted, list(run_ids) if run_ids is not None else None))
    try:
        table = pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame(columns=wanted)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise InputError(f"{path}: its part files have different columns; {UNTRUSTED}") from None
    keys = [k for k in ("run_id", "month") if k in table.columns]
    return table.sort_values(keys, kind="stable").reset_index(drop=True) if keys else table


def store_schema(path: Path | str) -> pa.Schema | None:
    """The column types of the store's first listed part (None if it has none)."""
    entries = verified_entries(Path(path))
    return pq.read_schema(Path(path) / entries[0]["part"]).remove_metadata() if entries else None


def atomic_write(path: Path, write: Callable[[str], Any]) -> None:
    """Write `path` atomically (sim.output's temp-file-and-rename), with the permissions of an ordinary file."""
    _atomic(path, write)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def stored_scenarios(path: Path | str) -> dict[str, Any] | None:
    """The scenarios (name -> Scenario) of the experiment a store holds, rebuilt from its manifest; None if it cannot be."""
    from sim.batch.spec import spec_from_dict

    manifest = read_manifest(path)
    try:
        spec = spec_from_dict(manifest["spec"], f"{path}/_manifest.json (spec)", Path(manifest.get("spec_dir") or "."))
    except (InputError, KeyError, OSError):
        return None
    return dict(spec.scenarios)
