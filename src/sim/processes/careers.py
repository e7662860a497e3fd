"""Ageing and retirement, promotion into formal posts (F18, F28) and voluntary exit
(F19, F28, F29, F35, F43).

Annual rates become monthly probabilities as 1 - (1 - a)^(1/12).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.processes import monthly_probability
from sim.state import IDLE, REFINEMENT

if TYPE_CHECKING:
    from sim.model import CadreModel


def age(model: CadreModel) -> np.ndarray:
    """Everyone ages a month; return the rows that reach the reserve's age limit."""
    t, rows = model.cadres, model.rows
    t.age[rows] += 1 / 12
    return rows[t.age[rows] >= model.p.max_reserve_age]


def promote(model: CadreModel) -> np.ndarray:
    """Rows promoted into formal community posts this month."""
    p, t, rows, f = model.p, model.cadres, model.rows, model.policy.features
    tenure = model.month - t.entry_month[rows]
    eligible = (t.stage[rows] >= REFINEMENT) | (tenure >= p.promotion_min_tenure_months)
    standard = f["promotion_standard"][t.home[rows]]
    annual = (
        p.promotion_rate
        * (1 + p.promotion_standard_effect * standard)
        * np.exp(p.promotion_score_slope * (t.score[rows] - p.promotion_reference_score) / 10)
    )
    u = model.streams.uniform("promotion", model.month, t.key[rows])
    return rows[eligible & (u < monthly_probability(annual))]


def leave(model: CadreModel) -> np.ndarray:
    """Rows who leave the reserve of their own accord this month."""
    p, t, rows, policy = model.p, model.cadres, model.rows, model.policy
    f, home = policy.features, t.home[rows]
    idle = (t.post[rows] == IDLE) & (t.months_idle[rows] >= p.idle_months_for_exit)
    annual = p.exit_rate_base * np.where(idle, p.exit_idle_multiplier, 1.0)
    annual = annual * np.where(f["promotion_standard"][home], 1.0, p.exit_no_standard_multiplier)
    annual = annual * np.where(f["honour_fund"][home], 1.0, p.exit_no_honour_multiplier)
    bank = policy.by_community("capability_bank")
    if bank.any():  # F43: credits for training are kept by trained cadres
        annual = annual * np.where(t.specialised[rows] & bank[home], p.capability_bank_exit_multiplier, 1.0)
    funding = policy.levers.funding_share
    annual = annual * (1 - min(p.funding_retention_cap, p.funding_retention_effect * funding * 100))
    u = model.streams.uniform("voluntary_exit", model.month, t.key[rows])
    return rows[u < monthly_probability(annual)]
