"""Policy simulator for China's community reserve cadres (社区后备干部).

    from sim import simulate, load_scenario
    table = simulate("data/scenarios/baseline.yaml", seed=1)

Every input figure comes from one policy article whose numbers cannot be verified
(see data/seed_figures.csv); treat results as scenario exploration, not forecasts.
"""

from importlib.metadata import PackageNotFoundError, version

from sim.errors import InputError
from sim.scenario import Scenario, load_scenario
from sim.simulate import build_model, simulate

try:
    __version__ = version("cadre-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["InputError", "Scenario", "__version__", "build_model", "load_scenario", "simulate"]
