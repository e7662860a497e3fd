"""The model core's structure: levers only through the policy, agents built on access, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from conftest import scenario_path
from sim import build_model, load_scenario, policy, simulate
from sim.agents import Cadre, Community

SRC = Path(__file__).resolve().parents[1] / "src" / "sim"


def small_model(n: int = 20, seed: int = 1):
    return build_model(load_scenario(scenario_path("all_programs"), {"n_communities": n}), seed)


@pytest.mark.parametrize("lever", ["funding_share", "mentor_trained_share", "rotation_period_months"])
def test_processes_cannot_read_a_numeric_lever_from_the_parameters(lever):
    model = small_model()
    with pytest.raises(AttributeError, match=rf"'{lever}' is a policy lever.*model\.policy\.levers\.{lever}"):
        getattr(model.p, lever)
    with pytest.raises(KeyError, match=r"model\.policy\.levers"):
        model.p[lever]
    assert lever not in model.p
    assert model.policy_scenario.parameters[lever] == getattr(model.policy.levers, lever)  # month 0: status quo


def test_switch_levers_point_to_their_per_community_values():
    model = small_model()
    with pytest.raises(AttributeError, match=r"model\.policy\.by_community\('capability_bank'\)"):
        _ = model.p.capability_bank
    assert model.p.community_budget == model.policy_scenario.parameters.community_budget  # not a lever


def test_mesa_agents_are_built_only_when_asked_for():
    model = small_model()
    model.run_for(6)
    assert len(mesa.Model.agents.fget(model)) == 0  # Mesa's own registry: nothing built by the run
    cadres = model.agents_by_type[Cadre]
    assert len(cadres) == len(model.rows)
    assert len(model.agents_by_type[Community]) == model.communities.n
    assert sorted(a.row for a in cadres) == model.rows.tolist()
    assert len(model.agents) == len(model.rows) + model.communities.n


def test_an_agent_stays_the_same_object_while_its_cadre_stays_and_goes_when_it_leaves():
    model = small_model()
    before = {a.key: a for a in model.agents_by_type[Cadre]}
    model.run_for(24)
    after = {a.key: a for a in model.agents_by_type[Cadre]}
    stayed = before.keys() & after.keys()
    left = before.keys() - after.keys()
    assert stayed and left
    assert all(before[k] is after[k] for k in stayed)
    gone = before[next(iter(left))]
    assert not gone.present
    with pytest.raises(LookupError, match="left the reserve"):
        _ = gone.age
    assert model.cadre(int(model.rows[0])).row == model.rows[0]
    assert model.community(3).index == 3
    np.testing.assert_allclose(sorted(a.age for a in after.values()), np.sort(model.cadres.age[model.rows]))


def test_adding_a_coverage_feature_changes_no_other_number(monkeypatch):
    """policy.FEATURES's promise: one more line there draws the new order from its own stream."""
    assert len(policy.DRAWN_AT_SET_UP) == 8 and set(policy.DRAWN_AT_SET_UP) <= set(policy.FEATURES)
    scenario = load_scenario(scenario_path("all_programs"), {"n_communities": 15, "months": 24})
    before = simulate(scenario, seed=4)
    monkeypatch.setitem(policy.FEATURES, "extra_scheme", "training_base_coverage")
    model = build_model(scenario, 4)
    coverage = model.policy.levers.training_base_coverage
    assert model.policy.features["extra_scheme"].sum() == round(coverage * 15)
    assert not np.array_equal(model.policy.features["extra_scheme"], model.policy.features["training_base"])
    model.run_for(24)
    pd.testing.assert_frame_equal(model.results(), before, check_exact=True)


def _imports(path: Path) -> set[str]:
    """sim modules imported at module level (not under TYPE_CHECKING, not inside functions)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sim"))
    return found


def test_no_import_cycle_between_modules():
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*trail, start]
                if nxt not in trail and len(trail) < len(graph):
                    stack.append((nxt, [*trail, nxt]))
        return None

    cycles = [c for name in graph if (c := cycle_from(name))]
    assert not cycles, " -> ".join(cycles[0])
