"""Training: the four-stage system (F33), mentors (F26), bases (F25), budgets (F30, F35),
digital training (F15, F16), growth files (F27, F38) and degree study (F13).

A cadre gets a *training month* with probability q:
- 1 where the community runs the four-stage system (F33);
- 1 during the foundation stage where the community uses cadres scientifically (train
  before posting);
- otherwise, where dual-track training exists (F14), a base rate scaled by the training
  budget per cadre (F30 plus the training part of the fund, F35), capped at
  `training_budget_factor_cap` times;
- 0 elsewhere, and 0 once mature.
A training month adds competence in the stage's focus domains, more with a trained
mentor, a training base, digital content and, in the weakest domain, a growth-file plan.
Enough training months complete a stage; completing the foundation is specialised
training (F20). Every gain shrinks in proportion as competence nears 100.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.state import DOMAINS, FOUNDATION, MATURE

if TYPE_CHECKING:
    from sim.model import CadreModel

DIGITAL_DOMAIN = DOMAINS.index("digital")


def train(model: CadreModel) -> None:
    p, t, s, month = model.p, model.cadres, model.streams, model.month
    policy = model.policy
    f = policy.features
    rows = model.rows
    home = t.home[rows]
    stage = t.stage[rows]
    # q per community, for the foundation stage and for the others; then per cadre.
    q_base = np.where(f["dual_track"], p.training_rate_base * _budget_factor(model), 0.0)
    q_later = np.where(f["staged_training"], 1.0, q_base)
    q_foundation = np.where(f["rotation"], 1.0, q_later)  # scientific use trains before posting
    # (community, later / foundation / mature) -> q, read once per cadre.
    q_table = np.stack([q_later, q_foundation, np.zeros_like(q_later)], axis=1)
    phase = (stage == FOUNDATION) + 2 * (stage == MATURE)
    q = np.take(q_table.reshape(-1), home * 3 + phase)
    # A uniform in (0, 1) is below q for q >= 1 and never for q <= 0: only the others are drawn
    # (draws are keyed per cadre, so this changes no number).
    trained = q >= 1.0
    uncertain = np.flatnonzero((q > 0.0) & ~trained)
    trained[uncertain] = s.uniform("training_month", month, t.key[rows[uncertain]]) < q[uncertain]

    intensity = policy.lever("digital_training_intensity")  # one per block
    blocks = len(intensity)
    block = model.communities.block[home] if blocks > 1 else 0
    cloud = p.cloud_classroom_gain * intensity  # F16: cloud classrooms reach everyone
    learners = np.compress(trained, rows)  # compress: 2x a mask index
    if len(learners):
        competence = t.competence_of(learners)
        home_l = np.compress(trained, home)
        mentor = policy.mentor_trained[home_l, t.mentor[learners]]
        # The gain before the growth plan takes 20 values per block (trained mentor, training base, stage): read
        # from a table, the same products as per cadre.
        on = np.array([False, True])
        boost = (1 + p.mentor_effect * on[:, None]) * (1 + p.training_base_effect * on[None, :])
        table = p.training_gain * model.stage_focus[None, :, :] * boost.reshape(4, 1, 1)  # (mentor x base, stage, domain)
        table = np.repeat(table[None], blocks, axis=0)  # (block, mentor x base, stage, domain)
        table[..., DIGITAL_DOMAIN] *= (1 + p.digital_training_gain * intensity)[:, None, None]
        cell = (mentor * 2 + f["training_base"][home_l]) * len(model.stage_focus) + np.compress(trained, stage)
        if blocks > 1:
            cell += np.compress(trained, block) * (4 * len(model.stage_focus))
        gain = np.take(table.reshape(-1, len(DOMAINS)), cell, axis=0)
        planned = np.flatnonzero(f["growth_file"][home_l])
        weakest = _weakest_domain(competence[planned])
        gain[planned, weakest] *= 1 + p.growth_plan_boost
        gain[:, DIGITAL_DOMAIN] += cloud if blocks == 1 else cloud[np.compress(trained, block)]
        gain *= 100 - competence
        gain /= 100
        gain += competence
        t.set_competence(learners, gain)
    if cloud.any():  # (with none, the update below would leave every value as it is)
        others = np.compress(~trained, rows)
        reached = cloud if blocks == 1 else cloud[np.compress(~trained, block)]
        if blocks > 1:  # only blocks with cloud classrooms
            others, reached = others[reached > 0], reached[reached > 0]
        column = t.competence[:, DIGITAL_DOMAIN]  # a view: 1-D reads and writes are faster
        digital = column[others]
        column[others] = digital + reached * (100 - digital) / 100
    _advance_stages(model, learners)
    _upgrade_education(model, rows)


def _weakest_domain(competence: np.ndarray) -> np.ndarray:
    """Each row's domain of lowest competence, the first on ties: argmin(axis=1), column by column."""
    lowest = competence[:, 0].copy()
    weakest = np.zeros(len(competence), dtype=np.intp)
    for domain in range(1, competence.shape[1]):
        lower = competence[:, domain] < lowest
        lowest[lower] = competence[lower, domain]
        weakest[lower] = domain
    return weakest


def _budget_factor(model: CadreModel) -> np.ndarray:
    """Training budget per cadre relative to the reference, per community (capped)."""
    p, policy, c = model.p, model.policy, model.communities

    def per_community(name: str) -> np.ndarray:  # a lever's value (one per block) in each community
        values = policy.lever(name)
        return values if len(values) == 1 else values[c.block]

    budget = np.where(c.east, per_community("training_budget_east"), per_community("training_budget_central_west"))
    cadres = np.maximum(1, np.bincount(model.cadres.home[model.rows], minlength=c.n))
    fund = per_community("funding_share") * p.community_budget * p.funding_training_fraction / cadres
    return np.minimum(p.training_budget_factor_cap, (budget + fund) / p.reference_training_budget)


def _advance_stages(model: CadreModel, rows: np.ndarray) -> None:
    t = model.cadres
    t.stage_months[rows] += 1
    needed = model.stage_lengths[t.stage[rows]]
    done = rows[(t.stage_months[rows] >= needed) & (t.stage[rows] < MATURE)]
    t.specialised[done[t.stage[done] == FOUNDATION]] = True
    t.stage[done] += 1
    t.stage_months[done] = 0


def _upgrade_education(model: CadreModel, rows: np.ndarray) -> None:
    """Cadres below the degree standard finish a degree after about `education_upgrade_months`."""
    p, t = model.p, model.cadres
    below = np.compress(t.education[rows] == 0, rows)
    if len(below) == 0:
        return
    study = model.policy.by_community("dual_track_study")[t.home[below]]  # F13
    months = p.education_upgrade_months * np.where(study, p.dual_track_cycle_factor, 1.0)
    done = np.compress(model.streams.uniform("degree_done", model.month, t.key[below]) < 1.0 / months, below)
    t.education[done] = 1
    t.competence[done] = np.minimum(100.0, t.competence[done] + p.competence_education_step)
