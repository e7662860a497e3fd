"""Policy: which lever values are in force each month, and what they switch on.

The one place where a lever's meaning lives. A scenario gives every lever its status-quo
value; a program inside its window replaces the values of the levers it moves. After the
window, the scenario's `persistence` regime decides (docs/ODD.md, "Persistence"):

- `revert`: every lever returns to the status quo the month after the window;
- `sustain`: *investment* levers keep the program's value (their maintenance is costed,
  `sim.costs`); *recurring* levers revert;
- `decay`: investment levers return towards the status quo, the gap halving every
  `investment_half_life_years`; recurring levers revert. A numeric lever moves part way;
  an on/off or choice lever (a scheme such as the capability bank) stays in that share
  of communities, always the same ones (a fixed per-community order, common to every run
  of a seed).

Processes read the month's `Policy` (`model.policy`) and nothing else about levers:
numeric levers as `policy.levers.<name>`, on/off and choice levers per community with
`policy.by_community(name)` (or `policy.share(name)` where only the share matters),
coverage features as `policy.features[feature]` and trained mentors as
`policy.mentor_trained`.

Adding a coverage lever (a share of communities that has some feature): declare it in
`data/parameters.yaml` with `lever: true`, add one line `feature: lever` to FEATURES
below, and read `policy.features[feature]` in the process that uses it (docs/extending.md).
The new feature's adoption order comes from its own counter-based stream, so every other
random number, and every existing output, stays as it was.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.parameters import Parameters, catalogue
from sim.programs import Program
from sim.rng import RandomStreams
from sim.state import CommunityTable

PERSISTENCE = ("revert", "sustain", "decay")
FIRST_YEAR = 2023  # month 0 is June 2023
FIRST_CALENDAR_MONTH = 6

# Community features and the coverage lever that switches each on: a community has the
# feature when its adoption rank (fixed at month 0) is below the coverage.
FEATURES = {
    "training_base": "training_base_coverage",  # F25
    "growth_file": "growth_file_coverage",  # F27
    "promotion_standard": "promotion_standard_coverage",  # F28
    "honour_fund": "honour_fund_coverage",  # F29
    "rotation": "rotation_coverage",  # F17/F19: scientific use
    "staged_training": "staged_training_coverage",  # F33
    "dual_track": "dual_track_coverage",  # F14
    "dynamic_monitoring": "dynamic_monitoring_coverage",  # F37-F39
}
MENTOR_LEVER = "mentor_trained_share"  # F26: a coverage of mentors rather than of communities
# These eight features' adoption orders are drawn from the set-up generator, in this order,
# as they always have been; a feature added to FEATURES later draws its order from the
# counter-based streams instead (`adoption_rank`), so adding one changes no other number.
# Do not add to this list.
DRAWN_AT_SET_UP = (
    "training_base",
    "growth_file",
    "promotion_standard",
    "honour_fund",
    "rotation",
    "staged_training",
    "dual_track",
    "dynamic_monitoring",
)


def _lever_names(numeric: bool) -> tuple[str, ...]:
    return tuple(n for n, s in catalogue().items() if s.lever and (s.type in ("float", "int")) == numeric)


NUMERIC_LEVERS = _lever_names(numeric=True)
SWITCH_LEVERS = _lever_names(numeric=False)  # on/off and choice levers: held per community

# The numeric levers in force this month, as a frozen, typed record (`policy.levers.funding_share`).
Levers = dataclasses.make_dataclass(
    "Levers",
    [(name, float if catalogue()[name].type == "float" else int) for name in NUMERIC_LEVERS],
    frozen=True,
    slots=True,
)


def month_index(year: int, calendar_month: int = 12) -> int:
    """Model month of a calendar month: month 0 is June 2023, so December 2026 is 42."""
    return (year - FIRST_YEAR) * 12 + (calendar_month - FIRST_CALENDAR_MONTH)


def year_of(month: int) -> int:
    """Calendar year of a model month."""
    return FIRST_YEAR + (FIRST_CALENDAR_MONTH - 1 + month) // 12


@dataclass(frozen=True)
class ProgramPhase:
    """A program that costs something this month: inside its window, or maintained after it."""

    program: Program
    phase: str  # "window" | "maintenance"


@dataclass(frozen=True, eq=False)
class Policy:
    """Everything about policy that the monthly processes may read, for one month."""

    month: int
    levers: Any  # a Levers record: numeric levers in force
    switches: Mapping[str, np.ndarray]  # on/off and choice levers, one value per community
    features: Mapping[str, np.ndarray]  # coverage features, one bool per community
    mentor_trained: np.ndarray  # (communities, mentors): professionally trained mentors (F26)
    phases: tuple[ProgramPhase, ...] = ()
    block_phases: tuple[tuple[ProgramPhase, ...], ...] | None = None  # each block's phases (`stack_policies`)

    @property
    def active_programs(self) -> list[Program]:
        """Programs inside their window this month, in the scenario's order."""
        return self.programs_active_in(0)

    def phases_of(self, block: int) -> tuple[ProgramPhase, ...]:
        """The program phases that cost something this month in `block` (0 in a single run)."""
        return self.phases if self.block_phases is None else self.block_phases[block]

    def programs_active_in(self, block: int) -> list[Program]:
        """Programs inside their window this month in `block`, in its scenario's order."""
        return [ph.program for ph in self.phases_of(block) if ph.phase == "window"]

    def lever(self, name: str) -> np.ndarray:
        """A numeric lever's value in force, one per block (an array of one in a single run)."""
        return np.atleast_1d(getattr(self.levers, name))

    def by_community(self, lever: str) -> np.ndarray:
        """An on/off or choice lever's value in each community."""
        return self.switches[lever]

    def share(self, lever: str) -> float:
        """Share of communities where an on/off lever is on."""
        return float(self.switches[lever].mean())


@dataclass(frozen=True)
class _Setting:
    """A lever's value this month: the program's value held in a share of communities, else `base`."""

    value: Any
    held: float = 1.0


class PolicySchedule:
    """A scenario's policy over time: `schedule.at(month)` is the Policy of that month."""

    def __init__(
        self, parameters: Parameters, programs: Sequence[Program], communities: CommunityTable, seed: int | Sequence[int]
    ) -> None:
        self.p = parameters
        self.programs = tuple(programs)
        self.communities = communities
        self.regime = parameters.persistence
        self.half_life_months = 12 * parameters.investment_half_life_years
        seeds = [seed] if isinstance(seed, int) else list(seed)  # one per replicate block (sim.replicates)
        self._streams = [RandomStreams(s) for s in seeds]
        self._last: tuple[tuple, Policy] | None = None  # the last policy built, reused while its settings hold

    def at(self, month: int, programs_apply: bool = True) -> Policy:
        """The policy of `month` (month 0, June 2023, is before any program: `programs_apply=False`)."""
        settings, phases = self._settings(month) if programs_apply else ({}, ())
        key = tuple((name, repr(setting.value), setting.held) for name, setting in settings.items())
        if self._last is not None and self._last[0] == key:  # most months change nothing: no need to rebuild
            return dataclasses.replace(self._last[1], month=month, phases=phases)
        policy = self._build(month, settings, phases)
        self._last = (key, policy)
        return policy

    def _build(self, month: int, settings: dict[str, _Setting], phases: tuple[ProgramPhase, ...]) -> Policy:
        c = self.communities
        numeric = {name: self._numeric(name, settings.get(name)) for name in NUMERIC_LEVERS}
        switches = {name: self._per_community(name, settings.get(name)) for name in SWITCH_LEVERS}
        return Policy(
            month=month,
            levers=Levers(**numeric),
            switches=switches,
            features={feature: c.has(feature, numeric[lever]) for feature, lever in FEATURES.items()},
            mentor_trained=c.mentors_trained(numeric[MENTOR_LEVER]),
            phases=phases,
        )

    def _settings(self, month: int) -> tuple[dict[str, _Setting], tuple[ProgramPhase, ...]]:
        """Each lever some program sets this month, and which programs cost something.

        Active programs win over the lingering investments of ended ones; among ended ones
        the most recently ended wins, and among equals the later one in the scenario's list.
        """
        year = year_of(month)
        active = [p for p in self.programs if p.active(year)]
        ended = sorted((p for p in self.programs if year > p.end), key=lambda p: p.end)
        settings: dict[str, _Setting] = {}
        for prog in ended if self.regime != "revert" else ():
            held = 1.0 if self.regime == "sustain" else 0.5 ** ((month - month_index(prog.end)) / self.half_life_months)
            for lever, setting in prog.settings.items():
                if setting.investment:
                    settings[lever] = _Setting(setting.value, held)
        for prog in active:
            settings.update({lever: _Setting(value) for lever, value in prog.levers.items()})
        phases = [ProgramPhase(p, "window") for p in active]
        if self.regime == "sustain":
            phases += [ProgramPhase(p, "maintenance") for p in self.programs if year > p.end]
        order = {p.key: i for i, p in enumerate(self.programs)}
        return settings, tuple(sorted(phases, key=lambda ph: order[ph.program.key]))

    def _numeric(self, name: str, setting: _Setting | None) -> float | int:
        base = self.p[name]
        if setting is None or setting.held == 1.0:
            return base if setting is None else setting.value
        value = base + (setting.value - base) * setting.held
        return round(value) if catalogue()[name].type == "int" else value

    def _per_community(self, name: str, setting: _Setting | None) -> np.ndarray:
        n = self.communities.n
        if setting is None or setting.held == 1.0:
            return np.full(n, self.p[name] if setting is None else setting.value)
        keeps = self._retention_rank(name) < setting.held
        return np.where(keeps, setting.value, self.p[name])

    @functools.cache  # noqa: B019 - one schedule per model, a handful of levers
    def _retention_rank(self, name: str) -> np.ndarray:
        """A fixed order in which communities drop a decaying scheme: rank in (0, 1), exact shares.

        Drawn from the counter-based streams (not the model's generator), so that adding
        decay changes no other random number. Each replicate block has its own order.
        """
        sizes = self.communities.sizes
        return np.concatenate(
            [random_order(streams, f"retention_{name}", n) for streams, n in zip(self._streams, sizes, strict=True)]
        )


def stack_policies(policies: Sequence[Policy]) -> Policy:
    """The policies of several blocks (`sim.replicates`) as one Policy of the stacked communities.

    Per-community values are concatenated in block order; each numeric lever becomes an
    array of one value per block (`Policy.lever`), and each block keeps its own program phases.
    """
    if len(policies) == 1:
        return policies[0]
    first = policies[0]
    return Policy(
        month=first.month,
        levers=Levers(**{name: np.array([getattr(p.levers, name) for p in policies]) for name in NUMERIC_LEVERS}),
        switches={k: np.concatenate([p.switches[k] for p in policies]) for k in first.switches},
        features={k: np.concatenate([p.features[k] for p in policies]) for k in first.features},
        mentor_trained=np.concatenate([p.mentor_trained for p in policies]),
        block_phases=tuple(p.phases for p in policies),
    )


def adoption_rank(streams: RandomStreams, feature: str, n: int) -> np.ndarray:
    """The order in which n communities adopt a feature added after DRAWN_AT_SET_UP."""
    return random_order(streams, f"adoption_{feature}", n)


def random_order(streams: RandomStreams, stream: str, n: int) -> np.ndarray:
    """A random rank in (0, 1) for each of n communities, (i + 0.5) / n for the i-th, from a counter-based stream."""
    u = streams.uniform(stream, 0, np.arange(n))
    rank = np.empty(n)
    rank[np.argsort(u, kind="stable")] = (np.arange(n) + 0.5) / n
    return rank
