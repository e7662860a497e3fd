"""Sentences the reports share: the caveat every result carries, and effects in words."""

from __future__ import annotations

from sim.figures import outcome_label

CAVEAT = (
    "**Read with care.** Every input is a figure reported by one policy article that cannot be "
    "verified here (several come from single-site pilots), program costs are this project's "
    "assumptions, and the model adds its own assumptions. The results say what follows *if* "
    "those figures and assumptions hold: scenario exploration, not a forecast. The intervals "
    "cover run-to-run randomness only, not uncertainty in the inputs. Response speed is the one "
    "outcome whose article figure the calibrated model does not reproduce (held out of the "
    "calibration, F45: the model's rise is far larger than the article's +35%; see "
    "reports/reproduce_article/), so its effects here are likely overstated."
)


def unit_word(outcome: str) -> str:
    """How a difference in `outcome` is spoken of: percentage points, points or index points."""
    spec = outcome_label(outcome)
    return "percentage points" if spec.scale == 100 else ("points" if "points" in spec.unit else "index points")


def describe_effect(outcome: str, difference: float, low: float, high: float, digits: int = 1) -> str:
    """'idle rate -5.1 percentage points [-6.0, -4.2]' in display units."""
    spec = outcome_label(outcome)
    s, f = spec.scale, f"+.{digits}f"
    return f"{spec.title.lower()} {difference * s:{f}} {unit_word(outcome)} [{low * s:{f}}, {high * s:{f}}]"
