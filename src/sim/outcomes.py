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
    counted, per = _community_capacity(model, posts)
    structure = model.p.capacity_structure
    return [_pooled(counted[lo:hi], per[lo:hi], structure) for lo, hi in itertools.pairwise(bounds.tolist())]


def _community_capacity(model: CadreModel, posts: _Posts) -> tuple[np.ndarray, np.ndarray]:
    """Per (community, post type): the capacity delivered, counting no more cadres than posts, and what it is per.

    `per` is the establishment (a vacant post delivers nothing) or, under the `quality`
    structure, the filled posts (colleagues cover vacancies).
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
    per = np.minimum(count, establishment) if p.capacity_structure == "quality" else establishment  # per filled post, or per post
    return counted, per


def _pooled(counted: np.ndarray, per: np.ndarray, structure: str) -> dict[str, float]:
    """Capacity (0-1) of each post type and overall, pooled over the communities (rows) given."""
    return _from_sums(counted.sum(axis=0), per.sum(axis=0), counted.sum(), per.sum(), structure)


def _from_sums(counted: np.ndarray, per: np.ndarray, counted_total: float, per_total: float, structure: str) -> dict[str, float]:
    """Capacities from pooled sums: by post type (arrays of four) and in all."""
    by_type = counted / np.maximum(1, per)
    if structure == "frontline":
        response = float(by_type[GRID])
    elif structure == "serial":
        response = float(2 / (1 / max(by_type[DIGITAL], 1e-9) + 1 / max(by_type[GRID], 1e-9)))
    else:
        response = float(np.mean(by_type[[DIGITAL, GRID]]))
    return {
        "admin": by_type[ADMIN],
        "digital": by_type[DIGITAL],
        "elderly": by_type[ELDERLY],
        "grid": by_type[GRID],
        "overall": float(counted_total / max(1, per_total)),
        "service": float(np.mean(by_type[[ADMIN, DIGITAL, ELDERLY]])),
        "response": response,
    }


def adoption_logit(p, partner_share, incubator_share, mean_competence, reference: dict):
    """Log-odds of proposal adoption (F41) that the month's schemes (partner system, incubator F40) and competence imply."""
    x = logit(p.proposal_adoption_2023)
    x += p.partner_adoption_logit * partner_share  # F41
    x += p.incubator_adoption_logit * p.innovation_projects_per_year * incubator_share  # F40
    x += p.adoption_competence_slope * (mean_competence - reference["mean_competence"]) / 10
    return float(x) if np.ndim(x) == 0 else x


# Community performance that follows capacity with a lag (`adjust`): the governance indices on the
# log scale (log of index / 100) and proposal adoption on the logit scale.
PERFORMANCE = ("dispute", "satisfaction", "cost", "response", "adoption")


def adjust(state: dict[str, float], implied: dict[str, float], months: float) -> dict[str, float]:
    """Partial adjustment: each value closes 1 - exp(-1 / months) of its gap to what this month implies.

    `state` (last month's values, empty before the first record) is updated in place and
    returned. A lasting change in capacity therefore shows in performance with time constant
    `months`: after k months, exp(-k / months) of the gap remains (docs/ODD.md, 7.9).
    """
    if not state:  # June 2023: performance is what the state implies
        state.update(implied)
        return state
    closed = 1.0 - np.exp(-1.0 / months)
    for name, target in implied.items():
        state[name] = state[name] + closed * (target - state[name])  # a new object: arrays are not shared with `implied`
    return state


def measure_subgroups(model: CadreModel, k: _Cadres, blocks: int) -> list[dict[str, float]]:
    """Each block's subgroup columns (`sim.subgroups`): the decision outcomes and cost quantities per kind of community.

    Sums per (subgroup, block) by bincount, everything after as arrays of (subgroups, blocks);
    the governance indices are relative to each subgroup's own first record (mid-2023) and adjust
    with the same lag as the whole's (`model.subgroup_state`, kept between months).
    """
    from sim.subgroups import SUBGROUPS, column_name

    p, t, c, policy = model.p, model.cadres, model.communities, model.policy
    rows = model.rows
    home = t.home[rows]
    counted, per = _community_capacity(model, k.posts)
    posted = k.posts.mask
    exits_now = sum(model.flows_by_community[f] for f in ("exits_voluntary", "exits_appraisal", "exits_retirement"))
    state = model.subgroup_state
    exits = exits_now - state.get("exits_seen", 0)
    state["exits_seen"] = exits_now
    staffed = np.minimum(k.posts.filled, c.establishment)
    per_cadre = {  # cadre -> value, summed by the cadre's home community first
        "cadres": np.ones(len(rows)),
        "central_west": (~c.east[home]).astype(float),
        "idle": (~posted).astype(float),
        "posted": posted.astype(float),
        "untrained_posted": (posted & ~t.specialised[rows]).astype(float),
        "competence": domain_sum(k.competence),
    }
    per_community = {  # community -> value, summed per subgroup and block
        "communities": np.ones(c.n),
        "establishment_digital": c.establishment[:, DIGITAL].astype(float),
        "staffed_digital": staffed[:, DIGITAL].astype(float),
        "exits": exits.astype(float),
        "partner": policy.by_community("governance_partner").astype(float),
        "incubator": policy.by_community("incubator").astype(float),
        **{f"counted_{j}": counted[:, j] for j in range(N_POST_TYPES)},
        **{f"per_{j}": per[:, j].astype(float) for j in range(N_POST_TYPES)},
        **{n: np.bincount(home, weights=v, minlength=c.n) for n, v in per_cadre.items()},
    }
    groups = list(SUBGROUPS.values())
    size = len(groups) * blocks
    label = np.concatenate([np.where(g.members(c), i * blocks + c.block, size) for i, g in enumerate(groups)])
    got = {n: np.bincount(label, weights=np.tile(v, len(groups)), minlength=size + 1)[:size].reshape(len(groups), blocks)
           for n, v in per_community.items()}  # fmt: skip
    by_type_counted = np.stack([got[f"counted_{j}"] for j in range(N_POST_TYPES)], axis=-1)
    by_type_per = np.stack([got[f"per_{j}"] for j in range(N_POST_TYPES)], axis=-1)
    cap = _capacity_arrays(by_type_counted, by_type_per, p.capacity_structure)
    n = got["cadres"]
    mean_competence = np.divide(got["competence"], len(DOMAINS) * n, out=np.zeros_like(n), where=n > 0)
    if "reference" not in state:  # the subgroups' own mid-2023 levels
        state["reference"] = {**cap, "mean_competence": mean_competence}
    ref = {**state["reference"], "proposal_adoption_rate": p.proposal_adoption_2023}
    size_g = np.maximum(1.0, got["communities"])
    implied = implied_performance(p, cap, ref, got["partner"] / size_g, got["incubator"] / size_g, mean_competence)
    now = adjust(state.setdefault("performance", {}), implied, p.performance_adjustment_months)
    values = {
        "idle_rate": np.divide(got["idle"], n, out=np.zeros_like(n), where=n > 0),
        "mismatch_rate": np.divide(got["untrained_posted"], got["posted"], out=np.zeros_like(n), where=got["posted"] > 0),
        "turnover_rate": 12 * got["exits"] / np.maximum(1.0, n),
        "digital_vacancy_rate": 1 - got["staffed_digital"] / np.maximum(1.0, got["establishment_digital"]),
        "mean_competence": mean_competence,
        **performance_outputs(p, now, ref),
        "communities": got["communities"],
        "cadres": n,
        "cadres_central_west": got["central_west"],
    }
    return [
        {column_name(name, g.name): float(v[i, b]) for i, g in enumerate(groups) for name, v in values.items()}
        for b in range(blocks)
    ]


def _capacity_arrays(counted: np.ndarray, per: np.ndarray, structure: str) -> dict[str, np.ndarray]:
    """`_from_sums` for arrays of pooled sums (..., post types): each capacity as an array of the leading shape."""
    by_type = counted / np.maximum(1, per)
    if structure == "frontline":
        response = by_type[..., GRID]
    elif structure == "serial":
        response = 2 / (1 / np.maximum(by_type[..., DIGITAL], 1e-9) + 1 / np.maximum(by_type[..., GRID], 1e-9))
    else:
        response = np.mean(by_type[..., [DIGITAL, GRID]], axis=-1)
    return {
        "admin": by_type[..., ADMIN],
        "digital": by_type[..., DIGITAL],
        "elderly": by_type[..., ELDERLY],
        "grid": by_type[..., GRID],
        "overall": counted.sum(axis=-1) / np.maximum(1, per.sum(axis=-1)),
        "service": np.mean(by_type[..., [ADMIN, DIGITAL, ELDERLY]], axis=-1),
        "response": response,
    }


def measure(model: CadreModel) -> dict[str, float]:
    """Everything recorded for one month."""
    return measure_blocks(model, [model.flows], [model.reference], [model.performance])[0]


def measure_blocks(
    model: CadreModel, flows: list[dict[str, int]], references: list[dict[str, float]], performance: list[dict[str, float]]
) -> list[dict[str, float]]:
    """Everything recorded for one month, for each block (`sim.replicates`; one in a single run).

    `performance` holds each block's lagged community performance (`adjust`), updated here.

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
        out.append(_row(model, b, rows_b, cadres, capacity[b], flows[b], references[b], share, performance[b]))
    if model.p.subgroup_outputs:
        for row, groups in zip(out, measure_subgroups(model, cadres, blocks), strict=True):
            row.update(groups)
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
    performance: dict[str, float],
) -> dict[str, float]:
    """Block b's row of outcomes: the counted columns picked out, means and indices computed."""
    p = model.p
    n_cadres, n_communities = int(k.n[b]), int(model.communities.sizes[b])
    competence = k.competence[rows]
    mean_competence = float(competence.mean()) if n_cadres else 0.0
    implied = implied_performance(p, cap, ref, share["governance_partner"][b], share["incubator"][b], mean_competence)
    performed = performance_outputs(p, adjust(performance, implied, p.performance_adjustment_months), ref)
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
        **performed,
        "program_cost": monthly_cost(  # yuan this month at central prices (sim.costs)
            model.policy.phases_of(b),
            model.cost_lines_of(b),
            {"community_year": n_communities, "cadre_year": n_cadres, "central_west_cadre_year": central_west},
        ),
    }


def implied_performance(p, cap: dict, ref: dict, partner_share, incubator_share, mean_competence) -> dict:
    """What this month's capacity and schemes imply for community performance, on the scales it adjusts on (`adjust`).

    Numbers for the whole, or arrays of one shape for subgroups (`measure_subgroups`).
    """
    return {
        "dispute": p.dispute_capacity_elasticity * np.log(_ratio(cap["grid"], ref["grid"])),
        "satisfaction": p.satisfaction_capacity_elasticity * np.log(_ratio(cap["service"], ref["service"])),
        "cost": -p.cost_capacity_elasticity * np.log(_ratio(cap["overall"], ref["overall"])),
        "response": p.response_capacity_elasticity * np.log(_ratio(cap["response"], ref["response"])),
        "adoption": adoption_logit(p, partner_share, incubator_share, mean_competence, ref),
    }


def performance_outputs(p, now: dict, ref: dict) -> dict:
    """The governance and participation columns from the adjusted performance (indices: mid-2023 = 100).

    Numbers (floats) for the whole, arrays for subgroups.
    """
    scalar = np.ndim(now["adoption"]) == 0
    exp = (lambda x: float(np.exp(x))) if scalar else np.exp
    adoption = 1 / (1 + exp(-now["adoption"]))
    return {
        "proposal_adoption_rate": adoption,
        "resident_participation": 100 * (adoption / ref["proposal_adoption_rate"]) ** p.participation_adoption_elasticity,
        "dispute_resolution_efficiency": 100 * exp(now["dispute"]),
        "service_satisfaction": 100 * exp(now["satisfaction"]),
        "governance_cost": 100 * exp(now["cost"]),
        "response_speed": 100 * exp(now["response"]),
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


def _ratio(value, reference):
    """value / reference with both floored at 1e-9 (numbers, or arrays for subgroups)."""
    if np.ndim(value) == 0 and np.ndim(reference) == 0:
        return max(value, 1e-9) / max(reference, 1e-9)
    return np.maximum(value, 1e-9) / np.maximum(reference, 1e-9)
