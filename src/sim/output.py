"""Writing result tables: CSV or Parquet by suffix, atomically, with provenance."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.provenance import provenance as provenance_of_run

FORMATS = (".csv", ".parquet")


def write_table(
    table: pd.DataFrame, path: Path | str, provenance: dict[str, Any] | None = None, check_only: bool = False
) -> None:
    """Write `table` to `path` (.csv or .parquet); no half-written file is ever visible.

    Parquet files carry the provenance in their schema metadata (key b"sim_provenance");
    CSV files get a sidecar `<name>.provenance.json`.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--out {path}: unsupported file type '{path.suffix}'; use one of {', '.join(FORMATS)}")
    if not path.parent.exists():
        raise InputError(f"--out {path}: folder {path.parent} does not exist")
    if check_only:
        return
    record = provenance_of_run(**(provenance or {}))
    if path.suffix.lower() == ".csv":
        _atomic(path, lambda tmp: table.to_csv(tmp, index=False))
        _atomic(
            path.with_name(path.name + ".provenance.json"),
            lambda tmp: Path(tmp).write_text(json.dumps(record, indent=2, default=str)),
        )
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow = pa.Table.from_pandas(table, preserve_index=False)
        metadata = {**(arrow.schema.metadata or {}), b"sim_provenance": json.dumps(record, default=str).encode()}
        _atomic(path, lambda tmp: pq.write_table(arrow.replace_schema_metadata(metadata), tmp))


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
