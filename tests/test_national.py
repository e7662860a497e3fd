"""National projection from a stratified sample agrees with a full run within its sampling error."""

import numpy as np

from sim.national import full_totals, national_projection

SCENARIO = "data/scenarios/baseline.yaml"


def test_weighted_sample_matches_the_full_population_within_sampling_error():
    population, sample = 2000, 200
    full = full_totals(SCENARIO, seed=0, population=population)
    estimate = national_projection(SCENARIO, seed=1, sample=sample, population=population).set_index("outcome")
    z = (full[estimate.index] - estimate["estimate"]) / estimate["se"]
    assert (estimate["se"] > 0).all()
    assert np.all(np.abs(z) < 4), z  # |z| >= 4 has probability below 1e-4 per total if the error is right


def test_the_estimate_scales_with_the_population():
    small = national_projection(SCENARIO, seed=1, sample=100, population=1000).set_index("outcome")
    large = national_projection(SCENARIO, seed=1, sample=100, population=10_000).set_index("outcome")
    np.testing.assert_allclose(large["estimate"], 10 * small["estimate"])
    assert (large["se"] > small["se"]).all()
