"""The cadre pipeline model: Mesa model of community reserve cadres, month by month.

Month 0 is the article's June 2023 state (`sim.initial`); month 1 is July 2023. Each month,
in order:

1. policy      - levers for the month: the scenario's values, overridden by active programs
                 and, after their windows, by what the persistence regime keeps (`sim.policy`)
2. ageing      - everyone ages; cadres reaching `max_reserve_age` retire from the reserve
3. training    - training months, competence gains, stage progress, degrees (F13-F16, F25-F27, F30, F33)
4. posting     - posts end or rotate, idle cadres are posted (F17-F22, F36)
5. practice    - learning on the job, fading when idle, contribution value (F32)
6. appraisal   - at quarter ends: health index, scores and the exit rule (F37-F39)
7. promotion   - into formal posts (F18, F28)
8. exit        - voluntary exit (F19, F28, F29, F35, F43)
9. selection   - this month's vacancies open selections; recruits whose selection ends join
                 (F05, F11, F12), so with no delay the month ends with the reserve at quota
10. record     - one row of outcomes (`sim.outcomes`)

Recruits join at the end of the month: their first training, posting and appraisal come
the month after. In stock terms, n(t+1) = n(t) P + R r (see the Markov mode in docs/ODD.md).

This module only orders the work: set-up lives in `sim.initial`, what policy is in force in
`sim.policy`, the arrays and queries on them in `sim.state`, each process in
`sim.processes`, and what is recorded in `sim.outcomes`. Processes read `model.p` (every
parameter except the levers, which raise an error pointing to `model.policy`) and
`model.policy` (the levers in force this month). Mesa agents are built only on access
(`sim.agents`).

Mesa's own tools work on it: the model is built from keyword arguments
(`CadreModel(policy_scenario="talent_foundation", seed=3, n_communities=50, funding_share=0.02)`),
records each month with a `mesa.DataCollector` whose model reporters are the output columns
(`model.datacollector.get_model_vars_dataframe()`), and sets `running` to False at the
scenario's horizon, so `mesa.batch_run` and SolaraViz (`sim.explore`) can drive it. The
policy scenario is `model.policy_scenario`; `model.scenario` is Mesa's own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.agents import Cadre, Community, LazyAgents
from sim.checks import seed as check_seed
from sim.costs import priced_lines
from sim.errors import InputError
from sim.initial import build_cadres, build_communities, initial_posts
from sim.outcomes import measure, reference_values
from sim.policy import FIRST_CALENDAR_MONTH, PolicySchedule, year_of
from sim.processes import appraisal, careers, posting, selection, training
from sim.rng import RandomStreams
from sim.scenario import Scenario, load_scenario
from sim.state import POST_TYPES, stage_lengths

START = pd.Period("2023-06", freq="M")  # month 0: the article's June 2023 state
FLOWS = ("recruits", "promotions", "exits_voluntary", "exits_appraisal", "exits_retirement")


@functools.cache
def _month_ends(months: int) -> tuple[pd.Timestamp, ...]:
    """The recorded date of months 0..months: the last day of each calendar month."""
    return tuple(pd.period_range(START, periods=months + 1, freq="M").to_timestamp(how="end").normalize())


def _output(name: str, model: CadreModel) -> Any:
    """One output column of the month just recorded."""
    return model.records[-1][name]


@functools.cache
def model_reporters() -> Mapping[str, functools.partial]:
    """Every output column as a DataCollector model reporter (picklable partials; `model.results()` has the same columns)."""
    from sim.columns import columns

    return {name: functools.partial(_output, name) for name in columns()}


class CadreModel(mesa.Model):
    """Reserve cadres in `n_communities` communities under one policy scenario, from one seed.

    Keyword arguments (what SolaraViz and `mesa.batch_run` pass):

    - `policy_scenario`: a `Scenario`, a name in data/scenarios/ ('talent_foundation') or a path;
    - `seed`: the run's seed (None draws one from the operating system and keeps it as `model.seed`);
    - `n_communities`, `persistence` and any other parameter of data/parameters.yaml by name
      (`funding_share=0.02`), or `levers={...}`: checked like `--set`;
    - `programs`: run these programs instead of the scenario's: names, or {name, start, end}
      for another window;
    - `scenario`: Mesa's experiment scenario, which SolaraViz passes when it rebuilds a model;
      it carries no policy and is not used (the seed is `seed`).
    """

    def __init__(
        self,
        policy_scenario: Scenario | str | Path = "baseline",
        seed: int | None = 0,
        *,
        n_communities: int | None = None,
        persistence: str | None = None,
        programs: Sequence[str | Mapping[str, Any]] | None = None,
        levers: Mapping[str, Any] | None = None,
        scenario: Any = None,
        **parameters: Any,
    ) -> None:
        if scenario is not None and not isinstance(scenario, mesa.experimental.scenarios.Scenario):
            raise InputError(
                f"scenario = {scenario!r}: the policy scenario is the keyword policy_scenario= ('scenario' is Mesa's own)"
            )
        seed = int(np.random.SeedSequence().entropy % 2**32) if seed is None else check_seed(seed, "")
        overrides = {**(levers or {}), **parameters}
        overrides.update({k: v for k, v in (("n_communities", n_communities), ("persistence", persistence)) if v is not None})
        if not isinstance(policy_scenario, Scenario) or overrides or programs is not None:
            policy_scenario = load_scenario(policy_scenario, overrides)
            if programs is not None:
                policy_scenario = policy_scenario.with_programs(programs)
        super().__init__(rng=seed)
        self._lazy = LazyAgents(self)
        scenario = policy_scenario
        self.policy_scenario = scenario
        self.p = p = scenario.parameters.without_levers()
        self.seed = seed
        self.horizon = p.months
        self.streams = RandomStreams(seed)
        self.month = 0
        self._set_constants()
        self.communities = build_communities(p, self.rng, self.streams)
        self._grow_quota()
        self.policy_schedule = PolicySchedule(scenario.parameters, scenario.programs, self.communities, seed)
        self.policy = self.policy_schedule.at(0, programs_apply=False)  # June 2023 is before any program
        self.cost_lines = {prog.key: priced_lines(prog, scenario.parameters) for prog in scenario.programs}
        self.cadres = build_cadres(p, self.communities, self.rng)
        self.pending = np.zeros((self.communities.n, selection.MAX_DELAY + 1), dtype=np.int64)
        self.rows = self.cadres.rows()
        self.traditional_post_mix = initial_posts(self, self.rng)
        appraisal.score_newcomers(self, self.rows)
        self.flows = dict.fromkeys(FLOWS, 0)
        self.flows_by_community = {flow: np.zeros(self.communities.n, dtype=np.int64) for flow in FLOWS}
        self.reference = reference_values(self)
        self.performance: dict[str, float] = {}  # lagged community performance (`outcomes.adjust`)
        self.subgroup_state: dict = {}  # references, performance and exits seen per subgroup (`outcomes.measure_subgroups`)
        self.records: list[dict] = []
        self.datacollector = mesa.DataCollector(model_reporters=dict(model_reporters()))
        self._record()

    def _set_constants(self) -> None:
        """Arrays derived from parameters once, rather than every month."""
        p = self.p
        self.stage_focus = np.array(
            [np.zeros(5), p.stage_focus_foundation, p.stage_focus_advancement, p.stage_focus_refinement, np.zeros(5)]
        )
        self.post_domains = np.array([p[f"post_domains_{kind}"] for kind in POST_TYPES])
        self.stage_lengths = stage_lengths(p)
        self._dates = list(_month_ends(p.months))

    # --- calendar -----------------------------------------------------------------------
    @property
    def period(self) -> pd.Period:
        return START + self.month

    @property
    def year(self) -> int:
        return year_of(self.month)

    @property
    def calendar_month(self) -> int:
        return (FIRST_CALENDAR_MONTH - 1 + self.month) % 12 + 1

    # --- the monthly step -----------------------------------------------------------------
    def step(self) -> None:
        self.month += 1
        self._next_policy()
        self._grow_quota()
        self.flows = dict.fromkeys(FLOWS, 0)
        self._remove(careers.age(self), "exits_retirement")
        training.train(self)
        posting.post(self)
        posting.practise(self)
        if appraisal.is_quarter_end(self.calendar_month):
            self._remove(appraisal.appraise(self), "exits_appraisal")
        self._remove(careers.promote(self), "promotions")
        self._remove(careers.leave(self), "exits_voluntary")
        self.flows["recruits"] = selection.select(self)
        self._record()
        self.running = self.month < self.horizon

    def _next_policy(self) -> None:
        self.policy = self.policy_schedule.at(self.month)

    def cost_lines_of(self, block: int) -> dict:
        """Each program's priced cost lines (`sim.costs`) in `block` (0 in a single run)."""
        return self.cost_lines

    def _grow_quota(self) -> None:
        """Reserve quotas grow with `quota_growth_per_year` (demography, not policy)."""
        growth = (1 + self.p.quota_growth_per_year) ** (self.month / 12)
        self.quota = np.maximum(1, np.round(self.communities.base_quota * growth)).astype(np.int64)

    # --- cadres joining and leaving -----------------------------------------------------
    def add_cadres(self, rows: np.ndarray) -> None:
        """Count newly allocated rows as this month's recruits."""
        if self.month > 0:
            self.flows_by_community["recruits"] += np.bincount(self.cadres.home[rows], minlength=self.communities.n)
        self.rows = self.cadres.rows()

    def _remove(self, rows: np.ndarray, flow: str) -> None:
        self.flows[flow] += len(rows)
        if len(rows) == 0:
            return
        self.flows_by_community[flow] += np.bincount(self.cadres.home[rows], minlength=self.communities.n)
        self.cadres.release(rows)
        self.rows = self.cadres.rows()

    # --- Mesa agents, built on access (sim.agents) ---------------------------------------
    @property
    def agents(self):
        """All Mesa agents (an AgentSet): every community and every cadre in the reserve now."""
        if hasattr(self, "_lazy"):
            self._lazy.sync()
        return super().agents

    @property
    def agents_by_type(self):
        """{Cadre: AgentSet, Community: AgentSet}, built from the arrays on access."""
        if hasattr(self, "_lazy"):
            self._lazy.sync()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        if hasattr(self, "_lazy"):
            self._lazy.sync()
        return super().agent_types

    def cadre(self, row: int) -> Cadre:
        """The Mesa agent of the cadre in `row` of `model.cadres` (one of `model.rows`)."""
        return self._lazy.cadre(row)

    def community(self, index: int) -> Community:
        """The Mesa agent of community `index`."""
        return self._lazy.community(index)

    # --- outputs ------------------------------------------------------------------------
    def _record(self) -> None:
        if self.month >= len(self._dates):  # stepped by hand past the scenario's horizon
            self._dates.append((self.period).to_timestamp(how="end").normalize())
        row = {"month": self.month, "date": self._dates[self.month]}
        row.update(measure(self))
        row["programs_active"] = "+".join(p.id for p in self.policy.active_programs)
        self.records.append(row)
        self.datacollector.collect(self)

    def results(self) -> pd.DataFrame:
        """One row per month (month 0 = June 2023)."""
        return pd.DataFrame.from_records(self.records)
