"""The first screen's words are never stronger than its numbers (sim.report.answer)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from sim.decision import GROUP
from sim.lang import set_language
from sim.report import answer


def analysis(ci_low: float) -> SimpleNamespace:
    """One regime where P3 leads P1 by 0.01 with the given lower 95% bound, best in 16 of 30 replicates."""
    leads = pd.DataFrame([{GROUP: 0, "best": "p3", "runner_up": "p1", "lead": 0.01, "ci_low": ci_low, "ci_high": 0.02}])
    return SimpleNamespace(
        leads=leads, code={"p1": "P1", "p3": "P3"}, p_best=pd.DataFrame([{GROUP: 0, "p3": 16 / 30, "p1": 14 / 30}]),
        point=lambda regime: 0, replicates=30, settings=SimpleNamespace(mode="equal_exposure"),
        costs=pd.DataFrame({GROUP: 0, "scenario": ["p1", "p3"], "expected": [411_561.2, 202_116.9]}),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    yield
    set_language("en")


def test_a_lead_whose_interval_reaches_zero_is_called_a_tie():
    said = answer._at_settings(analysis(ci_low=-0.01), "sustain")
    assert "P3 and P1 are not distinguishable" in said and "+0.01 [-0.01, +0.02]" in said and "16 of 30" in said
    assert "P3 costs 202,117 yuan per community, P1 411,561" in said
    set_language("zh")
    assert "P3 与 P1 难分高下" in answer._at_settings(analysis(ci_low=-0.01), "sustain")


def test_a_lead_clear_of_zero_is_stated_as_a_lead():
    said = answer._at_settings(analysis(ci_low=0.004), "sustain")
    assert "P3 leads P1 by +0.01 [+0.00, +0.02]" in said and "not distinguishable" not in said


def test_years_with_the_same_leader_are_listed_as_one_span():
    years = [2024, 2025, 2026, 2028, 2029, 2030]
    leaders = ["P1", "P1", "P3", "P3", "P1", "P1"]
    assert answer.year_spans(years, leaders) == [(2024, 2025, "P1"), (2026, 2026, "P3"), (2028, 2028, "P3"), (2029, 2030, "P1")]
