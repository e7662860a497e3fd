"""The calibration posterior (data/posterior.parquet) as inputs to runs: draws of the fitted parameters.

`sim calibrate --method abc` writes one row per draw, equally likely, one column per fitted
parameter (named as in data/parameters.yaml) and a `draw` column; its provenance is in the
Parquet metadata and a summary in data/posterior.yaml. Any run can take its fitted
parameters from a draw instead of the point fit (data/calibrated.yaml): `sim run --draw K`,
and batches with `posterior: true` (one draw per replicate, the same for every scenario of
the replicate so comparisons stay paired; the draw is recorded with the results). Values a
scenario, a design or `--set` gives explicitly win over the draw.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.output import read_parquet
from sim.parameters import VARIANT_CHOICES, catalogue, default_values, variant_values
from sim.resources import data_file

POSTERIOR_FILE = data_file("posterior.parquet")
DRAW_COLUMN = "draw"
METADATA_KEY = b"sim_provenance"


@functools.cache
def _load(path: str, mtime: float) -> pd.DataFrame:
    del mtime  # part of the cache key: a rewritten file is read again
    table = read_parquet(path)
    names = [c for c in table.columns if c in catalogue()]
    if not names:
        raise InputError(f"{path}: no column names a parameter of data/parameters.yaml")
    return table[names].reset_index(drop=True)


def _path(path: Path | str | None) -> Path:
    return Path(POSTERIOR_FILE if path is None else path)


def load_posterior(path: Path | str | None = None) -> pd.DataFrame:
    """The posterior draws (data/posterior.parquet by default): row i is draw i, one column per fitted parameter."""
    path = _path(path)
    if not path.is_file():
        raise InputError(f"{path}: no posterior; run `sim calibrate --method abc` first")
    return _load(str(path), path.stat().st_mtime).copy()


def posterior_provenance(path: Path | str | None = None) -> dict[str, Any]:
    """The provenance record stored in the posterior's Parquet metadata."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(_path(path)).metadata or {}
    return json.loads(metadata.get(METADATA_KEY, b"{}"))


def draw_values(draw: int, path: Path | str | None = None) -> dict[str, Any]:
    """The fitted parameters of one draw, checked like any override."""
    path = _path(path)
    table = load_posterior(path)
    if isinstance(draw, bool) or not isinstance(draw, int | np.integer) or not 0 <= draw < len(table):
        raise InputError(f"draw = {draw!r}: the posterior ({path}) has draws 0 to {len(table) - 1}")
    row = table.iloc[int(draw)]
    return {name: catalogue()[name].check(float(value), f"{path} draw {draw}") for name, value in row.items()}


def replicate_draws(master_seed: int, replicates: int, path: Path | str | None = None) -> list[int]:
    """One draw index per replicate, from the master seed (the same for every scenario of a replicate)."""
    n = len(load_posterior(path))
    rng = np.random.default_rng(np.random.SeedSequence([master_seed, 0x9057E]))
    return [int(d) for d in rng.integers(0, n, replicates)]


def apply_draw(parameters: Mapping[str, Any], draw: int, path: Path | str | None = None) -> dict[str, Any]:
    """Overrides that put a draw's values where `parameters` still hold the point values (explicit values win).

    A draw's index parameters belong to the default capacity structure and reading; under
    another they are carried over by `for_variant`.
    """
    held = {**default_values(), **variant_values(parameters)}  # what `parameters` hold when nothing was set on purpose
    values = for_variant(draw_values(draw, path), parameters)
    return {name: value for name, value in values.items() if parameters[name] == held[name]}


def for_variant(values: Mapping[str, Any], choices: Mapping[str, Any]) -> dict[str, Any]:
    """A draw's values with its index parameters carried to the (capacity structure, reading) `choices` name.

    Each index parameter was solved for the draw under the default variant; under another its
    value moves as the variant's calibrated value does at the point values: by the same factor
    (an elasticity) or, for a log-odds shift, by the same difference. This keeps each draw's own
    deviation from the point values and the variant's own matching of the figures (docs/ODD.md 8.6).
    """
    default = variant_values(default_values())
    wanted = variant_values({**default_values(), **{k: choices[k] for k in VARIANT_CHOICES if k in choices}})
    out = dict(values)
    for name, target in wanted.items():
        if name not in out or name not in default or target == default[name]:
            continue
        spec = catalogue()[name]
        moved = out[name] + (target - default[name]) if spec.unit == "log-odds" else out[name] * target / default[name]
        low, high = spec.allowed or spec.range
        out[name] = float(min(max(moved, low), high))
    return out
