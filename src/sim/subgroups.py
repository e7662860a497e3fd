"""Kinds of community the article contrasts, measured separately in the same runs.

The article stresses regional gaps: master's degrees in first-tier against third- and
fourth-tier cities (F07, F08), county against street communities (F23), budgets in central
and western regions (F30). The model already gives each community a city tier, a region and
a kind, so the decision outcomes can be measured for each kind on its own - from the same runs,
with no new randomness - when a scenario sets `subgroup_outputs: true`.

A subgroup's columns are the decision outcomes and the cost quantities, each named
`<column>__<subgroup>` (e.g. `dispute_resolution_efficiency__county`): idle and mismatch rates,
turnover and competence over the subgroup's cadres (by home community), vacancies and
capacities over its posts, proposal adoption over its schemes, and the governance indices
relative to the subgroup's own mid-2023 capacity, adjusting with the same lag. `split` turns
a table's subgroup columns back into plain ones, so `sim.decision` scores a subgroup as it
scores the whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.state import CommunityTable


@dataclass(frozen=True)
class Subgroup:
    name: str
    label: str
    label_zh: str
    attribute: str  # a CommunityTable array
    value: object  # the value that selects the subgroup's communities
    source: str  # the figure that makes the contrast matter

    def members(self, communities: CommunityTable) -> np.ndarray:
        return getattr(communities, self.attribute) == self.value


SUBGROUPS = {
    s.name: s
    for s in (
        Subgroup("tier1", "first-tier cities", "一线城市", "tier", 1, "F07"),
        Subgroup("tier2", "second-tier cities", "二线城市", "tier", 2, "F07, F08"),
        Subgroup("tier34", "third- and fourth-tier cities", "三四线城市", "tier", 3, "F08"),
        Subgroup("east", "eastern region", "东部地区", "east", True, "F30"),
        Subgroup("central_west", "central and western regions", "中西部地区", "east", False, "F30"),
        Subgroup("street", "street (urban) communities", "街道社区", "county", False, "F23"),
        Subgroup("county", "county communities", "县域社区", "county", True, "F23"),
    )
}
# Each partition of the communities, as the report compares them.
PARTITIONS = {"tier": ("tier1", "tier2", "tier34"), "region": ("east", "central_west"), "kind": ("street", "county")}
QUANTITIES = ("communities", "cadres", "cadres_central_west")  # what costs are paid per (sim.costs)
SEPARATOR = "__"


def column_name(column: str, subgroup: str) -> str:
    """'dispute_resolution_efficiency__county': a column measured over one subgroup."""
    return f"{column}{SEPARATOR}{subgroup}"


def measured() -> list[str]:
    """The columns measured per subgroup: the decision outcomes and the cost quantities."""
    from sim.columns import decision_outcomes

    return [*decision_outcomes(), *QUANTITIES]


def subgroup_columns() -> list[str]:
    """Every subgroup column, in the order a run records them."""
    return [column_name(c, g) for g in SUBGROUPS for c in measured()]


def split(table: pd.DataFrame, subgroup: str) -> pd.DataFrame:
    """The table with `subgroup`'s columns under the plain names (and the whole's measured columns dropped)."""
    renamed = {column_name(c, subgroup): c for c in measured() if column_name(c, subgroup) in table.columns}
    if not renamed:
        raise KeyError(f"the results have no columns for subgroup '{subgroup}'; run with subgroup_outputs: true")
    others = [c for c in table.columns if SEPARATOR not in c and c not in renamed.values()]
    return table[others + list(renamed)].rename(columns=renamed)
