"""Writing result tables: CSV or Parquet by suffix, atomically, with provenance."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from sim.checks import shown
from sim.errors import InputError
from sim.provenance import provenance as provenance_of_run

FORMATS = (".csv", ".parquet")


def write_table(
    table: pd.DataFrame, path: Path | str, provenance: dict[str, Any] | None = None, check_only: bool = False
) -> None:
    """Write `table` to `path` (.csv or .parquet); no half-written file is ever visible.

    Parquet files carry the provenance in their schema metadata (key b"sim_provenance");
    CSV files get a sidecar `<name>.provenance.json`, written together with the table: both
    or neither. `check_only` checks the path (type, folder, name, writable) without writing,
    so a command can refuse a bad --out before a long run.
    """
    path = Path(path)
    check_writable(path)
    if check_only:
        return
    record = provenance_of_run(**(provenance or {}))
    if path.suffix.lower() == ".csv":
        sidecar = provenance_path(path)
        _atomic_pair(
            (path, lambda tmp: table.to_csv(tmp, index=False)),
            (sidecar, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")),
        )
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow = pa.Table.from_pandas(table, preserve_index=False)
        metadata = {**(arrow.schema.metadata or {}), b"sim_provenance": json.dumps(record, default=str).encode()}
        _atomic(path, lambda tmp: pq.write_table(arrow.replace_schema_metadata(metadata), tmp))


def read_parquet(path: Path | str, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file as a DataFrame, read by path with pyarrow.

    Not `pandas.read_parquet`: it hands pyarrow an open Python file, and the process then
    aborts at exit about one time in six ("terminate called without an active exception",
    exit 134, after all its work is done; measured here with pyarrow 26: 5 of 30 runs of a
    script that only reads data/posterior.parquet, 0 of 30 this way; apache/arrow#34314).
    """
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns).to_pandas()


def provenance_path(path: Path) -> Path:
    """The provenance sidecar of a CSV output."""
    return path.with_name(path.name + ".provenance.json")


def check_writable(path: Path) -> None:
    """Refuse an output path that could not be written, before anything runs (one InputError line)."""
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--out {shown(str(path))}: unsupported file type '{path.suffix}'; use one of {', '.join(FORMATS)}")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"--out {path}: folder {folder} {what}")
    targets = [path, provenance_path(path)] if path.suffix.lower() == ".csv" else [path]
    for target in targets:
        if len(target.name.encode()) > _name_max(folder):
            raise InputError(f"--out {shown(str(path))}: the file name is longer than this file system allows")
        if target.is_dir():
            raise InputError(f"--out {path}: {target} is a folder; choose another file name")
    try:
        fd, probe = tempfile.mkstemp(prefix=".sim-write-check.", dir=folder)
    except OSError as error:
        raise InputError(f"--out {path}: cannot write in {folder}: {error.strerror or error}") from None
    os.close(fd)
    os.unlink(probe)


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def umask_mode() -> int:
    """The mode a plainly created file gets here (0o666 less the umask); mkstemp's own is 0o600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename it over `path` with the usual permissions."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_pair(first: tuple[Path, Any], second: tuple[Path, Any]) -> None:
    """Write two files to temporary names, then rename both into place: if the second rename fails, the
    first file is removed again, so neither stands without the other."""
    temps = []
    try:
        for path, write in (first, second):
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            temps.append(tmp)
            write(tmp)
            os.chmod(tmp, umask_mode())
        os.replace(temps[0], first[0])
        try:
            os.replace(temps[1], second[0])
        except BaseException:
            first[0].unlink(missing_ok=True)
            raise
    finally:
        for tmp in temps:
            Path(tmp).unlink(missing_ok=True)
