"""Policy simulator for China's community reserve cadres (社区后备干部).

    from sim import simulate, load_scenario
    table = simulate("data/scenarios/baseline.yaml", seed=1)

    runs = sim.Runs(["baseline", "talent_foundation", "innovation_leap"], n_runs=10).run()
    runs.summary(); runs.plot()          # a quick look (sim.quick)

Every input figure comes from one policy article whose numbers cannot be verified
(see data/seed_figures.csv); treat results as scenario exploration, not forecasts.
"""

from __future__ import annotations

import importlib
import sys
import types
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sim.errors import InputError

try:
    __version__ = version("cadre-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

# Imported on first use (PEP 562), so `import sim` (and `sim --help`) does not pay for Mesa and pandas.
_EXPORTS = {
    "Scenario": "sim.scenario",
    "load_scenario": "sim.scenario",
    "build_model": "sim.simulate",
    "simulate": "sim.simulate",
    "CadreModel": "sim.model",
    "Runs": "sim.quick",
}
__all__ = ["CadreModel", "InputError", "Runs", "Scenario", "__version__", "build_model", "load_scenario", "simulate"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


class _Package(types.ModuleType):
    """`sim.simulate` stays the function even after the submodule sim.simulate is imported.

    Importing a submodule sets it as an attribute of its package, which would hide the
    function of the same name that `__getattr__` provides (the eager import this replaces
    rebound it afterwards). The submodule itself is always in sys.modules.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
