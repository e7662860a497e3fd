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
    return np.compress(t.age[rows] >= model.p.max_reserve_age, rows)


def promote(model: CadreModel) -> np.ndarray:
    """Rows promoted into formal community posts this month."""
    p, t, rows, f = model.p, model.cadres, model.rows, model.policy.features
    tenure = model.month - t.entry_month[rows]
    # Only the eligible are drawn for: draws are keyed per cadre, so skipping the others changes no number.
    rows = np.compress((t.stage[rows] >= REFINEMENT) | (tenure >= p.promotion_min_tenure_months), rows)
    standard = f["promotion_standard"][t.home[rows]]
    annual = (
        p.promotion_rate
        * (1 + p.promotion_standard_effect * standard)
        * np.exp(p.promotion_score_slope * (t.score[rows] - p.promotion_reference_score) / 10)
    )
    u = model.streams.uniform("promotion", model.month, t.key[rows])
    return np.compress(u < monthly_probability(annual), rows)


def leave(model: CadreModel) -> np.ndarray:
    """Rows who leave the reserve of their own accord this month."""
    p, t, rows, policy = model.p, model.cadres, model.rows, model.policy
    f, home = policy.features, t.home[rows]
    idle = (t.post[rows] == IDLE) & (t.months_idle[rows] >= p.idle_months_for_exit)
    bank = policy.by_community("capability_bank")
    banked = t.specialised[rows] & bank[home] if bank.any() else np.zeros(len(rows), dtype=bool)  # F43
    # The monthly probability takes 16 values (idle, no promotion standard, no honour fund, banked credits):
    # computed once for each and read per cadre - the same numbers as per cadre, without a power per cadre.
    on = np.array([False, True])
    annual = p.exit_rate_base * np.where(on, p.exit_idle_multiplier, 1.0)[:, None, None, None]
    annual = annual * np.where(on, p.exit_no_standard_multiplier, 1.0)[:, None, None]
    annual = annual * np.where(on, p.exit_no_honour_multiplier, 1.0)[:, None]
    annual = annual * np.where(on, p.capability_bank_exit_multiplier, 1.0)  # credits kept by trained cadres
    funding = policy.lever("funding_share")  # one per block: the table gets a block axis
    kept = 1 - np.minimum(p.funding_retention_cap, p.funding_retention_effect * funding * 100)
    annual = annual[None] * kept[:, None, None, None, None]
    cell = idle * 8 + ~f["promotion_standard"][home] * 4 + ~f["honour_fund"][home] * 2 + banked
    if len(funding) > 1:
        cell += model.communities.block[home] * 16
    monthly = np.take(monthly_probability(annual).reshape(-1), cell)
    u = model.streams.uniform("voluntary_exit", model.month, t.key[rows])
    return np.compress(u < monthly, rows)
