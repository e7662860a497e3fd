"""National totals from a stratified sample of communities, with their sampling error.

A run of n communities allocates city tier and region to whole pools and street/county
status to communities in the population's proportions (`sim.initial`), so it is a
proportionally stratified sample of a population of N communities with those shares.
Strata are tier x region x street/county. Each stratum h holds n_h sampled communities and
stands for N_h = N x n_h / n communities; the estimated total of an outcome is
sum_h N_h x mean_h and its standard error is the usual stratified one,
sqrt(sum_h N_h^2 (1 - n_h/N_h) s_h^2 / n_h) (Cochran 1977, ch. 5). A stratum with one
sampled community borrows the pooled within-stratum variance.

The error covers community-to-community variation, including each community's own
randomness; it does not cover uncertainty in the parameters themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.checks import shown, whole_number
from sim.errors import InputError, RunError
from sim.model import CadreModel
from sim.parameters import spec
from sim.scenario import Scenario, load_scenario
from sim.simulate import build_model
from sim.state import DIGITAL, IDLE, filled_posts

NATIONAL_COMMUNITIES = 110_000  # order of magnitude of China's urban communities (issue brief)
TOTALS = {
    "cadres": "reserve cadres at the end",
    "idle": "idle cadres at the end",
    "digital_posts_filled": "digital-specialist posts filled at the end",
    "recruits": "recruits over the run",
    "promotions": "promotions over the run",
    "exits": "exits over the run (voluntary, appraisal, retirement)",
}


def community_totals(model: CadreModel) -> pd.DataFrame:
    """One row per community: its stratum and the outcomes that add up to national totals."""
    c, t, rows = model.communities, model.cadres, model.rows
    n = c.n
    home = t.home[rows]
    flows = model.flows_by_community
    return pd.DataFrame(
        {
            "stratum": c.tier.astype(np.int64) * 4 + c.east * 2 + c.county,
            "cadres": np.bincount(home, minlength=n),
            "idle": np.bincount(home[t.post[rows] == IDLE], minlength=n),
            "digital_posts_filled": filled_posts(t, rows, n)[:, DIGITAL],
            "recruits": flows["recruits"],
            "promotions": flows["promotions"],
            "exits": flows["exits_voluntary"] + flows["exits_appraisal"] + flows["exits_retirement"],
        }
    )


def stratified_totals(per_community: pd.DataFrame, population: int) -> pd.DataFrame:
    """Estimated population totals with standard errors and 95% intervals."""
    n = len(per_community)
    if population < n:
        raise InputError(f"population = {population} is smaller than the sample of {n} communities")
    strata = per_community.groupby("stratum")
    n_h = strata.size()
    big_n_h = population * n_h / n
    rows = []
    for outcome, label in TOTALS.items():
        mean_h = strata[outcome].mean()
        var_h = strata[outcome].var(ddof=1)
        pooled = ((n_h - 1) * var_h).sum() / max(1, (n_h - 1).sum())
        var_h = var_h.where(n_h > 1, pooled).fillna(pooled)
        estimate = float((big_n_h * mean_h).sum())
        se = float(np.sqrt((big_n_h**2 * (1 - n_h / big_n_h) * var_h / n_h).sum()))
        rows.append(
            {
                "outcome": outcome,
                "description": label,
                "estimate": estimate,
                "se": se,
                "ci_low": estimate - 1.96 * se,
                "ci_high": estimate + 1.96 * se,
            }
        )
    return pd.DataFrame(rows)


def national_projection(
    scenario: Scenario | str, seed: int = 0, sample: int = 2000, population: int = NATIONAL_COMMUNITIES
) -> pd.DataFrame:
    """Run a sample of `sample` communities and scale it to `population` communities."""
    low, high = spec("n_communities").allowed
    whole_number(sample, "", "sample (--sample)", int(low), int(high))
    whole_number(population, "", "population (--population)", 1)
    scenario = load_scenario(scenario, {"n_communities": sample})
    model = build_model(scenario, seed)
    model.run_for(scenario.parameters.months)
    totals = stratified_totals(community_totals(model), population)
    numbers = totals[["estimate", "se"]].to_numpy(dtype=float)
    if not np.isfinite(numbers).all():
        bad = ", ".join(totals.loc[~np.isfinite(numbers).all(axis=1), "outcome"])
        raise RunError(
            f"scenario {scenario.name}, seed {seed}: national totals {bad} are not finite; likely inputs: "
            f"{', '.join(f'{k}={shown(v)}' for k, v in scenario.parameters.changed().items()) or 'all defaults'}"
        )
    return totals


def full_totals(scenario: Scenario | str, seed: int, population: int) -> pd.Series:
    """Totals from a run of the whole population, for checking the sample's estimates."""
    scenario = load_scenario(scenario, {"n_communities": population})
    model = build_model(scenario, seed)
    model.run_for(scenario.parameters.months)
    return community_totals(model).drop(columns="stratum").sum()
