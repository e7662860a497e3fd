"""The two kinds of Mesa agent: reserve cadres and the communities that hold them.

Each agent is a thin view on one row of the model's array tables (`sim.state`): reading
`cadre.age` reads the model's age array. The monthly processes work on the arrays in bulk
(see `sim.model`) and never touch an agent, so agents are built only when someone asks for
them, the way Starsim's `people.person(i)` builds a person: `model.agents`,
`model.agents_by_type[Cadre]` (Mesa AgentSets, with `select`, `get`, `groupby`, ...),
`model.cadre(row)` or `model.community(index)`. `LazyAgents` keeps the Mesa agents in step
with the arrays at that moment: a Cadre agent for every cadre in the reserve (the same
object for as long as the cadre stays), none for those who left. A run that never asks
pays nothing for agents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.outcomes import cgcmm_levels
from sim.state import DOMAINS, EDUCATION, IDLE, POST_TYPES, STAGES

if TYPE_CHECKING:
    from sim.model import CadreModel


class Cadre(mesa.Agent):
    """A community reserve cadre (社区后备干部), stored in row `row` of `model.cadres`."""

    model: CadreModel

    def __init__(self, model: CadreModel, row: int) -> None:
        super().__init__(model)
        self.row = row
        self._key = int(model.cadres.key[row])

    @property
    def present(self) -> bool:
        """Whether the cadre is still in the reserve (its row may since hold a newcomer)."""
        t = self.model.cadres
        return bool(t.alive[self.row]) and int(t.key[self.row]) == self._key

    def _get(self, name: str):
        if not self.present:
            raise LookupError(f"cadre {self._key} has left the reserve; its row now belongs to someone else")
        return getattr(self.model.cadres, name)[self.row]

    @property
    def key(self) -> int:
        return int(self._get("key"))

    @property
    def home(self) -> int:
        """Index of the community whose reserve the cadre belongs to."""
        return int(self._get("home"))

    @property
    def age(self) -> float:
        return float(self._get("age"))

    @property
    def education(self) -> str:
        return EDUCATION[self._get("education")]

    @property
    def competence(self) -> dict[str, float]:
        """Competence (0-100) in the five domains."""
        self._get("alive")
        return dict(zip(DOMAINS, self.model.cadres.competence[self.row].tolist(), strict=True))

    @property
    def cgcmm_level(self) -> int:
        """Capability maturity level 1-5 (F31) from mean competence."""
        competence = self.model.cadres.competence[[self.row]]
        return int(cgcmm_levels(competence, self.model.p.cgcmm_thresholds)[0])

    @property
    def stage(self) -> str:
        """Training stage (F33)."""
        return STAGES[self._get("stage")]

    @property
    def post(self) -> str | None:
        """Current post type, or None when idle."""
        post = int(self._get("post"))
        return None if post == IDLE else POST_TYPES[post]

    @property
    def months_idle(self) -> int:
        return int(self._get("months_idle"))

    @property
    def mentor_trained(self) -> bool:
        return bool(self.model.policy.mentor_trained[self.home, self._get("mentor")])

    def __repr__(self) -> str:
        return f"Cadre(row={self.row}, key={self._key})"

    @property
    def score(self) -> float:
        """Last quarterly appraisal score (F38, F39)."""
        return float(self._get("score"))

    @property
    def low_quarters(self) -> int:
        return int(self._get("low_quarters"))

    @property
    def contribution(self) -> float:
        """Community contribution value over the last year (F32)."""
        return float(self._get("contribution"))


class Community(mesa.Agent):
    """An urban community (社区), stored in row `index` of `model.communities`."""

    model: CadreModel

    def __init__(self, model: CadreModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def kind(self) -> str:
        """'county' or 'street' community (F23)."""
        return "county" if self.model.communities.county[self.index] else "street"

    @property
    def tier(self) -> int:
        """City tier: 1, 2, or 3 for third and fourth tier (F07, F08)."""
        return int(self.model.communities.tier[self.index])

    @property
    def region(self) -> str:
        return "east" if self.model.communities.east[self.index] else "central_west"

    @property
    def central(self) -> bool:
        """Central (True) or satellite community of its talent pool (F36)."""
        return bool(self.model.communities.central[self.index])

    @property
    def posts(self) -> dict[str, int]:
        """Establishment of practice posts by type."""
        return dict(zip(POST_TYPES, self.model.communities.establishment[self.index].tolist(), strict=True))

    @property
    def quota(self) -> int:
        return int(self.model.quota[self.index])

    @property
    def budget(self) -> float:
        """Annual budget in yuan."""
        return float(self.model.p.community_budget)

    def has(self, feature: str) -> bool:
        """Whether the community has a policy feature this month, e.g. 'training_base'."""
        return bool(self.model.policy.features[feature][self.index])

    @property
    def mentors_trained_share(self) -> float:
        return float(np.mean(self.model.policy.mentor_trained[self.index]))

    @property
    def reserve(self) -> list[Cadre]:
        """The cadres in this community's reserve."""
        return list(self.model.agents_by_type[Cadre].select(lambda a: a.home == self.index))


class LazyAgents:
    """Builds and retires a model's Mesa agents when they are asked for, not every month.

    Agents are made with `Cadre(model, row)` / `Community(model, index)` and retired with
    `agent.remove()`, so Mesa's own registry (`model.agents`, `agents_by_type`) stays the
    one source of truth between two look-ups.
    """

    def __init__(self, model: CadreModel) -> None:
        self.model = model
        self.cadres: dict[int, Cadre] = {}  # row -> agent of the cadre in it when last synced
        self.communities: list[Community] = []
        self._synced: object = None  # the model's `rows` array when last synced

    def sync(self) -> None:
        """Make the agents match the arrays now: one per community, one per cadre in the reserve.

        The model replaces its `rows` array whenever cadres join or leave, so an unchanged
        array means there is nothing to do.
        """
        model = self.model
        if model.rows is self._synced:
            return
        self._synced = model.rows
        if not self.communities:
            self.communities = [Community(model, i) for i in range(model.communities.n)]
        rows = model.rows.tolist()
        keys = model.cadres.key[model.rows].tolist()
        keep = {}
        for row, key in zip(rows, keys, strict=True):
            agent = self.cadres.pop(row, None)
            if agent is not None and agent._key != key:
                agent.remove()
                agent = None
            keep[row] = agent if agent is not None else Cadre(model, row)
        for agent in self.cadres.values():  # rows no longer in the reserve
            agent.remove()
        self.cadres = keep

    def cadre(self, row: int) -> Cadre:
        """The agent of the cadre in `row` (which must be in the reserve)."""
        self.sync()
        if row not in self.cadres:
            raise LookupError(f"no cadre in row {row}; rows in the reserve are model.rows")
        return self.cadres[row]

    def community(self, index: int) -> Community:
        """The agent of community `index` (0 to n_communities - 1)."""
        self.sync()
        return self.communities[index]
