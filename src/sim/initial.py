"""The June 2023 state: communities and their reserve cadres, built from the article's figures.

Shares that the article reports (F05, F07-F10, F19-F29) are met exactly up to rounding
by allocating whole counts at random, rather than by independent coin flips, so that a
100-community run starts where the article says 2023 was. Randomness comes from the
model's `rng` (numpy Generator seeded with the run's seed); it happens before any policy
acts, so every scenario run from one seed starts from the same state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.errors import InputError
from sim.parameters import Parameters
from sim.policy import DRAWN_AT_SET_UP, FEATURES, adoption_rank
from sim.processes.posting import post_scientific, take_posts
from sim.rng import RandomStreams
from sim.state import (
    ADMIN,
    ADVANCEMENT,
    DIGITAL,
    DOMAINS,
    ELDERLY,
    FOUNDATION,
    GRID,
    IDLE,
    N_POST_TYPES,
    CadreTable,
    CommunityTable,
    cadre_key,
    filled_posts,
    rank_in_group,
)

if TYPE_CHECKING:
    from sim.model import CadreModel


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` into whole numbers proportional to `weights` (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts


def choose(rng: np.random.Generator, candidates: np.ndarray, share: float) -> np.ndarray:
    """A random subset of exactly round(share x len) of `candidates`."""
    k = round(share * len(candidates))
    return rng.permutation(candidates)[:k]


def build_communities(p: Parameters, rng: np.random.Generator, streams: RandomStreams) -> CommunityTable:
    """Communities with kind, tier, region, pools, quotas, posts and policy adoption order."""
    n = p.n_communities
    c = CommunityTable(n)
    index = np.arange(n)
    c.cluster = (index // p.cluster_size).astype(np.int32)
    c.central = index % p.cluster_size == 0  # F36: one central community per pool
    n_clusters = int(c.cluster.max()) + 1
    # City tier and region are properties of a pool's city: allocate them to whole pools.
    tier_of_cluster = np.repeat(
        [1, 2, 3], apportion(n_clusters, [p.tier1_share, p.tier2_share, 1 - p.tier1_share - p.tier2_share])
    )
    c.tier = rng.permutation(tier_of_cluster).astype(np.int8)[c.cluster]
    east_of_cluster = np.arange(n_clusters) < round(p.east_share * n_clusters)
    c.east = rng.permutation(east_of_cluster)[c.cluster]
    c.county[choose(rng, index, p.county_share)] = True
    weights = rng.lognormal(0.0, p.reserve_size_dispersion, n) if p.reserve_size_dispersion > 0 else np.ones(n)
    c.base_quota = np.maximum(1, apportion(round(p.reserve_per_community * n), weights)).astype(np.int32)
    c.establishment = _establishment(p, c.base_quota)
    for feature in FEATURES:  # adoption order of each coverage feature (sim.policy)
        drawn = feature in DRAWN_AT_SET_UP
        c.rank[feature] = (rng.permutation(n) + 0.5) / n if drawn else adoption_rank(streams, feature, n)
    m = p.mentors_per_community
    c.mentor_rank = ((rng.permutation(n * m) + 0.5) / (n * m)).reshape(n, m)
    return c


def _establishment(p: Parameters, quota: np.ndarray) -> np.ndarray:
    """Practice posts by type per community, proportional to the reserve it holds.

    Each community's total is split by the post mix with largest remainders, row by row.
    """
    mix = np.array([p.post_mix_admin, p.post_mix_digital, p.post_mix_elderly, 0.0])
    mix[GRID] = 1.0 - mix.sum()
    total = np.maximum(1, np.round(p.posts_per_cadre * quota)).astype(np.int64)
    exact = total[:, None] * mix / mix.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - counts.sum(axis=1)
    order = np.argsort(-(exact - counts), axis=1, kind="stable")
    rank = np.argsort(order, axis=1, kind="stable")  # position of each post type in its row's order
    counts += rank < short[:, None]
    return counts.astype(np.int32)


def build_cadres(p: Parameters, c: CommunityTable, rng: np.random.Generator) -> CadreTable:
    """The reserve of June 2023, matching F05, F07-F10, F23 and F24 up to rounding.

    Training status and posts (F19-F22) are set by `initial_posts`."""
    n = int(c.base_quota.sum())
    table = CadreTable(int(n * 1.3) + 16)
    rows = table.allocate(n)
    home = np.repeat(np.arange(c.n), c.base_quota).astype(np.int32)
    serial = np.arange(n) - np.repeat(np.cumsum(c.base_quota) - c.base_quota, c.base_quota)
    c.next_serial = c.base_quota.astype(np.int64).copy()
    table.key[rows] = cadre_key(home, serial)
    table.home[rows] = home
    table.serving[rows] = home
    table.age[rows] = _ages(p, rng, n)
    table.education[rows] = _education(p, c, rng, home)
    table.capability[rows] = rng.standard_normal(n)
    table.mentor[rows] = rng.integers(0, p.mentors_per_community, n)
    months_since_min_age = (table.age[rows] - p.min_age) * 12
    tenure = np.minimum(rng.integers(0, p.initial_tenure_max_months + 1, n), months_since_min_age).astype(np.int32)
    table.entry_month[rows] = -tenure
    young = table.age[rows] < 35
    studied = np.zeros(n, dtype=bool)  # F24, exactly: this share of the young studied elderly psychology
    studied[choose(rng, np.flatnonzero(young), p.elderly_psychology_share_young)] = True
    table.competence[rows] = entry_competence(
        p,
        table.education[rows],
        table.capability[rows],
        young=young,
        studied_elderly=studied,
        domain_noise=rng.standard_normal((n, len(DOMAINS))),
    )
    experience = np.minimum(p.initial_experience_cap, p.initial_experience_gain * tenure)
    table.competence[rows] = np.clip(table.competence[rows] + experience[:, None], 0, 100)
    table.contribution[rows] = p.contribution_per_month * np.minimum(12, tenure)
    return table


def _ages(p: Parameters, rng: np.random.Generator, n: int) -> np.ndarray:
    """Exactly F09's share under 35 and F10's share over 45."""
    young = round(p.share_under_35 * n)
    old = round(p.share_over_45 * n)
    ages = np.concatenate(
        [
            rng.uniform(p.min_age, 35, young),
            rng.uniform(35, 45, n - young - old),
            rng.uniform(np.nextafter(45, 46), p.max_reserve_age, old),
        ]
    )
    return rng.permutation(ages)


def _education(p: Parameters, c: CommunityTable, rng: np.random.Generator, home: np.ndarray) -> np.ndarray:
    """Degree (bachelor+) share by kind (F23 gap) and master's share by tier (F07, F08)."""
    n = len(home)
    education = np.zeros(n, dtype=np.int8)
    county = c.county[home]
    for is_county, share in ((False, p.degree_share_street), (True, p.degree_share_street - p.county_degree_gap)):
        education[choose(rng, np.flatnonzero(county == is_county), max(0.0, share))] = 1
    tier = c.tier[home]
    for t, share in ((1, p.masters_share_tier1), (2, p.masters_share_tier2), (3, p.masters_share_tier34)):
        in_tier = np.flatnonzero(tier == t)
        graduates = rng.permutation(in_tier[education[in_tier] >= 1])
        k = round(share * len(in_tier))
        if k > len(graduates):
            raise InputError(
                f"masters_share for tier {t} ({share:g}) exceeds the share of cadres with a degree there; "
                "lower it or raise degree_share_street"
            )
        education[graduates[:k]] = 2
    return education


def entry_competence(
    p: Parameters,
    education: np.ndarray,
    capability: np.ndarray,
    young: np.ndarray,
    studied_elderly: np.ndarray,
    domain_noise: np.ndarray,
) -> np.ndarray:
    """Competence by domain of a newcomer: education, true capability and domain noise.

    F24: young cadres who have studied elderly psychology start higher in elderly work.
    """
    level = p.competence_mean_entry + p.competence_education_step * (education - 1) + p.competence_capability_sd * capability
    competence = level[:, None] + p.competence_domain_sd * domain_noise
    shift = np.where(studied_elderly, 0.5, -0.5) * p.elderly_psychology_bonus
    competence[:, DOMAINS.index("elderly_social")] += np.where(young, shift, 0.0)
    return np.clip(competence, 0, 100)


def initial_posts(model: CadreModel, rng: np.random.Generator) -> np.ndarray:
    """Training status and posts in June 2023 (F19-F22).

    Scientific-use communities: all but `untrained_share_scientific` of cadres have finished
    the foundation stage, and posts are filled by the same matching as every later month
    (who stays idle follows from that). Time in post is spread over the rotation period so
    that rotations do not come in waves.
    Traditional communities: exactly F19's share idle and F20's share of the posted
    untrained; their posts make up the rest of F21's digital and F22's administrative
    staffing (digital posts to the most digitally able), then elderly posts up to
    establishment, then grid posts. Their 2023 mix is the mix they keep posting in.
    F21 and F22 are met exactly when the parameters allow it (the defaults do); otherwise,
    e.g. with no traditional communities at all, as closely as they allow.

    Returns the traditional post mix: the shares of post types among the posted traditional
    cadres, which traditional communities keep posting in (`posting.post`).
    """
    p, t = model.p, model.cadres
    rows = model.rows
    scientific = model.policy.features["rotation"][t.home[rows]]
    _set_training(t, choose(rng, rows[scientific], 1 - p.untrained_share_scientific), rows[scientific])
    post_scientific(model, rows[scientific])
    posted_scientific = rows[scientific & (t.post[rows] != IDLE)]
    t.months_in_post[posted_scientific] = rng.integers(0, model.policy.levers.rotation_period_months, len(posted_scientific))
    traditional = rows[~scientific]
    idle = choose(rng, traditional, p.idle_share_traditional)
    posted = np.setdiff1d(traditional, idle)
    untrained = np.concatenate([choose(rng, posted, p.untrained_posted_share), choose(rng, idle, p.untrained_posted_share)])
    _set_training(t, np.setdiff1d(traditional, untrained), traditional)
    _staff_traditional(model, posted, rng)
    t.months_in_post[posted] = rng.integers(0, 12, len(posted))
    idle_rows = rows[t.post[rows] == IDLE]
    t.months_idle[idle_rows] = rng.integers(1, 13, len(idle_rows))
    mix = np.bincount(t.post[posted], minlength=N_POST_TYPES)
    return mix / max(1, mix.sum())


def _set_training(t, specialised: np.ndarray, everyone: np.ndarray) -> None:
    """Specialised cadres have finished the foundation stage; the rest have not started it."""
    t.specialised[everyone] = False
    t.stage[everyone] = FOUNDATION
    t.stage_months[everyone] = 0
    t.specialised[specialised] = True
    t.stage[specialised] = ADVANCEMENT
    t.stage_months[specialised] = 0


def _staff_traditional(model: CadreModel, posted: np.ndarray, rng: np.random.Generator) -> None:
    p, t, c = model.p, model.cadres, model.communities
    establishment = c.establishment.sum(axis=0)
    target_digital = round((1 - p.digital_vacancy_2023) * establishment[DIGITAL])
    target_admin = round((1 + p.admin_overstaffing_2023) * establishment[ADMIN])
    _trim_scientific(model, DIGITAL, target_digital)
    _trim_scientific(model, ADMIN, target_admin)
    already = filled_posts(t, model.rows, c.n).sum(axis=0)
    n_digital = target_digital - already[DIGITAL]
    digital_skill = t.competence[posted, DOMAINS.index("digital")] + rng.normal(0, p.initial_staffing_noise, len(posted))
    # The most digitally able, but no more in a community than it has open digital posts.
    by_community = np.lexsort((-digital_skill, t.home[posted]))
    home = t.home[posted][by_community]
    rank = rank_in_group(home)
    open_digital = np.maximum(0, c.establishment[:, DIGITAL] - filled_posts(t, model.rows, c.n)[:, DIGITAL])
    eligible = by_community[rank < open_digital[home]]
    chosen = eligible[np.argsort(-digital_skill[eligible], kind="stable")][:n_digital]
    take_posts(t, posted[chosen], DIGITAL, t.home[posted[chosen]])
    rest = rng.permutation(np.setdiff1d(posted, posted[chosen]))
    n_admin = max(0, target_admin - already[ADMIN])
    take_posts(t, rest[:n_admin], ADMIN, t.home[rest[:n_admin]])
    others = rest[n_admin:]
    # The rest: elderly posts up to establishment, most able in elderly work first; then grid.
    skill = t.competence[others, DOMAINS.index("elderly_social")]
    others = others[np.lexsort((-skill, t.home[others]))]
    community = t.home[others]
    rank_in_community = rank_in_group(community)
    open_elderly = np.maximum(0, c.establishment[:, ELDERLY] - filled_posts(t, model.rows, c.n)[:, ELDERLY])
    kind = np.where(rank_in_community < open_elderly[community], ELDERLY, GRID)
    take_posts(t, others, kind, community)


def _trim_scientific(model: CadreModel, kind: int, target: int) -> None:
    """If scientific-use communities alone hold more posts of `kind` than the 2023 figure
    allows, the least able of them start idle instead (they are re-matched in month 1)."""
    t, rows = model.cadres, model.rows
    holders = rows[t.post[rows] == kind]
    excess = len(holders) - target
    if excess <= 0:
        return
    weights = model.post_domains[kind]
    fit = t.competence[holders] @ weights
    released = holders[np.argsort(fit, kind="stable")[:excess]]
    t.post[released] = IDLE
    t.last_post[released] = IDLE
    t.serving[released] = t.home[released]
    t.months_in_post[released] = 0
