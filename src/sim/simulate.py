"""`simulate`: one scenario, one seed, one monthly table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.checks import clip, shown
from sim.checks import seed as check_seed
from sim.errors import RunError
from sim.model import CadreModel
from sim.scenario import Scenario, load_scenario


def simulate(scenario: Scenario | Path | str, seed: int = 0, overrides: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run `scenario` (object or YAML path) from `seed`; one row per month from June 2023.

    The same scenario and seed always give the same table. Runs of different scenarios
    from one seed share common random numbers.
    """
    scenario = load_scenario(scenario, overrides)
    model = build_model(scenario, seed)
    model.run_for(scenario.parameters.months)
    return check_finite(model.results(), scenario, seed)


def check_finite(table: pd.DataFrame, scenario: Scenario, seed: int) -> pd.DataFrame:
    """`table` if every number in it is finite; otherwise a RunError naming the outputs and the likely inputs.

    A NaN or infinity in an output means some combination of inputs the checks let through
    breaks the model's arithmetic; it must never pass as a result.
    """
    numbers = table.select_dtypes("number")
    bad = [column for column in numbers if not np.isfinite(numbers[column].to_numpy(dtype=float)).all()]
    if not bad:
        return table
    first = int(table.loc[~np.isfinite(numbers[bad].to_numpy(dtype=float)).all(axis=1), "month"].iloc[0])
    changed = scenario.parameters.changed()
    likely = ", ".join(f"{k}={shown(v)}" for k, v in changed.items()) or "none (all defaults)"
    programs = ", ".join(p.key for p in scenario.programs) or "none"
    raise RunError(
        clip(
            f"scenario {scenario.name}, seed {seed}: outputs {', '.join(bad)} are not finite (NaN or infinite) "
            f"from month {first}; likely inputs: parameters changed from the defaults: {likely}; programs: {programs}. "
            "Please report it with this line if the inputs look reasonable",
            600,
        )
    )


def build_model(scenario: Scenario | Path | str, seed: int = 0) -> CadreModel:
    """The model at month 0 (June 2023), for stepping by hand or inspecting agents."""
    return CadreModel(load_scenario(scenario), check_seed(seed, ""))
