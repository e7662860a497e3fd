"""Selection: new reserve cadres fill vacancies up to each community's quota (F05, F11, F12).

Each vacancy draws `candidates_per_vacancy` candidates of true capability z ~ N(0, 1). A
method sees z through a noisy signal with correlation rho (credentials only, a capability
portrait, or an observer period) and picks the best-looking candidate; slower methods fill
the vacancy months later. A vacancy is counted once: places already being filled are
pending, not vacant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.initial import entry_competence
from sim.processes.appraisal import score_newcomers
from sim.state import DOMAINS, FOUNDATION, cadre_key

if TYPE_CHECKING:
    from sim.model import CadreModel

MAX_DELAY = 24  # the parameter catalogue's upper limit for selection delays


def select(model: CadreModel) -> int:
    """Open selections for this month's vacancies and admit recruits whose selection ends now."""
    p, c = model.p, model.communities
    if not p.recruitment:
        return 0
    delay, signal = _method_settings(p, model.policy.by_community("selection_method"))
    if p.constant_recruits_per_month > 0:
        due = np.concatenate([_constant_intake(n, model.month, p.constant_recruits_per_month) for n in c.sizes.tolist()])
    else:
        due = _due_for_quota(model, delay)
    if due.sum() == 0:
        return 0
    community = np.repeat(np.arange(c.n), due)
    serial = c.next_serial[community] + (np.arange(len(community)) - np.repeat(np.cumsum(due) - due, due))
    c.next_serial += due
    keys = cadre_key(c.local(community), serial, c.block[community])
    capability = _best_candidate(model, keys, signal[community])
    _admit(model, community, keys, capability)
    return len(keys)


def _method_settings(p, methods: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each community's selection delay (months) and signal correlation, from its method."""
    if (methods == methods[0]).all():  # usually one method everywhere: no sort of the names
        names, which = methods[:1], np.zeros(len(methods), dtype=np.intp)
    else:
        names, which = np.unique(methods, return_inverse=True)
    delay = np.array([p[f"delay_{m}"] for m in names], dtype=np.int64)[which]
    signal = np.array([p[f"signal_{m}"] for m in names], dtype=np.float64)[which]
    return delay, signal


def _due_for_quota(model: CadreModel, delay: np.ndarray) -> np.ndarray:
    """Recruits joining each community now: vacancies open selections that end `delay` months later."""
    c = model.communities
    in_reserve = np.bincount(model.cadres.home[model.rows], minlength=c.n)
    vacancies = np.maximum(0, model.quota - in_reserve - model.pending.sum(axis=1))
    width = model.pending.shape[1]
    model.pending[np.arange(c.n), (model.month + delay) % width] += vacancies
    due = model.pending[:, model.month % width].copy()
    model.pending[:, model.month % width] = 0
    return due


def _constant_intake(n_communities: int, month: int, per_month: int) -> np.ndarray:
    """Exactly `per_month` recruits a month, dealt to communities in turn (Markov verification mode)."""
    turn = (month * per_month + np.arange(per_month)) % n_communities
    return np.bincount(turn, minlength=n_communities)


def _best_candidate(model: CadreModel, keys: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """True capability of the candidate who looks best through a signal of correlation rho (one per key)."""
    m, streams, month = model.p.candidates_per_vacancy, model.streams, model.month
    true = streams.normals("candidate_capability", month, keys, m)
    noise = streams.normals("candidate_signal", month, keys, m)
    rho = rho[:, None]
    seen = rho * true + np.sqrt(1 - rho**2) * noise
    return true[np.arange(len(keys)), np.argmax(seen, axis=1)]


def _admit(model: CadreModel, community: np.ndarray, keys: np.ndarray, capability: np.ndarray) -> None:
    p, c, s, month = model.p, model.communities, model.streams, model.month
    t = model.cadres
    rows = t.allocate_blocks(np.bincount(c.block[community], minlength=t.blocks))
    young = s.uniform("recruit_age_band", month, keys) < p.recruit_share_under_35
    u_age = s.uniform("recruit_age", month, keys)
    age = np.where(young, p.min_age + u_age * (35 - p.min_age), 35 + u_age * 10)
    degree_share = np.where(c.county[community], p.degree_share_street - p.county_degree_gap, p.degree_share_street)
    masters_share = np.array([0, p.masters_share_tier1, p.masters_share_tier2, p.masters_share_tier34])[c.tier[community]]
    u_edu = s.uniform("recruit_education", month, keys)
    education = (u_edu < degree_share).astype(np.int8) + (u_edu < masters_share).astype(np.int8)
    noise = s.normals("recruit_competence", month, keys, len(DOMAINS))
    studied = s.uniform("recruit_elderly_study", month, keys) < p.elderly_psychology_share_young
    t.key[rows] = keys
    t.home[rows] = community
    t.serving[rows] = community
    t.age[rows] = age
    t.education[rows] = education
    t.capability[rows] = capability
    t.competence[rows] = entry_competence(p, education, capability, young, studied, noise)
    t.stage[rows] = FOUNDATION
    t.mentor[rows] = (s.uniform("recruit_mentor", month, keys) * p.mentors_per_community).astype(np.int8)
    t.entry_month[rows] = month
    model.add_cadres(rows)
    score_newcomers(model, rows)
