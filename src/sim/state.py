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
    """Struct of arrays, one row per cadre slot; exited cadres free their row for reuse.

    The table holds one or more independent *blocks* (replicates run side by side,
    `sim.replicates`). Block b owns rows [b x stride, b x stride + its capacity); rows are
    handed out and freed per block exactly as a table of that block alone would, so a
    block's cadres sit in the same order as in a run of their own. A single run is one block.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = 0  # length of every array
        self.stride = 0  # rows per block
        self.competence = np.zeros((0, len(DOMAINS)))
        for name, (dtype, fill) in CADRE_FIELDS.items():
            setattr(self, name, np.full(0, fill, dtype=dtype))
        self._caps: list[int] = [0]  # each block's own capacity
        self._frees: list[list[int]] = [[]]  # each block's free rows, local to the block
        self._grow([max(capacity, 16)])

    @property
    def blocks(self) -> int:
        return len(self._caps)

    @property
    def _free(self) -> list[int]:
        return self._frees[0]

    def _grow(self, caps: list[int]) -> None:
        """Give block b capacity caps[b] (never less than it has), moving blocks apart if needed."""
        stride = max(self.stride, *caps)
        old_stride, blocks = self.stride, len(caps)
        for name, (dtype, fill) in [*CADRE_FIELDS.items(), ("competence", (np.float64, 0.0))]:
            old = getattr(self, name)
            if stride != old_stride:
                array = np.full((blocks * stride, *old.shape[1:]), fill, dtype=dtype)
                for b in range(blocks):
                    array[b * stride : b * stride + self._caps[b]] = old[b * old_stride : b * old_stride + self._caps[b]]
                setattr(self, name, array)
        for b, cap in enumerate(caps):
            self._frees[b].extend(range(cap - 1, self._caps[b] - 1, -1))  # pop() hands out low rows first
        self._caps = list(caps)
        self.stride = stride
        self.capacity = blocks * stride

    def allocate(self, n: int) -> np.ndarray:
        """Rows for `n` new cadres (a single-block table), reset to their fill values."""
        return self.allocate_blocks(np.array([n]))

    def allocate_blocks(self, counts: np.ndarray) -> np.ndarray:
        """Rows for counts[b] new cadres in each block b, in block order, reset to their fill values."""
        wanted = zip(self._caps, self._frees, counts.tolist(), strict=True)
        caps = [cap if n <= len(free) else max(2 * cap, cap + n) for cap, free, n in wanted]
        if caps != self._caps:
            self._grow(caps)
        parts = [
            b * self.stride + np.array([free.pop() for _ in range(n)], dtype=np.int64)
            for b, (free, n) in enumerate(zip(self._frees, counts.tolist(), strict=True))
            if n
        ]
        rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        for name, (_, fill) in CADRE_FIELDS.items():
            getattr(self, name)[rows] = fill
        self.competence[rows] = 0.0
        self.alive[rows] = True
        return rows

    def release(self, rows: np.ndarray) -> None:
        """Free `rows` (in row order within each block, as a block alone would)."""
        self.alive[rows] = False
        if self.blocks == 1:
            self._frees[0].extend(rows.tolist())
            return
        block = rows // self.stride
        for b in np.unique(block).tolist():
            self._frees[b].extend((rows[block == b] - b * self.stride).tolist())

    def rows(self) -> np.ndarray:
        """Rows of cadres currently in the reserve, in row order."""
        return np.flatnonzero(self.alive)

    def competence_of(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), domains) competence of `rows`: a copy, as `competence[rows]`, about 3x faster."""
        return np.take(self.competence, rows, axis=0)

    def set_competence(self, rows: np.ndarray, values: np.ndarray) -> None:
        """`competence[rows] = values`, about 2x faster: each row's domains move as one 40-byte item."""
        whole_rows = np.dtype((np.void, self.competence.shape[1] * self.competence.itemsize))
        new = np.ascontiguousarray(values, dtype=np.float64)
        self.competence.view(whole_rows).reshape(-1)[rows] = new.view(whole_rows).reshape(-1)

    @classmethod
    def stack(cls, tables: list[CadreTable]) -> CadreTable:
        """One table holding each single-block table as a block, rows and free lists unchanged."""
        stacked = cls(16)
        stacked._caps = [t.capacity for t in tables]
        stacked._frees = [list(t._free) for t in tables]
        stacked.stride = max(stacked._caps)
        stacked.capacity = len(tables) * stacked.stride
        for name, (dtype, fill) in [*CADRE_FIELDS.items(), ("competence", (np.float64, 0.0))]:
            array = np.full((stacked.capacity, *getattr(tables[0], name).shape[1:]), fill, dtype=dtype)
            for b, t in enumerate(tables):
                array[b * stacked.stride : b * stacked.stride + t.capacity] = getattr(t, name)
            setattr(stacked, name, array)
        return stacked


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
        # Replicate blocks (sim.replicates): each community's block, and where each block starts.
        self.block = np.zeros(n, dtype=np.int64)
        self.starts = np.array([0])

    ARRAYS = ("county", "tier", "east", "cluster", "central", "base_quota", "establishment", "next_serial", "mentor_rank")

    @property
    def sizes(self) -> np.ndarray:
        """Communities in each block."""
        return np.diff([*self.starts.tolist(), self.n])

    @classmethod
    def stack(cls, tables: list[CommunityTable]) -> CommunityTable:
        """One table holding each table as a block; pools (clusters) renumbered to stay apart."""
        stacked = cls(sum(t.n for t in tables))
        for name in cls.ARRAYS:
            setattr(stacked, name, np.concatenate([getattr(t, name) for t in tables]))
        clusters = np.cumsum([0, *(int(t.cluster.max()) + 1 for t in tables[:-1])])
        stacked.cluster = np.concatenate([t.cluster + k for t, k in zip(tables, clusters, strict=True)]).astype(np.int32)
        stacked.rank = {f: np.concatenate([t.rank[f] for t in tables]) for f in tables[0].rank}
        stacked.starts = np.cumsum([0, *(t.n for t in tables[:-1])])
        stacked.block = np.repeat(np.arange(len(tables)), [t.n for t in tables])
        return stacked

    def local(self, community: np.ndarray) -> np.ndarray:
        """Index of each community within its own block (the index a run of that block alone uses)."""
        return community - self.starts[self.block[community]]

    def has(self, feature: str, coverage: float) -> np.ndarray:
        """Which communities have `feature` at this coverage (exactly round(coverage x n))."""
        return self.rank[feature] < coverage

    def mentors_trained(self, share: float) -> np.ndarray:
        """(n, mentors) booleans: which mentors are professionally trained (F26)."""
        return self.mentor_rank < share


def posted_cells(cadres: CadreTable, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cadres of `rows` in a post: which of them (a mask), their rows, post types and cells.

    A cell is (community served) x N_POST_TYPES + post type: where they serve, which differs
    from their home when seconded to a pool (F36).
    """
    post = cadres.post[rows]
    mask = post != IDLE
    posted, kind = np.compress(mask, rows), np.compress(mask, post)
    return mask, posted, kind, cadres.serving[posted] * N_POST_TYPES + kind


def filled_posts(cadres: CadreTable, rows: np.ndarray, n_communities: int, cells: np.ndarray | None = None) -> np.ndarray:
    """(communities, post types) count of the cadres in `rows` serving in each post type.

    `cells` is `posted_cells(cadres, rows)[3]` if the caller has it.
    """
    cells = posted_cells(cadres, rows)[3] if cells is None else cells
    return np.bincount(cells, minlength=N_POST_TYPES * n_communities).reshape(n_communities, N_POST_TYPES)


def stage_lengths(p) -> np.ndarray:
    """Training months each stage needs, indexed by stage (F33); 1 where no count applies.

    Index 0 is unused and the mature stage never completes, so both hold 1: a safe divisor.
    """
    return np.array([1, p.foundation_months, p.advancement_months, p.refinement_months, 1])


def domain_sum(values: np.ndarray) -> np.ndarray:
    """Sum across the domains of each row of an (n, domains) array, adding the columns in order.

    The same numbers as `values.sum(axis=1)` (numpy adds a short row left to right), several
    times faster: one vector addition per domain instead of a reduction per row.
    """
    total = values[:, 0].copy()
    for column in range(1, values.shape[1]):
        total += values[:, column]
    return total


def rank_in_group(sorted_groups: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal values, for an array sorted by group.

    [4, 4, 7, 7, 7, 9] -> [0, 1, 0, 1, 2, 0]: with items sorted by (group, preference),
    `rank < places[group]` picks each group's best.
    """
    return np.arange(len(sorted_groups)) - np.searchsorted(sorted_groups, sorted_groups)


BLOCK_SHIFT = 56  # a cadre key's bits from here up number its replicate block (sim.rng)


def cadre_key(community: np.ndarray, serial: np.ndarray, block: np.ndarray | int = 0) -> np.ndarray:
    """Identity of the serial-th recruit of a community: stable across scenarios.

    `community` is the index within its block; `block` (0 in a single run) sits in the top bits.
    """
    return (np.asarray(block, dtype=np.int64) << BLOCK_SHIFT) + community.astype(np.int64) * (1 << 32) + serial
