"""Several replicates of one scenario run side by side, as independent blocks of one state.

A batch is made of many small runs, and a small run is dominated by fixed costs per month
(a process's numpy calls cost about the same for 1,000 cadres as for 30,000). Running R
replicates (the same scenario and parameters, R seeds) as R blocks of one model pays those
costs once per month instead of R times:

- each block's June 2023 is built by a `CadreModel` of its own seed, then the tables are
  stacked (`CadreTable.stack`, `CommunityTable.stack`): communities are renumbered, pools
  kept apart, and each block's cadre rows keep the order they have in a run of their own;
- random numbers are counter-based and keyed on the cadre; a key's top bits name its block
  and `BlockStreams` draws with that block's seed, so every draw is the one the block's own
  run makes;
- every process works per cadre, per community or per pool, so blocks never meet;
- outcomes are counted for all blocks at once, and means and pooled sums are taken on each
  block's slice (`outcomes.measure_blocks`), adding the same numbers in the same order as a
  run of its own.

The result for each seed is identical, bit for bit, to `simulate(scenario, seed)`
(tests/test_replicates.py checks every scenario and persistence regime).
"""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np
import pandas as pd

from sim.agents import LazyAgents
from sim.model import FLOWS, CadreModel
from sim.outcomes import measure_blocks
from sim.policy import PolicySchedule
from sim.rng import BlockStreams
from sim.scenario import Scenario
from sim.state import BLOCK_SHIFT, CadreTable, CommunityTable

MAX_BLOCKS = 1 << (63 - BLOCK_SHIFT)  # keys are signed 64-bit: 7 bits of block number


class ReplicateModel(CadreModel):
    """The replicates of `scenario` from `seeds`, one block each; `results()` gives one table per seed."""

    def __init__(self, scenario: Scenario, seeds: Sequence[int]) -> None:
        if not 1 <= len(seeds) <= MAX_BLOCKS:
            raise ValueError(f"{len(seeds)} seeds: a ReplicateModel holds 1 to {MAX_BLOCKS} blocks (a key's top bits)")
        parts = [CadreModel(scenario, seed) for seed in seeds]  # each seed's own June 2023
        mesa.Model.__init__(self, rng=int(seeds[0]))
        self._lazy = LazyAgents(self)
        self.policy_scenario = scenario
        self.p = parts[0].p
        self.seeds = [int(s) for s in seeds]
        self.seed = self.seeds[0]
        self.streams = BlockStreams(self.seeds)
        self.month = 0
        self._set_constants()
        self.communities = CommunityTable.stack([m.communities for m in parts])
        self.cadres = _stack_cadres([m.cadres for m in parts], self.communities.starts)
        self._grow_quota()
        self.policy_schedule = PolicySchedule(scenario.parameters, scenario.programs, self.communities, self.seeds)
        self.policy = self.policy_schedule.at(0, programs_apply=False)
        self.cost_lines = parts[0].cost_lines
        self.pending = np.concatenate([m.pending for m in parts])
        self.rows = self.cadres.rows()
        self.traditional_post_mix = np.array([m.traditional_post_mix for m in parts])
        self.flows = dict.fromkeys(FLOWS, 0)
        self.flows_by_community = {flow: np.zeros(self.communities.n, dtype=np.int64) for flow in FLOWS}
        self._counted = {flow: np.zeros(len(parts), dtype=np.int64) for flow in FLOWS}
        self.references = [m.reference for m in parts]
        self.block_records = [m.records for m in parts]  # month 0, as each part recorded it

    def _record(self) -> None:
        """One row per block (`outcomes.measure_blocks`)."""
        date = self._dates[self.month] if self.month < len(self._dates) else self.period.to_timestamp(how="end").normalize()
        active = "+".join(p.id for p in self.policy.active_programs)
        rows = measure_blocks(self, self._block_flows(), self.references)
        for records, row in zip(self.block_records, rows, strict=True):
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
        """One table per seed, in the order of `seeds`, each identical to that seed's own run."""
        return [pd.DataFrame.from_records(records) for records in self.block_records]


def _stack_cadres(tables: list[CadreTable], community_starts: np.ndarray) -> CadreTable:
    """Stack the blocks' cadre tables; homes and posts move to the stacked community numbers, keys get their block."""
    stacked = CadreTable.stack(tables)
    for b, start in enumerate(community_starts.tolist()):
        rows = slice(b * stacked.stride, (b + 1) * stacked.stride)
        stacked.home[rows] += start
        stacked.serving[rows] += start
        stacked.key[rows] += b << BLOCK_SHIFT
    return stacked


def simulate_replicates(scenario: Scenario, seeds: Sequence[int]) -> list[pd.DataFrame]:
    """`[simulate(scenario, seed) for seed in seeds]`, computed as blocks of one model (identical tables)."""
    if len(seeds) == 1:
        model = CadreModel(scenario, int(seeds[0]))
        model.run_for(scenario.parameters.months)
        return [model.results()]
    model = ReplicateModel(scenario, seeds)
    model.run_for(scenario.parameters.months)
    return model.results()
