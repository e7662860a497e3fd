"""The monthly processes, one module each, in the order `CadreModel.step` runs them.

Each works on the model's arrays in bulk and draws its randomness from its own named
streams (`sim.rng`), keyed by cadre, so processes never shift each other's random numbers.
"""

import numpy as np


def monthly_probability(annual_rate: np.ndarray | float) -> np.ndarray:
    """Monthly probability from an annual rate a: h = 1 - (1 - a)^(1/12)."""
    return 1.0 - (1.0 - np.minimum(annual_rate, 0.999)) ** (1.0 / 12.0)
