"""Array-backed state of cadres and communities.

Cadres and communities are Mesa agents (`sim.agents`), but their numbers live here, one
numpy array per attribute, so that each monthly process is a handful of bulk array
operations rather than a Python call per cadre. A cadre agent is a view on one row.
"""

from __future__ import annotations

import numpy as np

DOMAINS = ("policy_law", "emergency", "digital", "elderly_social", "mediation")
POST_TYPES = ("admin", "digital", "elderly", "grid")
IDLE = -1
N_POST_TYPES = len(POST_TYPES)
ADMIN, DIGITAL, ELDERLY, GRID = range(N_POST_TYPES)
EDUCATION = ("below_bachelor", "bachelor", "masters_plus")
STAGES = ("", "foundation", "advancement", "refinement", "mature")  # F33; index 1..4
FOUNDATION, ADVANCEMENT, REFINEMENT, MATURE = 1, 2, 3, 4

# Attribute name -> (dtype, fill value for a new row). Competence has one column per domain.
CADRE_FIELDS: dict[str, tuple[type, object]] = {
    "alive": (bool, False),
    "key": (np.int64, 0),  # identity for common random numbers (home community, serial)
    "home": (np.int32, 0),  # community whose reserve the cadre belongs to
    "serving": (np.int32, 0),  # community of the current post (differs when seconded, F36)
    "age": (np.float64, 0.0),
    "education": (np.int8, 0),
    "capability": (np.float64, 0.0),  # true capability, standard normal (seen only through selection)
    "stage": (np.int8, FOUNDATION),
    "stage_months": (np.int16, 0),  # training months completed in the current stage
    "specialised": (bool, False),  # foundation stage completed (F20's specialised training)
    "post": (np.int8, IDLE),
    "last_post": (np.int8, IDLE),
    "months_in_post": (np.int16, 0),
    "months_idle": (np.int16, 0),
    "mentor": (np.int8, 0),
    "score": (np.float64, 70.0),  # last quarterly appraisal score
    "health": (np.float64, 0.0),  # last talent health index (F37)
    "low_quarters": (np.int8, 0),
    "contribution": (np.float64, 0.0),  # contribution value over the last 12 months (F32)
    "entry_month": (np.int32, 0),
}


class CadreTable:
    """Struct of arrays, one row per cadre slot; exited cadres free their row for reuse."""

    def __init__(self, capacity: int) -> None:
        self.capacity = 0
        self.competence = np.zeros((0, len(DOMAINS)))
        for name, (dtype, fill) in CADRE_FIELDS.items():
            setattr(self, name, np.full(0, fill, dtype=dtype))
        self._free: list[int] = []
        self._grow(max(capacity, 16))

    def _grow(self, capacity: int) -> None:
        old = self.capacity
        for name, (dtype, fill) in CADRE_FIELDS.items():
            array = np.full(capacity, fill, dtype=dtype)
            array[:old] = getattr(self, name)
            setattr(self, name, array)
        competence = np.zeros((capacity, len(DOMAINS)))
        competence[:old] = self.competence
        self.competence = competence
        self._free.extend(range(capacity - 1, old - 1, -1))  # pop() hands out low rows first
        self.capacity = capacity

    def allocate(self, n: int) -> np.ndarray:
        """Rows for `n` new cadres, reset to their fill values."""
        if n > len(self._free):
            self._grow(max(2 * self.capacity, self.capacity + n))
        rows = np.array([self._free.pop() for _ in range(n)], dtype=np.int64)
        for name, (_, fill) in CADRE_FIELDS.items():
            getattr(self, name)[rows] = fill
        self.competence[rows] = 0.0
        self.alive[rows] = True
        return rows

    def release(self, rows: np.ndarray) -> None:
        self.alive[rows] = False
        self._free.extend(rows.tolist())

    def rows(self) -> np.ndarray:
        """Rows of cadres currently in the reserve, in row order."""
        return np.flatnonzero(self.alive)


class CommunityTable:
    """Struct of arrays, one row per community; fixed for the run."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.county = np.zeros(n, dtype=bool)
        self.tier = np.zeros(n, dtype=np.int8)  # 1, 2 or 3 (third and fourth tier)
        self.east = np.zeros(n, dtype=bool)
        self.cluster = np.zeros(n, dtype=np.int32)
        self.central = np.zeros(n, dtype=bool)
        self.base_quota = np.zeros(n, dtype=np.int32)
        self.establishment = np.zeros((n, len(POST_TYPES)), dtype=np.int32)
        self.next_serial = np.zeros(n, dtype=np.int64)  # recruits so far, for cadre keys
        # Adoption order of each policy feature: a community has the feature when its rank
        # is below coverage x n, so coverage changes switch the same communities every run.
        self.rank: dict[str, np.ndarray] = {}
        self.mentor_rank = np.zeros((n, 0))

    def has(self, feature: str, coverage: float) -> np.ndarray:
        """Which communities have `feature` at this coverage (exactly round(coverage x n))."""
        return self.rank[feature] < coverage

    def mentors_trained(self, share: float) -> np.ndarray:
        """(n, mentors) booleans: which mentors are professionally trained (F26)."""
        return self.mentor_rank < share


def filled_posts(cadres: CadreTable, rows: np.ndarray, n_communities: int) -> np.ndarray:
    """(communities, post types) count of the cadres in `rows` serving in each post type.

    Counted where they serve, which differs from their home when seconded to a pool (F36).
    """
    rows = rows[cadres.post[rows] != IDLE]
    cell = cadres.serving[rows] * N_POST_TYPES + cadres.post[rows]
    return np.bincount(cell, minlength=N_POST_TYPES * n_communities).reshape(n_communities, N_POST_TYPES)


def stage_lengths(p) -> np.ndarray:
    """Training months each stage needs, indexed by stage (F33); 1 where no count applies.

    Index 0 is unused and the mature stage never completes, so both hold 1: a safe divisor.
    """
    return np.array([1, p.foundation_months, p.advancement_months, p.refinement_months, 1])


def rank_in_group(sorted_groups: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal values, for an array sorted by group.

    [4, 4, 7, 7, 7, 9] -> [0, 1, 0, 1, 2, 0]: with items sorted by (group, preference),
    `rank < places[group]` picks each group's best.
    """
    return np.arange(len(sorted_groups)) - np.searchsorted(sorted_groups, sorted_groups)


def cadre_key(community: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """Identity of the serial-th recruit of a community: stable across scenarios."""
    return community.astype(np.int64) * (1 << 32) + serial
