"""The two kinds of Mesa agent: reserve cadres and the communities that hold them.

Each agent is a thin view on one row of the model's array tables (`sim.state`): reading
`cadre.age` reads the model's age array. The monthly processes work on the arrays in bulk
(see `sim.model`), which is what lets a Mesa model of a million cadres run in minutes;
the agents give researchers the usual Mesa handles (`model.agents_by_type[Cadre]`,
AgentSet `select`, `get`, `groupby`) for inspection, notebooks and tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.state import DOMAINS, EDUCATION, IDLE, POST_TYPES, STAGES

if TYPE_CHECKING:
    from sim.model import CadreModel


class Cadre(mesa.Agent):
    """A community reserve cadre (社区后备干部), stored in row `row` of `model.cadres`."""

    model: CadreModel

    def __init__(self, model: CadreModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    def _get(self, name: str):
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
        return dict(zip(DOMAINS, self.model.cadres.competence[self.row].tolist(), strict=True))

    @property
    def cgcmm_level(self) -> int:
        """Capability maturity level 1-5 (F31) from mean competence."""
        return int(self.model.cgcmm_levels(self.model.cadres.competence[[self.row]])[0])

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
