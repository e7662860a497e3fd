"""Value of information (sim.voi): EVPI and EVPPI against a closed form and against nested Monte Carlo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import voi


def expected_positive_part(mean: float, sd: float) -> float:
    """E[max(0, X)] for X ~ N(mean, sd^2): mean Phi(mean/sd) + sd phi(mean/sd)."""
    z = mean / sd
    return mean * stats.norm.cdf(z) + sd * stats.norm.pdf(z)


@pytest.fixture(scope="module")
def linear_gaussian():
    """Two options; option 2's incremental net benefit is a + b phi + c psi with phi, psi independent N(0, 1)."""
    rng = np.random.default_rng(11)
    n, a, b, c = 4000, 0.3, 1.0, 0.6
    phi, psi = rng.standard_normal(n), rng.standard_normal(n)
    nb = np.column_stack([np.zeros(n), a + b * phi + c * psi])
    return nb, phi, psi, (a, b, c)


def test_evpi_matches_the_closed_form(linear_gaussian):
    nb, _, _, (a, b, c) = linear_gaussian
    exact = expected_positive_part(a, np.hypot(b, c)) - max(0.0, a)
    assert voi.evpi(nb) == pytest.approx(exact, rel=0.08)


def test_evppi_by_regression_matches_the_closed_form(linear_gaussian):
    nb, phi, psi, (a, b, c) = linear_gaussian
    for inputs, sd in ((phi, b), (psi, c)):
        exact = expected_positive_part(a, sd) - max(0.0, a)
        estimate = voi.evppi(nb, pd.DataFrame({"x": inputs}))
        assert estimate == pytest.approx(exact, rel=0.1), (estimate, exact)
    assert voi.evppi(nb, pd.DataFrame({"phi": phi})) <= voi.evpi(nb) + 1e-9


def test_evppi_of_a_choice_is_the_value_of_knowing_which_level_holds():
    """A categorical input: with perfect knowledge of the level, choose per level; the regression is the level's mean."""
    rng = np.random.default_rng(3)
    level = rng.choice(["low", "high"], 6000)
    gain = np.where(level == "high", 2.0, -1.0) + rng.standard_normal(6000)  # option 2's incremental net benefit
    nb = np.column_stack([np.zeros(6000), gain])
    exact = 0.5 * 2.0 - max(0.0, 0.5 * 2.0 - 0.5 * 1.0)  # choose option 2 only when high: E = 1.0; without: max(0, 0.5)
    assert voi.evppi(nb, pd.DataFrame({"level": level})) == pytest.approx(exact, abs=0.05)


def test_evppi_by_regression_agrees_with_nested_monte_carlo():
    """Nonlinear in phi: NB_2 - NB_1 = phi^2 - 1 + psi. Nested MC: an inner average over psi for each outer phi."""
    rng = np.random.default_rng(5)
    outer, inner = 1500, 400
    phi = rng.standard_normal(outer)
    inner_means = (phi[:, None] ** 2 - 1 + rng.standard_normal((outer, inner))).mean(axis=1)
    nested = np.maximum(0.0, inner_means).mean() - max(0.0, inner_means.mean())
    psi = rng.standard_normal(outer)
    nb = np.column_stack([np.zeros(outer), phi**2 - 1 + psi])
    estimate = voi.evppi(nb, pd.DataFrame({"phi": phi}))
    assert estimate == pytest.approx(nested, rel=0.12), (estimate, nested)


def test_evppi_curve_is_linear_regression_of_effects_and_costs():
    """At each value the curve equals the EVPPI of that value's net benefit computed directly."""
    rng = np.random.default_rng(8)
    n = 800
    x = rng.uniform(0, 1, n)
    effects = np.column_stack([np.zeros(n), 0.5 + x + 0.3 * rng.standard_normal(n), 0.8 - x + 0.3 * rng.standard_normal(n)])
    costs = np.column_stack([np.zeros(n), np.full(n, 0.6), np.full(n, 0.7)]) + 0.1 * rng.standard_normal((n, 3))
    values = [0.5, 1.0, 2.0]
    curve = voi.evppi_curve(effects, costs, pd.DataFrame({"x": x}), values)
    direct = [voi.evppi(voi.net_benefit(effects, costs, v), pd.DataFrame({"x": x})) for v in values]
    assert curve == pytest.approx(direct, rel=0.05, abs=1e-3)
    assert (curve >= -1e-6).all()


def test_what_to_find_out_first_speaks_of_the_default_regime():
    from sim.lang import set_language
    from sim.report.answer import _voi_text

    set_language("en")
    cases = [("decay", "persistence", 900.0), ("decay", "all inputs", 1000.0),
             ("sustain", "training_evidence", 300.0), ("sustain", "all inputs", 400.0)]  # fmt: skip
    rows = [{"group": g, "value": 1e6, "evppi": e, "regime": r, "draws": 10, "evppi_national": e * 110_000,
             "at_stated_value": True} for r, g, e in cases]  # fmt: skip
    [text, _] = _voi_text({"voi": pd.DataFrame(rows)})
    assert "(sustain;" in text and "the reading of F01/F02" in text and "of 400 for knowing everything" in text
