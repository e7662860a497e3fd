"""Several runs side by side, as independent blocks of one state.

A batch is made of many small runs, and a small run is dominated by fixed costs per month
(a process's numpy calls cost about the same for 1,000 cadres as for 30,000). Running B
runs as B blocks of one model pays those costs once per month instead of B times. The
runs of a block model may differ in **seed and policy** — the scenario's status-quo lever
values, its programs and their windows, the persistence regime — but share every other
parameter (the mechanism: `mechanism_key`), so the conditions of a comparison (status
quo, each program, each regime) and the replicates of each run together:

- each block's June 2023 is built by a `CadreModel` of its own scenario and seed, then the
  tables are stacked (`CadreTable.stack`, `CommunityTable.stack`): communities are
  renumbered, pools kept apart, and each block's cadre rows keep the order they have in a
  run of their own;
- each block keeps its own policy schedule; the month's policies are stacked into one
  (`policy.stack_policies`): per-community values side by side, each numeric lever one value
  per block;
- random numbers are counter-based and keyed on the cadre; a key's top bits name its block
  and `BlockStreams` draws with that block's seed, so every draw is the one the block's own
  run makes;
- every process works per cadre, per community or per pool, so blocks never meet;
- outcomes are counted for all blocks at once, and means and pooled sums are taken on each
  block's slice (`outcomes.measure_blocks`), adding the same numbers in the same order as a
  run of its own.

The result for each run is identical, bit for bit, to `simulate(scenario, seed)`
(tests/test_replicates.py checks every scenario and persistence regime, and mixed blocks).
"""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np
import pandas as pd

from sim.agents import LazyAgents
from sim.model import FLOWS, CadreModel, _month_ends
from sim.outcomes import measure_blocks
from sim.policy import stack_policies
from sim.rng import BlockStreams
from sim.scenario import Scenario
from sim.state import BLOCK_SHIFT, CadreTable, CommunityTable

MAX_BLOCKS = 1 << (63 - BLOCK_SHIFT)  # keys are signed 64-bit: 7 bits of block number
# Parameters a block may set for itself: they act only through its policy schedule (`sim.policy`)
# or its horizon. Every lever does too (`Parameters.without_levers` leaves them out).
POLICY_PARAMETERS = ("persistence", "investment_half_life_years", "months")


def mechanism_key(scenario: Scenario) -> tuple:
    """What runs sharing a block model must have in common: every parameter that is not policy."""
    p = scenario.parameters.without_levers()
    return tuple((name, repr(p[name])) for name in p if name not in POLICY_PARAMETERS)


class BlockModel(CadreModel):
    """Runs of `(scenario, seed)` pairs, one block each; `results()` gives one table per run.

    The scenarios must share their mechanism (`mechanism_key`); they may differ in levers,
    programs, windows, persistence and horizon (the model steps to the longest; each table
    ends at its own horizon).
    """

    def __init__(self, runs: Sequence[tuple[Scenario, int]]) -> None:
        if not 1 <= len(runs) <= MAX_BLOCKS:
            raise ValueError(f"{len(runs)} runs: a BlockModel holds 1 to {MAX_BLOCKS} blocks (a key's top bits)")
        keys = {mechanism_key(scenario) for scenario, _ in runs}
        if len(keys) > 1:
            raise ValueError("the runs of a BlockModel must share every parameter that is not policy (sim.replicates)")
        parts = [CadreModel(scenario, int(seed)) for scenario, seed in runs]  # each run's own June 2023
        seeds = [int(seed) for _, seed in runs]
        mesa.Model.__init__(self, rng=seeds[0])
        self._lazy = LazyAgents(self)
        self.parts = parts
        self.policy_scenario = runs[0][0]
        self.p = parts[0].p
        self.seeds = seeds
        self.seed = seeds[0]
        self.horizons = [scenario.parameters.months for scenario, _ in runs]
        self.horizon = max(self.horizons)
        self.streams = BlockStreams(seeds)
        self.month = 0
        self._set_constants()
        self._dates = list(_month_ends(self.horizon))
        self.communities = CommunityTable.stack([m.communities for m in parts])
        self.cadres = _stack_cadres([m.cadres for m in parts], self.communities.starts)
        self._grow_quota()
        self.policy = stack_policies([m.policy for m in parts])
        self.pending = np.concatenate([m.pending for m in parts])
        self.rows = self.cadres.rows()
        self.traditional_post_mix = np.array([m.traditional_post_mix for m in parts])
        self.flows = dict.fromkeys(FLOWS, 0)
        self.flows_by_community = {flow: np.zeros(self.communities.n, dtype=np.int64) for flow in FLOWS}
        self._counted = {flow: np.zeros(len(parts), dtype=np.int64) for flow in FLOWS}
        self.references = [m.reference for m in parts]
        self.performances = [m.performance for m in parts]
        self.subgroup_state = _stack_subgroup_states([m.subgroup_state for m in parts])
        self.block_records = [m.records for m in parts]  # month 0, as each part recorded it

    def cost_lines_of(self, block: int) -> dict:
        return self.parts[block].cost_lines

    def _next_policy(self) -> None:
        policies = [m.policy_schedule.at(self.month) for m in self.parts]
        self.policy = stack_policies(policies)

    def _record(self) -> None:
        """One row per block still inside its horizon (`outcomes.measure_blocks`)."""
        date = self._dates[self.month] if self.month < len(self._dates) else self.period.to_timestamp(how="end").normalize()
        rows = measure_blocks(self, self._block_flows(), self.references, self.performances)
        for b, (records, row) in enumerate(zip(self.block_records, rows, strict=True)):
            if self.month <= self.horizons[b]:
                active = "+".join(p.id for p in self.policy.programs_active_in(b))
                records.append({"month": self.month, "date": date, **row, "programs_active": active})

    def _block_flows(self) -> list[dict[str, int]]:
        """This month's flows in each block, from the per-community running totals."""
        starts = self.communities.starts
        month = {}
        for flow in FLOWS:
            total = np.add.reduceat(self.flows_by_community[flow], starts)
            month[flow], self._counted[flow] = total - self._counted[flow], total
        return [{flow: int(month[flow][b]) for flow in FLOWS} for b in range(len(self.seeds))]

    def results(self) -> list[pd.DataFrame]:  # type: ignore[override]
        """One table per run, in the order given, each identical to that run's own."""
        return [pd.DataFrame.from_records(records) for records in self.block_records]


class ReplicateModel(BlockModel):
    """The replicates of `scenario` from `seeds`, one block each."""

    def __init__(self, scenario: Scenario, seeds: Sequence[int]) -> None:
        super().__init__([(scenario, seed) for seed in seeds])


def _stack_subgroup_states(states: list[dict]) -> dict:
    """Each part's subgroup references and lagged performance under its block number (`outcomes.measure_subgroups`)."""
    if not states[0]:
        return {}
    stacked: dict = {"exits_seen": np.concatenate([s["exits_seen"] for s in states])}
    for name in ("reference", "performance"):  # arrays of (subgroups, blocks): one column per part
        stacked[name] = {k: np.concatenate([s[name][k] for s in states], axis=1) for k in states[0][name]}
    return stacked


def _stack_cadres(tables: list[CadreTable], community_starts: np.ndarray) -> CadreTable:
    """Stack the blocks' cadre tables; homes and posts move to the stacked community numbers, keys get their block."""
    stacked = CadreTable.stack(tables)
    for b, start in enumerate(community_starts.tolist()):
        rows = slice(b * stacked.stride, (b + 1) * stacked.stride)
        stacked.home[rows] += start
        stacked.serving[rows] += start
        stacked.key[rows] += b << BLOCK_SHIFT
    return stacked


def simulate_blocks(runs: Sequence[tuple[Scenario, int]]) -> list[pd.DataFrame]:
    """`[simulate(scenario, seed) for scenario, seed in runs]`, computed as blocks of one model (identical tables)."""
    if len(runs) == 1:
        scenario, seed = runs[0]
        model = CadreModel(scenario, int(seed))
        model.run_for(scenario.parameters.months)
        return [model.results()]
    model = BlockModel(runs)
    model.run_for(model.horizon)
    return model.results()


def simulate_replicates(scenario: Scenario, seeds: Sequence[int]) -> list[pd.DataFrame]:
    """`[simulate(scenario, seed) for seed in seeds]`, computed as blocks of one model (identical tables)."""
    return simulate_blocks([(scenario, seed) for seed in seeds])
