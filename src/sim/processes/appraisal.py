"""Quarterly appraisal: the talent health index (F37), radar data (F38) and exit rule (F39).

The health index averages eight indicators, each 0-100: the five competence domains (the
growth radar), being in a post, progress through the training stages (F33) and
contribution value (F32). The appraisal score is `appraisal_base_points` plus the rest
of the 100 points in proportion to the index, plus noise. Where dynamic monitoring is on,
`low_quarters_to_exit` consecutive scores below the threshold start the exit procedure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.state import IDLE, MATURE, domain_sum

if TYPE_CHECKING:
    from sim.model import CadreModel


def is_quarter_end(calendar_month: int) -> bool:
    return calendar_month % 3 == 0


def health_index(model: CadreModel, rows: np.ndarray) -> np.ndarray:
    """Talent health index (F37): mean of eight 0-100 indicators."""
    p, t = model.p, model.cadres
    competence = t.competence_of(rows)
    posted = np.where(t.post[rows] != IDLE, 100.0, np.maximum(0.0, 100.0 - 100.0 * t.months_idle[rows] / 12))
    stage = t.stage[rows]
    needed = model.stage_lengths[stage]
    progress = np.where(stage == MATURE, 100.0, 100.0 * (stage - 1 + t.stage_months[rows] / needed) / 3)
    contribution = np.minimum(100.0, 100.0 * t.contribution[rows] / p.contribution_reference)
    return (domain_sum(competence) + posted + progress + contribution) / 8


def score_newcomers(model: CadreModel, rows: np.ndarray) -> None:
    """Health index and an expected (noise-free) score for cadres not yet appraised."""
    health = health_index(model, rows)
    model.cadres.health[rows] = health
    model.cadres.score[rows] = _score(model.p, health)


def _score(p, health: np.ndarray) -> np.ndarray:
    return p.appraisal_base_points + (1 - p.appraisal_base_points / 100) * health


def appraise(model: CadreModel) -> np.ndarray:
    """Score every cadre; return the rows that leave under the exit rule."""
    p, t, rows = model.p, model.cadres, model.rows
    health = health_index(model, rows)
    noise = model.streams.normal("appraisal", model.month, t.key[rows])
    score = _score(p, health) + p.appraisal_noise * noise
    t.health[rows] = health
    t.score[rows] = score
    t.low_quarters[rows] = np.where(score < p.appraisal_threshold, np.minimum(t.low_quarters[rows] + 1, 100), 0)
    monitored = model.policy.features["dynamic_monitoring"][t.home[rows]]
    return np.compress(monitored & (t.low_quarters[rows] >= p.low_quarters_to_exit), rows)
