"""Monthly outcomes: the tidy row `simulate` returns for each month (see docs/outputs.md).

Governance outcomes are indices with mid-2023 = 100. Each rests on a *capacity*: for a post
type, the competence its cadres bring in the domains the post exercises, counting no more
cadres than the establishment and discounting posts taken untrained (F20), per post of
establishment. An index is 100 x (capacity / capacity in 2023) ^ elasticity; governance cost
falls as overall capacity rises. Proposal adoption (F41) is a logistic function of the
governance-partner system, the incubator (F40) and mean competence; resident participation
(F42) follows adoption.

`capacity_structure` chooses how staffing and competence make capacity, and which posts
response speed (F45) rests on (docs/ODD.md 7.9 and section 8, where the four are compared):

- `staffing`: capacity per post of establishment - a vacant post delivers nothing;
  response from digital and grid posts (the mean of the two);
- `quality`: capacity per filled post - colleagues cover vacancies at the quality of those
  in post, so staffing no longer matters, only competence and training;
- `frontline`: as `staffing`, but response rests on grid (frontline) posts alone; digital
  skills reach it through grid cadres' digital competence, not through digital posts;
- `serial`: as `staffing`, but a request passes a digital stage and a grid stage in turn,
  so response capacity is the harmonic mean of the two.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from sim.costs import monthly_cost
from sim.state import (
    ADMIN,
    DIGITAL,
    DOMAINS,
    ELDERLY,
    GRID,
    N_POST_TYPES,
    STAGES,
    domain_sum,
    filled_posts,
    posted_cells,
)

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


def capacities(model: CadreModel) -> dict[str, float]:
    """Capacity (0-1) of each post type and overall, pooled over communities."""
    return _capacities(model, np.array([0, model.communities.n]), _Posts(model))[0]


class _Posts:
    """The cadres in post this month (of `model.rows`): which, their rows, kinds, competence and cells.

    `competence` is that of all of `model.rows`, if the caller has it. `filled` counts them
    per (community served, post type).
    """

    def __init__(self, model: CadreModel, competence: np.ndarray | None = None) -> None:
        t, rows = model.cadres, model.rows
        self.mask, self.rows, self.kind, self.cell = posted_cells(t, rows)
        self.competence = t.competence_of(self.rows) if competence is None else np.compress(self.mask, competence, axis=0)
        self.filled = filled_posts(t, rows, model.communities.n, self.cell)


def _capacities(model: CadreModel, bounds: np.ndarray, posts: _Posts) -> list[dict[str, float]]:
    """Capacities of each block of communities [bounds[b], bounds[b + 1]) (one block in a single run).

    Everything up to the pooling is per cadre or per community, so it is computed for all
    blocks at once; the pooled sums are taken block by block, adding the same numbers in the
    same order as a run of that block alone.
    """
    p, t, c = model.p, model.cadres, model.communities
    kind = posts.kind
    # Competence in the domains the post exercises: the weighted domains added in order.
    domains = model.post_domains
    value = domain_sum(posts.competence * np.take(domains, kind, axis=0))
    value = value / domains.sum(axis=1)[kind] / 100
    value *= 1 - p.mismatch_capacity_penalty * ~t.specialised[posts.rows]
    delivered = np.bincount(posts.cell, weights=value, minlength=N_POST_TYPES * c.n).reshape(c.n, N_POST_TYPES)
    count = posts.filled
    establishment = c.establishment
    share_counted = np.where(count > 0, np.minimum(1.0, establishment / np.maximum(count, 1)), 0.0)
    counted = delivered * share_counted
    structure = p.capacity_structure
    per = np.minimum(count, establishment) if structure == "quality" else establishment  # per filled post, or per post
    out = []
    for lo, hi in itertools.pairwise(bounds.tolist()):
        by_type = counted[lo:hi].sum(axis=0) / np.maximum(1, per[lo:hi].sum(axis=0))
        if structure == "frontline":
            response = float(by_type[GRID])
        elif structure == "serial":
            response = float(2 / (1 / max(by_type[DIGITAL], 1e-9) + 1 / max(by_type[GRID], 1e-9)))
        else:
            response = float(np.mean(by_type[[DIGITAL, GRID]]))
        out.append(
            {
                "admin": by_type[ADMIN],
                "digital": by_type[DIGITAL],
                "elderly": by_type[ELDERLY],
                "grid": by_type[GRID],
                "overall": float(counted[lo:hi].sum() / max(1, per[lo:hi].sum())),
                "service": float(np.mean(by_type[[ADMIN, DIGITAL, ELDERLY]])),
                "response": response,
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
    capacity = _capacities(model, np.append(c.starts, c.n), cadres.posts)
    share = _shares(cadres, communities, flows, c)
    out = []
    for b in range(blocks):
        rows_b = slice(int(bounds[b]), int(bounds[b + 1]))
        out.append(_row(model, b, rows_b, cadres, capacity[b], flows[b], references[b], share))
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
        self.posts = _Posts(model, self.competence)
        self.filled = self.posts.filled
        posted = self.posts.mask
        rotation = model.policy.features["rotation"][home]
        age = t.age[rows]

        def count(index: np.ndarray, size: int, *shape: int) -> np.ndarray:
            cell = block * size + index if blocks > 1 else index
            return np.bincount(cell, minlength=blocks * size).reshape(blocks, *shape)

        def count_true(mask: np.ndarray) -> np.ndarray:
            if blocks == 1:
                return np.array([np.count_nonzero(mask)])
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


def _shares(k: _Cadres, cm: _Communities, flows: list[dict[str, int]], c) -> dict[str, np.ndarray]:
    """Every count-based column, for all blocks at once (integer counts, then one division for them all)."""
    by_tier, by_kind, status = k.by_tier, k.by_kind, k.status
    n = k.n
    staffed = np.add.reduceat(np.minimum(k.filled, c.establishment), c.starts)  # a surplus fills no vacancy elsewhere
    counts = np.add.reduceat(k.filled, c.starts)
    establishment = np.maximum(1, cm.establishment)
    exits = np.array([f["exits_voluntary"] + f["exits_appraisal"] + f["exits_retirement"] for f in flows])
    fractions = {  # name: (part, whole), 0 where whole is 0
        "share_under_35": (k.under_35, n),
        "share_over_45": (k.over_45, n),
        "share_masters": (by_tier[:, :, 2].sum(axis=1), by_tier.sum(axis=(1, 2))),
        "share_degree_street": (by_kind[:, 0, 1:].sum(axis=1), by_kind[:, 0].sum(axis=1)),
        "share_degree_county": (by_kind[:, 1, 1:].sum(axis=1), by_kind[:, 1].sum(axis=1)),
        "share_masters_tier1": (by_tier[:, 1, 2], by_tier[:, 1].sum(axis=1)),
        "share_masters_tier2": (by_tier[:, 2, 2], by_tier[:, 2].sum(axis=1)),
        "share_masters_tier34": (by_tier[:, 3, 2], by_tier[:, 3].sum(axis=1)),
        "idle_rate": (status[:, 0].sum(axis=(1, 2)), status.sum(axis=(1, 2, 3))),
        "idle_rate_traditional": (status[:, 0, 0].sum(axis=1), status[:, :, 0].sum(axis=(1, 2))),
        "mismatch_rate": (status[:, 1, :, 0].sum(axis=1), status[:, 1].sum(axis=(1, 2))),
        "mismatch_rate_traditional": (status[:, 1, 0, 0], status[:, 1, 0].sum(axis=1)),
        "mean_cgcmm_level": (k.level_counts @ np.arange(6), n),  # integer sums: exact
        **{f"share_cgcmm_{j}": (k.level_counts[:, j], n) for j in range(1, 6)},
        **{f"share_stage_{STAGES[j]}": (k.stages[:, j], n) for j in range(1, 5)},
        "share_specialised": (status[:, :, :, 1].sum(axis=(1, 2)), n),
        "mentors_trained": (cm.mentors_trained, cm.mentors),
        **{f"communities_{name}": (v, cm.sizes) for name, v in cm.with_feature.items()},
        **{name: (v, cm.sizes) for name, v in cm.with_switch.items()},
    }
    divided = _fractions(*(np.array([pair[i] for pair in fractions.values()], dtype=np.float64) for i in (0, 1)))
    return {
        "reserve_per_community": n / cm.sizes,
        "digital_vacancy_rate": 1 - staffed[:, DIGITAL] / establishment[:, DIGITAL],
        "admin_overstaffing": counts[:, ADMIN] / establishment[:, ADMIN] - 1,
        "turnover_rate": 12 * exits / np.maximum(1, n),
        **dict(zip(fractions, divided, strict=True)),
    }


def _row(
    model: CadreModel,
    b: int,
    rows: slice,
    k: _Cadres,
    cap: dict[str, float],
    flows: dict[str, int],
    ref: dict[str, float],
    share: dict[str, np.ndarray],
) -> dict[str, float]:
    """Block b's row of outcomes: the counted columns picked out, means and indices computed."""
    p = model.p
    n_cadres, n_communities = int(k.n[b]), int(model.communities.sizes[b])
    competence = k.competence[rows]
    mean_competence = float(competence.mean()) if n_cadres else 0.0
    adoption = proposal_adoption(p, share["governance_partner"][b], share["incubator"][b], mean_competence, ref)
    central_west = int(k.central_west[b])
    shares = {name: float(v[b]) for name, v in share.items()}
    return {
        "cadres": n_cadres,
        "communities": n_communities,
        "cadres_central_west": central_west,
        **{name: shares[name] for name in COUNTED_FIRST},
        **flows,
        "turnover_rate": shares["turnover_rate"],
        "mean_competence": mean_competence,
        **{f"competence_{d}": float(competence[:, i].mean()) if n_cadres else 0.0 for i, d in enumerate(DOMAINS)},
        "mean_cgcmm_level": shares["mean_cgcmm_level"],
        **{name: shares[name] for name in COUNTED_AFTER_LEVELS},
        "health_index_mean": float(k.health[rows].mean()) if n_cadres else 0.0,
        "mentors_trained": shares["mentors_trained"],
        "communities_training_base": shares["communities_training_base"],
        "communities_growth_file": shares["communities_growth_file"],
        "communities_promotion_standard": shares["communities_promotion_standard"],
        "communities_honour_fund": shares["communities_honour_fund"],
        "communities_scientific_use": shares["communities_rotation"],
        "communities_staged_training": shares["communities_staged_training"],
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


# Counted columns in table order: those before the flows, and those after the mean CGCMM level.
COUNTED_FIRST = (
    "reserve_per_community",
    "share_under_35",
    "share_over_45",
    "share_masters",
    "share_degree_street",
    "share_degree_county",
    "share_masters_tier1",
    "share_masters_tier2",
    "share_masters_tier34",
    "idle_rate",
    "idle_rate_traditional",
    "mismatch_rate",
    "mismatch_rate_traditional",
    "digital_vacancy_rate",
    "admin_overstaffing",
)
COUNTED_AFTER_LEVELS = (
    *(f"share_cgcmm_{j}" for j in range(1, 6)),
    *(f"share_stage_{STAGES[j]}" for j in range(1, 5)),
    "share_specialised",
)


def reference_values(model: CadreModel) -> dict[str, float]:
    """The mid-2023 values that the indices are relative to."""
    competence = model.cadres.competence[model.rows]
    reference = {"mean_competence": float(competence.mean()), "proposal_adoption_rate": model.p.proposal_adoption_2023}
    reference.update(capacities(model))
    return reference


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else 0.0


def _fractions(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole elementwise, 0 where whole is 0."""
    return np.divide(part, whole, out=np.zeros(np.shape(part)), where=np.asarray(whole) != 0)


def _ratio(value: float, reference: float) -> float:
    return max(value, 1e-9) / max(reference, 1e-9)
