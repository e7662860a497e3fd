"""Posting and rotation (F17-F22, F36), then what a month in a post or idle does.

Traditional use (F19, F20): an idle cadre is given a post with a fixed monthly chance,
trained or not, and a post ends with a fixed monthly chance; the kind of post follows the
mix these communities had in 2023 - many administrative posts (overstaffing, F22), few
digital ones (vacancy, F21) - so the status quo reproduces itself.

Scientific use (F17): only cadres who finished the foundation stage are posted; vacancies
are filled by fit (competence in the domains the post exercises; digital posts need a
minimum digital competence); after `rotation_period_months` a cadre rotates to a post of
another type. With cross-street rotation (F36), cadres left idle in their own community
fill vacancies elsewhere in their central-satellite pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.state import ADMIN, DIGITAL, DOMAINS, ELDERLY, GRID, IDLE, N_POST_TYPES, filled_posts, rank_in_group

if TYPE_CHECKING:
    from sim.model import CadreModel

FILL_ORDER = (DIGITAL, ELDERLY, GRID, ADMIN)  # scarcest skills first
DIGITAL_DOMAIN = DOMAINS.index("digital")
SAME_POST_PENALTY = 100.0  # rotation means moving to a different kind of post (F17)


def post(model: CadreModel) -> None:
    t, rows = model.cadres, model.rows
    scientific = model.policy.features["rotation"][t.home[rows]]
    _end_posts(model, rows, scientific)
    # Counted once: traditional posting fills only traditional communities' posts, so the
    # counts scientific posting needs (scientific communities') are the same after it.
    filled = filled_posts(t, rows, model.communities.n)
    _post_traditional(model, np.compress(~scientific, rows), filled)
    post_scientific(model, np.compress(scientific, rows), filled)
    posted = t.post[rows] != IDLE
    t.months_in_post[rows] = np.where(posted, t.months_in_post[rows] + 1, 0)
    t.months_idle[rows] = np.where(posted, 0, t.months_idle[rows] + 1)


def _end_posts(model: CadreModel, rows: np.ndarray, scientific: np.ndarray) -> None:
    t, s, month = model.cadres, model.streams, model.month
    posted = t.post[rows] != IDLE
    traditional = np.compress(posted & ~scientific, rows)
    released = np.compress(s.uniform("post_release", month, t.key[traditional]) < model.p.traditional_release_rate, traditional)
    rotating = np.compress(posted & scientific, rows)
    period = model.policy.lever("rotation_period_months")  # one per block
    if len(period) > 1:
        period = period[model.communities.block[t.home[rotating]]]
    rotating = np.compress(t.months_in_post[rotating] >= period, rotating)
    ended = np.concatenate([released, rotating])
    t.post[ended] = IDLE
    t.serving[ended] = t.home[ended]


def _post_traditional(model: CadreModel, rows: np.ndarray, filled: np.ndarray) -> None:
    p, t, s, month = model.p, model.cadres, model.streams, model.month
    idle = np.compress(t.post[rows] == IDLE, rows)
    chosen = np.compress(s.uniform("post_traditional", month, t.key[idle]) < p.traditional_posting_rate, idle)
    if len(chosen) == 0:
        return
    # The 2023 mix, among the kinds of post with a vacancy; administrative work is always open (F22).
    is_open = filled < model.communities.establishment
    is_open[:, ADMIN] = True
    home = t.home[chosen]
    mix = np.take(np.atleast_2d(model.traditional_post_mix), model.communities.block[home], axis=0)  # one mix per block
    weight = np.cumsum(mix * np.take(is_open, home, axis=0), axis=1)
    u = s.uniform("post_type", month, t.key[chosen]) * weight[:, -1]
    kind = (u[:, None] >= weight).sum(axis=1)
    take_posts(t, chosen, np.minimum(kind, GRID), home)


def post_scientific(model: CadreModel, rows: np.ndarray, filled: np.ndarray | None = None) -> None:
    """Post the idle specialised cadres of `rows` by fit, scarcest kind of post first (F17, F36).

    `filled` is the current count of filled posts (`state.filled_posts`) if the caller has it;
    it is updated in place.
    """
    p, t, c = model.p, model.cadres, model.communities
    scientific = model.policy.features["rotation"]
    filled = filled_posts(t, model.rows, c.n) if filled is None else filled
    groupings = [None, *_pools(model)]  # own community first, then the pool
    candidates = np.compress((t.post[rows] == IDLE) & t.specialised[rows], rows)
    competence, home, last_post = t.competence_of(candidates), t.home[candidates], t.last_post[candidates]
    free = np.ones(len(candidates), dtype=bool)  # not yet posted this month
    for kind in FILL_ORDER:
        able = free if kind != DIGITAL else free & (competence[:, DIGITAL_DOMAIN] >= p.digital_post_min_competence)
        idle = np.flatnonzero(able)
        weights = model.post_domains[kind]
        fit = competence[idle] @ weights / weights.sum() - SAME_POST_PENALTY * (last_post[idle] == kind)
        for group_of in groupings:
            if len(idle) == 0:
                break
            vacancies = np.where(scientific, np.maximum(0, c.establishment[:, kind] - filled[:, kind]), 0)
            matched, where = _match(home[idle], fit, vacancies, group_of, c.central)
            take_posts(t, candidates[idle[matched]], kind, where)
            filled[:, kind] += np.bincount(where, minlength=c.n)
            free[idle[matched]] = False
            idle, fit = idle[~matched], fit[~matched]


def _pools(model: CadreModel) -> list[np.ndarray]:
    """Cross-street pools (F36) as a grouping of communities, if any community pools its cadres.

    A community outside the scheme is a pool of its own, so it neither lends nor borrows.
    """
    c = model.communities
    pooled = model.policy.by_community("cross_street_rotation")
    if not pooled.any():
        return []
    return [np.where(pooled, c.cluster, c.cluster.max() + 1 + np.arange(c.n))]


def _match(
    home: np.ndarray, fit: np.ndarray, vacancies: np.ndarray, group_of: np.ndarray | None, central: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fill vacancies with the best-fitting candidates of the same group (community or pool).

    `group_of` maps communities to pools; None means each community is its own group.
    Within a pool, satellite communities' vacancies come before the central community's:
    the centre supplies talent to its satellites (F36). Returns a mask of matched candidates
    and, for each, the community whose vacancy they fill. Only candidates whose group has a
    vacancy are ranked (by group, then best fit first; ties keep candidate order).
    """
    group = home if group_of is None else group_of[home]
    if group_of is None:
        places = vacancies
    else:
        slots = np.repeat(np.arange(len(vacancies)), vacancies)  # one entry per vacancy
        slots = slots[np.lexsort((central[slots], group_of[slots]))]
        places = np.bincount(group_of[slots], minlength=int(group_of.max()) + 1)
    hopeful = np.flatnonzero(places[group] > 0)
    order = hopeful[np.lexsort((-fit[hopeful], group[hopeful]))]
    sorted_group = group[order]
    rank = rank_in_group(sorted_group)
    takes = rank < places[sorted_group]
    if group_of is None:
        filled_in = sorted_group[takes]  # a community's vacancies go to its own candidates
    else:
        first_slot = np.cumsum(places) - places
        filled_in = slots[first_slot[sorted_group[takes]] + rank[takes]]
    matched = np.zeros(len(home), dtype=bool)
    matched[order[takes]] = True
    where = np.empty(len(home), dtype=np.int64)
    where[order[takes]] = filled_in
    return matched, where[matched]


def take_posts(t, rows: np.ndarray, kind: np.ndarray | int, community: np.ndarray) -> None:
    t.post[rows] = kind
    t.last_post[rows] = kind
    t.serving[rows] = community
    t.months_in_post[rows] = 0


def practise(model: CadreModel) -> None:
    """Learning on the job, fading skills when idle, and contribution value (F32)."""
    p, t, rows = model.p, model.cadres, model.rows
    post = t.post[rows]
    posted = post != IDLE
    workers, idle = np.compress(posted, rows), np.compress(~posted, rows)  # compress: 2x a mask index
    competence = t.competence_of(workers)
    serving = t.serving[workers]
    base = model.policy.features["training_base"][serving]
    seconded = serving != t.home[workers]
    # rate x the post's domain weights takes 16 values (base, seconded, post type): one row read per cadre
    # from that table gives the same products as multiplying per cadre, for a fraction of the work.
    on = np.array([False, True])  # each on/off condition, as an axis of the table
    rate = p.practice_gain * (1 + p.training_base_effect * on[:, None]) * (1 + p.cross_street_gain * on[None, :])
    table = rate.reshape(4, 1, 1) * model.post_domains[None, :, :]  # (base x seconded, post, domain)
    cell = (base * 2 + seconded) * N_POST_TYPES + np.compress(posted, post)
    gain = np.take(table.reshape(4 * N_POST_TYPES, -1), cell, axis=0)
    gain *= 100 - competence
    gain /= 100
    competence += gain
    t.set_competence(workers, competence)
    t.set_competence(idle, t.competence_of(idle) * (1.0 - p.idle_decay))
    service = (competence[:, DOMAINS.index("mediation")] + competence[:, DOMAINS.index("elderly_social")]) / 2
    contribution = t.contribution[rows] * (11 / 12)  # a rolling sum of about the last 12 months
    contribution[np.flatnonzero(posted)] += p.contribution_per_month * service / 60.0
    t.contribution[rows] = contribution
