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

import itertools
from typing import TYPE_CHECKING

import numpy as np

from sim.costs import monthly_cost
from sim.state import ADMIN, DIGITAL, DOMAINS, ELDERLY, GRID, IDLE, N_POST_TYPES, STAGES, domain_sum, filled_posts

if TYPE_CHECKING:
    from sim.model import CadreModel


def logit(x: float) -> float:
    return float(np.log(x / (1 - x)))


def cgcmm_levels(competence: np.ndarray, thresholds) -> np.ndarray:
    """CGCMM level 1-5 (F31) of each row of `competence`, from its mean across the five domains."""
    mean = domain_sum(competence) / competence.shape[1]
    level = np.ones(len(mean), dtype=np.int64)
    for threshold in sorted(thresholds):  # as searchsorted(thresholds, mean, side="right"), faster for four
        level += mean >= threshold
    return level


def capacities(model: CadreModel, count: np.ndarray | None = None) -> dict[str, float]:
    """Capacity (0-1) of each post type and overall, pooled over communities.

    `count` is `filled_posts` of the model's cadres when the caller has it already.
    """
    return _capacities(model, np.array([0, model.communities.n]), count)[0]


def _capacities(model: CadreModel, bounds: np.ndarray, count: np.ndarray | None = None) -> list[dict[str, float]]:
    """Capacities of each block of communities [bounds[b], bounds[b + 1]) (one block in a single run).

    Everything up to the pooling is per cadre or per community, so it is computed for all
    blocks at once; the pooled sums are taken block by block, adding the same numbers in the
    same order as a run of that block alone.
    """
    p, t, rows, c = model.p, model.cadres, model.rows, model.communities
    posted = rows[t.post[rows] != IDLE]
    kind = t.post[posted]
    weights = model.post_domains[kind]
    value = domain_sum(t.competence_of(posted) * weights) / model.post_domains.sum(axis=1)[kind] / 100
    value *= 1 - p.mismatch_capacity_penalty * ~t.specialised[posted]
    cell = t.serving[posted] * N_POST_TYPES + kind
    delivered = np.bincount(cell, weights=value, minlength=N_POST_TYPES * c.n).reshape(c.n, N_POST_TYPES)
    count = filled_posts(t, rows, c.n) if count is None else count
    establishment = c.establishment
    share_counted = np.where(count > 0, np.minimum(1.0, establishment / np.maximum(count, 1)), 0.0)
    counted = delivered * share_counted
    out = []
    for lo, hi in itertools.pairwise(bounds.tolist()):
        by_type = counted[lo:hi].sum(axis=0) / np.maximum(1, establishment[lo:hi].sum(axis=0))
        out.append(
            {
                "admin": by_type[ADMIN],
                "digital": by_type[DIGITAL],
                "elderly": by_type[ELDERLY],
                "grid": by_type[GRID],
                "overall": float(counted[lo:hi].sum() / max(1, establishment[lo:hi].sum())),
                "service": float(np.mean(by_type[[ADMIN, DIGITAL, ELDERLY]])),
                "response": float(np.mean(by_type[[DIGITAL, GRID]])),
            }
        )
    return out


def proposal_adoption(p, partner_share: float, incubator_share: float, mean_competence: float, reference: dict) -> float:
    """Proposal adoption rate (F41): logistic in the partner system, the incubator (F40) and competence."""
    x = logit(p.proposal_adoption_2023)
    x += p.partner_adoption_logit * partner_share  # F41
    x += p.incubator_adoption_logit * p.innovation_projects_per_year * incubator_share  # F40
    x += p.adoption_competence_slope * (mean_competence - reference["mean_competence"]) / 10
    return float(1 / (1 + np.exp(-x)))


def measure(model: CadreModel) -> dict[str, float]:
    """Everything recorded for one month."""
    return measure_blocks(model, [model.flows], [model.reference])[0]


def measure_blocks(model: CadreModel, flows: list[dict[str, int]], references: list[dict[str, float]]) -> list[dict[str, float]]:
    """Everything recorded for one month, for each replicate block (`sim.replicates`; one in a single run).

    Counts are cross-tabulated for all blocks at once by bincount; means and pooled sums
    are taken block by block on that block's slice, so each block's row is exactly what a
    run of its own records.
    """
    t, rows, c = model.cadres, model.rows, model.communities
    blocks = len(flows)
    bounds = np.searchsorted(rows, np.arange(blocks + 1) * t.stride)  # block b's cadres: rows[bounds[b]:bounds[b + 1]]
    cadres = _Cadres(model, bounds)
    communities = _Communities(model, blocks)
    capacity = _capacities(model, np.append(c.starts, c.n), cadres.filled)
    out = []
    for b in range(blocks):
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        out.append(_row(model, b, slice(lo, hi), cadres, communities, capacity[b], flows[b], references[b]))
    return out


class _Cadres:
    """The month's per-cadre arrays and their counts by block (cross-tabulations by bincount)."""

    def __init__(self, model: CadreModel, bounds: np.ndarray) -> None:
        p, t, rows, c = model.p, model.cadres, model.rows, model.communities
        blocks = len(bounds) - 1
        block = np.repeat(np.arange(blocks), np.diff(bounds)) if blocks > 1 else 0
        home = t.home[rows]
        education = t.education[rows]
        self.competence = t.competence_of(rows)
        self.health = t.health[rows]
        self.levels = cgcmm_levels(self.competence, p.cgcmm_thresholds)
        self.filled = filled_posts(t, rows, c.n)
        posted = t.post[rows] != IDLE
        rotation = model.policy.features["rotation"][home]
        age = t.age[rows]

        def count(index: np.ndarray, size: int, *shape: int) -> np.ndarray:
            return np.bincount(block * size + index, minlength=blocks * size).reshape(blocks, *shape)

        def count_true(mask: np.ndarray) -> np.ndarray:
            running = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
            return running[bounds[1:]] - running[bounds[:-1]]

        self.n = np.diff(bounds)
        self.under_35 = count_true(age < 35)
        self.over_45 = count_true(age > 45)
        self.central_west = count_true(~c.east[home])
        self.by_tier = count(c.tier[home] * 3 + education, 12, 4, 3)
        self.by_kind = count(c.county[home] * 3 + education, 6, 2, 3)
        self.status = count(posted * 4 + rotation * 2 + t.specialised[rows], 8, 2, 2, 2)
        self.stages = count(t.stage[rows], 5, 5)
        self.level_counts = count(self.levels, 6, 6)


class _Communities:
    """Per-block community counts: establishment, and how many have each feature or scheme."""

    def __init__(self, model: CadreModel, blocks: int) -> None:
        c, policy = model.communities, model.policy
        self.sizes = c.sizes
        self.with_feature = {k: np.add.reduceat(v.astype(np.int64), c.starts) for k, v in policy.features.items()}
        self.with_switch = {k: np.add.reduceat(policy.by_community(k).astype(np.int64), c.starts) for k in SHARES}
        mentors = policy.mentor_trained.sum(axis=1)
        self.mentors_trained = np.add.reduceat(mentors, c.starts)
        self.mentors = self.sizes * policy.mentor_trained.shape[1]
        self.establishment = np.add.reduceat(c.establishment, c.starts)  # (blocks, post types)


SHARES = ("governance_partner", "incubator")  # on/off levers whose share of communities enters the outcomes


def _row(
    model: CadreModel,
    b: int,
    rows: slice,
    k: _Cadres,
    cm: _Communities,
    cap: dict[str, float],
    flows: dict[str, int],
    ref: dict[str, float],
) -> dict[str, float]:
    """Block b's row of outcomes."""
    p = model.p
    n_cadres, n_communities = int(k.n[b]), int(cm.sizes[b])
    n = max(1, n_cadres)
    competence = k.competence[rows]
    mean_competence = float(competence.mean()) if n_cadres else 0.0
    start = int(model.communities.starts[b])
    filled = k.filled[start : start + n_communities]
    counts = filled.sum(axis=0)
    staffed = np.minimum(filled, model.communities.establishment[start : start + n_communities]).sum(axis=0)
    establishment = cm.establishment[b]
    exits = flows["exits_voluntary"] + flows["exits_appraisal"] + flows["exits_retirement"]
    adoption = proposal_adoption(
        p,
        _fraction(cm.with_switch["governance_partner"][b], n_communities),
        _fraction(cm.with_switch["incubator"][b], n_communities),
        mean_competence,
        ref,
    )
    by_tier, by_kind, status = k.by_tier[b], k.by_kind[b], k.status[b]
    stages, level_counts = k.stages[b], k.level_counts[b]
    levels = k.levels[rows]
    features = {name: _fraction(v[b], n_communities) for name, v in cm.with_feature.items()}
    central_west = int(k.central_west[b])
    return {
        "cadres": n_cadres,
        "communities": n_communities,
        "cadres_central_west": central_west,
        "reserve_per_community": n_cadres / n_communities,
        "share_under_35": _fraction(k.under_35[b], n_cadres),
        "share_over_45": _fraction(k.over_45[b], n_cadres),
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
        **{f"competence_{d}": float(competence[:, i].mean()) if n_cadres else 0.0 for i, d in enumerate(DOMAINS)},
        "mean_cgcmm_level": float(levels.mean()) if n_cadres else 0.0,
        **{f"share_cgcmm_{j}": _fraction(level_counts[j], n_cadres) for j in range(1, 6)},
        **{f"share_stage_{STAGES[j]}": _fraction(stages[j], n_cadres) for j in range(1, 5)},
        "share_specialised": _fraction(status[:, :, 1].sum(), n_cadres),
        "health_index_mean": float(k.health[rows].mean()) if n_cadres else 0.0,
        "mentors_trained": _fraction(cm.mentors_trained[b], cm.mentors[b]),
        "communities_training_base": features["training_base"],
        "communities_growth_file": features["growth_file"],
        "communities_promotion_standard": features["promotion_standard"],
        "communities_honour_fund": features["honour_fund"],
        "communities_scientific_use": features["rotation"],
        "communities_staged_training": features["staged_training"],
        "proposal_adoption_rate": adoption,
        "resident_participation": 100 * (adoption / ref["proposal_adoption_rate"]) ** p.participation_adoption_elasticity,
        "dispute_resolution_efficiency": 100 * _ratio(cap["grid"], ref["grid"]) ** p.dispute_capacity_elasticity,
        "service_satisfaction": 100 * _ratio(cap["service"], ref["service"]) ** p.satisfaction_capacity_elasticity,
        "governance_cost": 100 * _ratio(cap["overall"], ref["overall"]) ** -p.cost_capacity_elasticity,
        "response_speed": 100 * _ratio(cap["response"], ref["response"]) ** p.response_capacity_elasticity,
        "program_cost": monthly_cost(  # yuan this month at central prices (sim.costs)
            model.policy.phases,
            model.cost_lines,
            {"community_year": n_communities, "cadre_year": n_cadres, "central_west_cadre_year": central_west},
        ),
    }


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
