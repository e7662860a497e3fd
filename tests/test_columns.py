"""The output catalogue (data/outputs.yaml): complete, consistent with the docs and the levers."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, run
from sim.columns import FAMILIES, by_family, columns, decision_outcomes
from sim.parameters import catalogue


def test_docs_table_is_generated_from_the_catalogue():
    from sim.columns import markdown_table

    doc = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- columns: .*? -->\n(.*?)\n<!-- end of columns -->", doc, re.S)
    assert block, "docs/outputs.md lost its generated column table markers"
    assert block.group(1) == markdown_table(), "run tools/write_docs.py after editing data/outputs.yaml"


def test_catalogue_matches_the_monthly_table_in_order():
    table = run("baseline", 0, n_communities=20, months=2)
    assert list(table.columns) == list(columns()), "data/outputs.yaml and sim.outcomes disagree"


def test_no_output_column_shares_a_lever_name():
    levers = {name for name, spec in catalogue().items() if spec.lever}
    assert set(columns()) & levers == set()


def test_every_family_has_outcomes_with_direction_and_scale():
    families = by_family()
    assert list(families) == list(FAMILIES) and all(families.values())
    for name in decision_outcomes():
        c = columns()[name]
        assert c.better in ("higher", "lower") and c.score_scale > 0 and c.score_source, name
        assert re.match(r"F\d\d", c.score_source) or "assumption" in c.score_source, name


@pytest.mark.parametrize("name", ["idle_rate", "turnover_rate", "proposal_adoption_rate"])
def test_shares_show_in_percent_and_differences_in_points(name):
    c = columns()[name]
    assert c.scale == 100 and c.unit.startswith("%") and c.difference_unit.startswith("percentage points")
