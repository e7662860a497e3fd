"""The results store: a folder of Parquet part files plus `_manifest.json`, safe to kill at any moment.

    results/compare_programs/
        part-00001.parquet     # rows of up to K finished runs; its footer lists their run ids
        part-00002.parquet
        _manifest.json         # spec, provenance, every run's seed, parameters, status, duration, error

`pandas.read_parquet(folder)` and `pyarrow.dataset.dataset(folder)` read the parts as one
tidy table: they skip names starting with '_' or '.', which is why the manifest is
`_manifest.json` (a plain `manifest.json` would be taken for a Parquet file) and temporary
files start with '.'.

Every file is written to a temporary name in the same folder and renamed into place
(os.replace), so no reader ever sees half a file. The part files are the only record of
which runs are done: a run is done iff a complete part file lists it. Resuming deletes
stray temporary files, reads the part footers and rewrites the manifest from them, so a
batch killed even with SIGKILL loses no finished run and repeats none.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Callable, Iterable
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

MANIFEST = "_manifest.json"
LOCK = "_lock"
META_KEY = b"sim_batch"
PART = re.compile(r"^part-(\d{5,})\.parquet$")


class ResultStore:
    """One experiment's folder: knows which runs are done, appends part files, rewrites the manifest."""

    def __init__(self, path: Path, spec: ExperimentSpec) -> None:
        self.path = path
        self.spec = spec
        self.fingerprint = spec.fingerprint()
        self.done: dict[str, dict[str, Any]] = {}  # run id -> {part, duration, worker, rows}
        self.previous: dict[str, Any] | None = None  # the manifest found on resume
        self.schema: pa.Schema | None = None
        self._next_part = 1
        self._lock_fd: int | None = None

    @classmethod
    def open(cls, path: Path | str, spec: ExperimentSpec, resume: bool) -> ResultStore:
        """Create the store, or reopen it to resume; refuses a store it would spoil."""
        store = cls(Path(path), spec)
        store.path.mkdir(parents=True, exist_ok=True)
        existing = [p.name for p in store.path.iterdir() if p.name != LOCK]
        store._lock()
        try:
            if existing and not resume:
                raise InputError(
                    f"{store.path} already holds results ({len(_parts(store.path))} part files); "
                    f"add --resume to finish that batch, or choose a new folder with --out"
                )
            if existing:
                store._reopen()
        except BaseException:
            store.close()
            raise
        return store

    def _lock(self) -> None:
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(f"{self.path}: another batch is writing to this store right now") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Release the store's lock (the kernel also releases it if the process dies)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _reopen(self) -> None:
        for stray in self.path.glob(".*.tmp"):
            stray.unlink(missing_ok=True)
        manifest = self.path / MANIFEST
        if manifest.is_file():
            try:
                self.previous = json.loads(manifest.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                self.previous = None  # cannot happen with atomic writes; the parts still say what is done
        if self.previous is not None:
            what = changes(self.previous.get("resolved", {}), self.spec.resolved())
            if what:
                raise InputError(
                    f"{self.path}: the experiment changed since this store was made ({'; '.join(what[:8])}"
                    f"{'; ...' if len(what) > 8 else ''}); run it into a new folder with --out, or restore the old spec"
                )
        for part in _parts(self.path):
            meta = read_part_meta(part)
            if meta.get("spec_fingerprint") != self.fingerprint:
                raise InputError(
                    f"{part}: written by a different experiment spec (fingerprint {meta.get('spec_fingerprint')}, "
                    f"now {self.fingerprint}); use a new folder with --out"
                )
            for rid, info in meta["runs"].items():
                if rid in self.done:
                    raise InputError(
                        f"{self.path}: run {rid} appears in both {self.done[rid]['part']} and {part.name}; remove one"
                    )
                self.done[rid] = {**info, "part": part.name}
            if self.schema is None:
                self.schema = pq.read_schema(part).remove_metadata()
            self._next_part = max(self._next_part, int(PART.match(part.name).group(1)) + 1)

    def write_part(self, results: list[RunResult], session: int) -> str:
        """Write the rows of these finished runs as one new part file; returns its name."""
        frames = [r.rows for r in results if r.rows is not None and len(r.rows)]
        table = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False) if frames else None
        if table is not None and self.schema is None:
            self.schema = table.schema.remove_metadata()
        if table is None:
            if self.schema is None:
                raise RuntimeError("a part with no rows before any schema is known")  # months are checked to exist in every run
            table = self.schema.empty_table()
        elif table.schema.names != self.schema.names:
            raise RuntimeError(f"run columns changed within one experiment: {table.schema.names} vs {self.schema.names}")
        else:
            table = table.cast(self.schema)
        name = f"part-{self._next_part:05d}.parquet"
        runs = {
            r.run_id: {"duration": round(r.duration, 4), "worker": r.worker, "rows": 0 if r.rows is None else len(r.rows)}
            for r in results
        }
        meta = {"spec_fingerprint": self.fingerprint, "session": session, "written": _now(), "runs": runs}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta).encode()})
        atomic_write(self.path / name, lambda tmp: pq.write_table(table, tmp))
        self._next_part += 1
        for rid, info in runs.items():
            self.done[rid] = {**info, "part": name}
        return name

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace `_manifest.json` atomically."""
        text = json.dumps(manifest, indent=1, default=str)
        atomic_write(self.path / MANIFEST, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _parts(path: Path) -> list[Path]:
    return sorted(p for p in path.glob("part-*.parquet") if PART.match(p.name))


def read_part_meta(part: Path) -> dict[str, Any]:
    """The batch metadata in a part file's footer (run ids, durations, spec fingerprint)."""
    metadata = pq.read_schema(part).metadata or {}
    if META_KEY not in metadata:
        raise InputError(f"{part}: not a part file of a batch store (no {META_KEY.decode()} metadata)")
    return json.loads(metadata[META_KEY])


def read_manifest(path: Path | str) -> dict[str, Any]:
    """A store's manifest, or an InputError if the folder is not a store."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise InputError(f"{path}: not a batch results folder (no {MANIFEST})")
    return json.loads(file.read_text(encoding="utf-8"))


def load_results(path: Path | str, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The whole store as one table, sorted by run_id and month (only complete part files are read)."""
    path = Path(path)
    if not path.is_dir() or not _parts(path):
        raise InputError(f"{path}: no results (no part-*.parquet files)")
    table = pd.read_parquet(path, columns=list(columns) if columns is not None else None)
    keys = [k for k in ("run_id", "month") if k in table.columns]
    return table.sort_values(keys, kind="stable").reset_index(drop=True) if keys else table


def atomic_write(path: Path, write: Callable[[str], Any]) -> None:
    """Write `path` atomically (sim.output's temp-file-and-rename), with the permissions of an ordinary file."""
    _atomic(path, write)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
