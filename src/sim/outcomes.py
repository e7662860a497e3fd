"""Monthly outcomes: the tidy row `simulate` returns for each month (see docs/outputs.md).

Governance outcomes are indices with mid-2023 = 100. Each rests on a *capacity*: for a post
type, the competence its cadres bring in the domains the post exercises, counting no more
cadres than the establishment and discounting posts taken untrained (F20), per post of
establishment. An index is 100 x (capacity / capacity in 2023) ^ elasticity; governance cost
falls as overall capacity rises. Proposal adoption (F41) is a logistic function of the
governance-partner system, the incubator (F40) and mean competence; resident participation
(F42) follows adoption.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.costs import monthly_cost
from sim.state import ADMIN, DIGITAL, DOMAINS, ELDERLY, GRID, IDLE, N_POST_TYPES, STAGES, filled_posts

if TYPE_CHECKING:
    from sim.model import CadreModel


def logit(x: float) -> float:
    return float(np.log(x / (1 - x)))


def cgcmm_levels(competence: np.ndarray, thresholds) -> np.ndarray:
    """CGCMM level 1-5 (F31) of each row of `competence`, from its mean across the five domains."""
    return 1 + np.searchsorted(np.asarray(thresholds), competence.mean(axis=1), side="right")


def capacities(model: CadreModel, count: np.ndarray | None = None) -> dict[str, float]:
    """Capacity (0-1) of each post type and overall, pooled over communities.

    `count` is `filled_posts` of the model's cadres when the caller has it already.
    """
    p, t, rows, c = model.p, model.cadres, model.rows, model.communities
    posted = rows[t.post[rows] != IDLE]
    kind = t.post[posted]
    weights = model.post_domains[kind]
    value = (t.competence[posted] * weights).sum(axis=1) / weights.sum(axis=1) / 100
    value *= 1 - p.mismatch_capacity_penalty * ~t.specialised[posted]
    cell = t.serving[posted] * N_POST_TYPES + kind
    delivered = np.bincount(cell, weights=value, minlength=N_POST_TYPES * c.n).reshape(c.n, N_POST_TYPES)
    count = filled_posts(t, rows, c.n) if count is None else count
    establishment = c.establishment
    share_counted = np.where(count > 0, np.minimum(1.0, establishment / np.maximum(count, 1)), 0.0)
    by_type = (delivered * share_counted).sum(axis=0) / np.maximum(1, establishment.sum(axis=0))
    overall = float((delivered * share_counted).sum() / max(1, establishment.sum()))
    return {
        "admin": by_type[ADMIN],
        "digital": by_type[DIGITAL],
        "elderly": by_type[ELDERLY],
        "grid": by_type[GRID],
        "overall": overall,
        "service": float(np.mean(by_type[[ADMIN, DIGITAL, ELDERLY]])),
        "response": float(np.mean(by_type[[DIGITAL, GRID]])),
    }


def proposal_adoption(model: CadreModel, mean_competence: float) -> float:
    p, policy = model.p, model.policy
    x = logit(p.proposal_adoption_2023)
    x += p.partner_adoption_logit * policy.share("governance_partner")  # F41
    x += p.incubator_adoption_logit * p.innovation_projects_per_year * policy.share("incubator")  # F40
    x += p.adoption_competence_slope * (mean_competence - model.reference["mean_competence"]) / 10
    return float(1 / (1 + np.exp(-x)))


def measure(model: CadreModel) -> dict[str, float]:
    """Everything recorded for one month."""
    p, t, rows, c = model.p, model.cadres, model.rows, model.communities
    f = model.policy.features
    n = max(1, len(rows))
    home = t.home[rows]
    education = t.education[rows]
    age = t.age[rows]
    competence = t.competence[rows]
    mean_competence = float(competence.mean()) if len(rows) else 0.0
    levels = cgcmm_levels(competence, p.cgcmm_thresholds)
    filled = filled_posts(t, rows, c.n)
    counts = filled.sum(axis=0)
    staffed = np.minimum(filled, c.establishment).sum(axis=0)  # a surplus in one community fills no vacancy elsewhere
    establishment = c.establishment.sum(axis=0)
    flows = model.flows
    exits = flows["exits_voluntary"] + flows["exits_appraisal"] + flows["exits_retirement"]
    cap = capacities(model, filled)
    ref = model.reference
    adoption = proposal_adoption(model, mean_competence)
    # Cross-tabulations by bincount: one pass each instead of a mask per share.
    by_tier = np.bincount(c.tier[home] * 3 + education, minlength=12).reshape(4, 3)
    by_kind = np.bincount(c.county[home] * 3 + education, minlength=6).reshape(2, 3)
    posted = t.post[rows] != IDLE
    status = np.bincount(posted * 4 + f["rotation"][home] * 2 + t.specialised[rows], minlength=8).reshape(2, 2, 2)
    stages = np.bincount(t.stage[rows], minlength=5)
    level_counts = np.bincount(levels, minlength=6)
    row = {
        "cadres": len(rows),
        "communities": c.n,
        "cadres_central_west": int(np.count_nonzero(~c.east[home])),
        "reserve_per_community": len(rows) / c.n,
        "share_under_35": _share(age < 35),
        "share_over_45": _share(age > 45),
        "share_masters": _fraction(by_tier[:, 2].sum(), by_tier.sum()),
        "share_degree_street": _fraction(by_kind[0, 1:].sum(), by_kind[0].sum()),
        "share_degree_county": _fraction(by_kind[1, 1:].sum(), by_kind[1].sum()),
        "share_masters_tier1": _fraction(by_tier[1, 2], by_tier[1].sum()),
        "share_masters_tier2": _fraction(by_tier[2, 2], by_tier[2].sum()),
        "share_masters_tier34": _fraction(by_tier[3, 2], by_tier[3].sum()),
        "idle_rate": _fraction(status[0].sum(), status.sum()),
        "idle_rate_traditional": _fraction(status[0, 0].sum(), status[:, 0].sum()),
        "mismatch_rate": _fraction(status[1, :, 0].sum(), status[1].sum()),
        "mismatch_rate_traditional": _fraction(status[1, 0, 0], status[1, 0].sum()),
        "digital_vacancy_rate": 1 - staffed[DIGITAL] / max(1, establishment[DIGITAL]),
        "admin_overstaffing": counts[ADMIN] / max(1, establishment[ADMIN]) - 1,
        **flows,
        "turnover_rate": 12 * exits / n,
        "mean_competence": mean_competence,
        **{f"competence_{d}": float(competence[:, i].mean()) if len(rows) else 0.0 for i, d in enumerate(DOMAINS)},
        "mean_cgcmm_level": float(levels.mean()) if len(rows) else 0.0,
        **{f"share_cgcmm_{k}": _fraction(level_counts[k], len(rows)) for k in range(1, 6)},
        **{f"share_stage_{STAGES[k]}": _fraction(stages[k], len(rows)) for k in range(1, 5)},
        "share_specialised": _fraction(status[:, :, 1].sum(), len(rows)),
        "health_index_mean": float(t.health[rows].mean()) if len(rows) else 0.0,
        "mentors_trained": float(model.policy.mentor_trained.mean()),
        "communities_training_base": float(f["training_base"].mean()),
        "communities_growth_file": float(f["growth_file"].mean()),
        "communities_promotion_standard": float(f["promotion_standard"].mean()),
        "communities_honour_fund": float(f["honour_fund"].mean()),
        "communities_scientific_use": float(f["rotation"].mean()),
        "communities_staged_training": float(f["staged_training"].mean()),
        "proposal_adoption_rate": adoption,
        "resident_participation": 100 * (adoption / ref["proposal_adoption_rate"]) ** p.participation_adoption_elasticity,
        "dispute_resolution_efficiency": 100 * _ratio(cap["grid"], ref["grid"]) ** p.dispute_capacity_elasticity,
        "service_satisfaction": 100 * _ratio(cap["service"], ref["service"]) ** p.satisfaction_capacity_elasticity,
        "governance_cost": 100 * _ratio(cap["overall"], ref["overall"]) ** -p.cost_capacity_elasticity,
        "response_speed": 100 * _ratio(cap["response"], ref["response"]) ** p.response_capacity_elasticity,
        "program_cost": monthly_cost(  # yuan this month at central prices (sim.costs)
            model.policy.phases,
            model.cost_lines,
            {"community_year": c.n, "cadre_year": len(rows), "central_west_cadre_year": int(np.count_nonzero(~c.east[home]))},
        ),
    }
    return row


def reference_values(model: CadreModel) -> dict[str, float]:
    """The mid-2023 values that the indices are relative to."""
    competence = model.cadres.competence[model.rows]
    reference = {"mean_competence": float(competence.mean()), "proposal_adoption_rate": model.p.proposal_adoption_2023}
    reference.update(capacities(model))
    return reference


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else 0.0


def _fraction(part: int, whole: int) -> float:
    return float(part / whole) if whole else 0.0


def _ratio(value: float, reference: float) -> float:
    return max(value, 1e-9) / max(reference, 1e-9)
