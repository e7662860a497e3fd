"""Verification against Markov manpower theory (Bartholomew, Forbes & McClean 1991).

In the Markov verification mode (data/scenarios/markov_verification.yaml) every monthly
transition probability is fixed, so stage stocks n(t) (foundation, advancement,
refinement, mature) must follow, in expectation,

    n(t+1) = n(t) P + R e1        (recruits join at the end of a month, after its transitions)

with P = A diag(1 - w): A advances a stage with probability q, w is the probability of
leaving from the stage reached (exit h everywhere, promotion g from refinement on).
Cadres move independently, so each count is a sum of independent Bernoulli variables and
its variance is known exactly; tolerances are 4 standard deviations of the seed average.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import build_model, load_scenario
from sim.processes import monthly_probability
from sim.scenario import SCENARIO_DIR

SCENARIO = SCENARIO_DIR / "markov_verification.yaml"
STAGES = 4


def transition_matrix(p) -> np.ndarray:
    q = p.training_rate_base
    h = monthly_probability(p.exit_rate_base)
    g = monthly_probability(p.promotion_rate)
    advance = np.diag([1 - q, 1 - q, 1 - q, 1.0]) + np.diag([q, q, q], k=1)
    leave = np.array([h, h, 1 - (1 - g) * (1 - h), 1 - (1 - g) * (1 - h)])
    return advance @ np.diag(1 - leave)


def stage_counts(model) -> np.ndarray:
    return np.bincount(model.cadres.stage[model.rows], minlength=STAGES + 1)[1:].astype(float)


def run_counts(scenario, seed: int, months: int) -> np.ndarray:
    model = build_model(scenario, seed)
    counts = [stage_counts(model)]
    for _ in range(months):
        model.step()
        counts.append(stage_counts(model))
    return np.array(counts)


def expected_mean_and_variance(n0: np.ndarray, P: np.ndarray, recruits: int, months: int):
    """E[n(t) | n(0)] and Var[n(t) | n(0)] for independent cadres, t = 0..months.

    A cadre in stage i at month 0 is in stage j at month t with probability (P^t)_ij; a
    recruit who joined a months ago (a = 0 for this month's) with probability (e1 P^a)_j.
    """
    e1 = np.eye(STAGES)[0]
    powers = [np.eye(STAGES)]
    for _ in range(months):
        powers.append(powers[-1] @ P)
    means, variances = [], []
    for t in range(months + 1):
        pi = powers[t]
        mean = n0 @ pi
        var = (n0[:, None] * pi * (1 - pi)).sum(axis=0)
        for age in range(t):
            cohort = e1 @ powers[age]
            mean = mean + recruits * cohort
            var = var + recruits * cohort * (1 - cohort)
        means.append(mean)
        variances.append(var)
    return np.array(means), np.array(variances)


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO, {"n_communities": 20, "months": 24})


def test_markov_mode_matches_stock_recursion(scenario):
    p = scenario.parameters
    P = transition_matrix(p)
    seeds = range(12)
    months = 24
    diffs, variance = [], []
    for seed in seeds:
        counts = run_counts(scenario, seed, months)
        mean, var = expected_mean_and_variance(counts[0], P, p.constant_recruits_per_month, months)
        diffs.append(counts - mean)
        variance.append(var)
    mean_diff = np.mean(diffs, axis=0)
    sd_of_mean = np.sqrt(np.sum(variance, axis=0)) / len(seeds)
    assert np.all(np.abs(mean_diff[1:]) <= 4 * sd_of_mean[1:] + 1e-9), (mean_diff, sd_of_mean)


def test_without_recruits_the_stock_decays_as_n0_P_to_the_t():
    scenario = load_scenario(SCENARIO, {"n_communities": 20, "months": 24, "recruitment": False})
    P = transition_matrix(scenario.parameters)
    diffs, variance = [], []
    for seed in range(12):
        counts = run_counts(scenario, seed, 24)
        mean, var = expected_mean_and_variance(counts[0], P, 0, 24)
        diffs.append(counts - mean)
        variance.append(var)
    mean_diff = np.mean(diffs, axis=0)
    sd_of_mean = np.sqrt(np.sum(variance, axis=0)) / 12
    assert np.all(np.abs(mean_diff[1:]) <= 4 * sd_of_mean[1:] + 1e-9)
    assert mean[-1].sum() < 0.7 * mean[0].sum()  # the check has power: the stock really shrinks


def test_steady_state_under_constant_recruitment():
    """After long enough, E[n] = R e1 (I - P)^-1; each count is a sum of independent Bernoullis, so Var <= mean."""
    scenario = load_scenario(SCENARIO, {"n_communities": 10, "months": 300})
    p = scenario.parameters
    P = transition_matrix(p)
    steady = p.constant_recruits_per_month * np.eye(STAGES)[0] @ np.linalg.inv(np.eye(STAGES) - P)
    seeds = range(10)
    runs = [run_counts(scenario, seed, 300) for seed in seeds]
    final = np.array([counts[-1] for counts in runs])
    # the initial stock's expected survivors are negligible after 300 months: check, then compare
    initial_left = max(counts[0].sum() for counts in runs) * np.linalg.matrix_power(P, 300).sum(axis=1).max()
    assert initial_left < 0.1
    tolerance = 4 * np.sqrt(steady / len(seeds)) + 1
    assert np.all(np.abs(final.mean(axis=0) - steady) <= tolerance), (final.mean(axis=0), steady)


def track_recruits(scenario, seed: int, months: int):
    """Months each recruit is seen in each stage (end-of-month observations) and whether it left."""
    model = build_model(scenario, seed)
    first_month = {}
    seen: dict[int, np.ndarray] = {}
    gone = set()
    alive_before = set()
    for month in range(1, months + 1):
        model.step()
        keys = model.cadres.key[model.rows]
        stages = model.cadres.stage[model.rows]
        entry = model.cadres.entry_month[model.rows]
        alive_now = set()
        for key, stage, joined in zip(keys.tolist(), stages.tolist(), entry.tolist(), strict=True):
            if joined <= 0:
                continue  # only recruits of the run, whose whole career is observed
            first_month.setdefault(key, month)
            seen.setdefault(key, np.zeros(STAGES))[stage - 1] += 1
            alive_now.add(key)
        gone |= alive_before - alive_now
        alive_before = alive_now
    return seen, gone, first_month


def test_mean_time_in_each_stage_is_the_fundamental_matrix():
    """Completed careers: expected end-of-month sightings in stage j = (e1 (I - P)^-1)_j (the fundamental matrix)."""
    scenario = load_scenario(SCENARIO, {"n_communities": 10, "months": 240, "constant_recruits_per_month": 10})
    p = scenario.parameters
    P = transition_matrix(p)
    fundamental = np.linalg.inv(np.eye(STAGES) - P)
    expected = np.eye(STAGES)[0] @ fundamental
    careers = []
    for seed in range(3):
        seen, gone, first = track_recruits(scenario, seed, 240)
        # careers that both started and ended inside the window, from cohorts early enough
        # that nearly every career is complete (survival to 180 months is negligible)
        careers += [seen[k] for k in gone if first[k] <= 60]
    careers = np.array(careers)
    sd = careers.std(axis=0, ddof=1) / np.sqrt(len(careers))
    assert len(careers) > 1000
    assert np.all(np.abs(careers.mean(axis=0) - expected) <= 4 * sd + 0.05), (careers.mean(axis=0), expected)
    # one stay in the mature stage (absorbing until leaving) lasts 1 / (1 - p44) months on average
    reached_mature = careers[careers[:, 3] > 0, 3]
    stay = 1 / (1 - P[3, 3])
    assert abs(reached_mature.mean() - stay) <= 4 * reached_mature.std(ddof=1) / np.sqrt(len(reached_mature))


def test_littles_law_holds_in_the_steady_state():
    """Mean stock in a stage = entry rate into it x mean time spent in it."""
    scenario = load_scenario(SCENARIO, {"n_communities": 10, "months": 240, "constant_recruits_per_month": 10})
    P = transition_matrix(scenario.parameters)
    seen, gone, first = track_recruits(scenario, 0, 240)
    model_counts = run_counts(scenario, 0, 240)
    window = slice(150, 241)
    stock = model_counts[window].mean(axis=0)
    careers = np.array([seen[k] for k in gone if first[k] <= 60])
    entry_rate = 10 * (careers > 0).mean(axis=0)  # recruits a month x share who ever reach the stage
    time_in_stage = careers.sum(axis=0) / np.maximum(1, (careers > 0).sum(axis=0))
    assert np.allclose(stock, entry_rate * time_in_stage, rtol=0.1, atol=2)
    assert np.allclose(entry_rate * time_in_stage, 10 * np.eye(STAGES)[0] @ np.linalg.inv(np.eye(STAGES) - P), rtol=0.1)
