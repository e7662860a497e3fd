"""`simulate`: one scenario, one seed, one monthly table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
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
    return model.results()


def build_model(scenario: Scenario | Path | str, seed: int = 0) -> CadreModel:
    """The model at month 0 (June 2023), for stepping by hand or inspecting agents."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed = {seed!r} must be a non-negative integer")
    return CadreModel(load_scenario(scenario), int(seed))
