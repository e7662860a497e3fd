"""Statistics for comparing policy conditions run on common random numbers (CRN).

Every helper takes the tidy tables of `sim.batch` (one row per run and month: scenario,
design_point, replicate, seed, month, outcomes). Replicate r of every condition runs from
the same seed, so comparisons pair on replicate:

- `snapshot`: each run's outcomes at one month, with `turnover_rate` (a monthly figure,
  annualised) averaged over the 12 months ending there, so it is an annual rate.
- `paired_effects`: condition minus baseline per replicate, mean and 95% t-interval
  (`sim.batch.paired_differences`), with a verdict in the outcome's good direction.
- `factorial_fit`/`factorial_effects`/`anova`: statsmodels OLS of an outcome on program
  indicators with all interactions, replicate as a blocking factor (the CRN pairing).
- `response_surface`/`fit_statistics`/`marginal_effects`: a quadratic surface in two levers
  and the lever's marginal effect at a point, with a delta-method interval (`t_test`).

Which program to fund (scores, P(best), costs, value for money) is `sim.decision`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.regression.linear_model import RegressionResultsWrapper

from sim.batch import paired_differences
from sim.columns import column
from sim.errors import InputError
from sim.policy import month_index  # noqa: F401 - re-exported for the notebooks

ANNUALISED_MONTHLY = ("turnover_rate",)  # monthly figures: averaged over the last 12 months in `snapshot`
PAIR_KEYS = ("design_point", "replicate")


def direction(outcome: str) -> int:
    """+1 if higher values of `outcome` are better, -1 if lower are (data/outputs.yaml; +1 for columns without one)."""
    return column(outcome).direction or 1


def trailing_year(table: pd.DataFrame, columns: Iterable[str] = ANNUALISED_MONTHLY) -> pd.DataFrame:
    """A copy with each of `columns` replaced, per run, by its mean over the 12 months ending at each month.

    For monthly figures such as `turnover_rate` (a month's exits, annualised), this is the
    year's rate. Month 0 (the June 2023 state, before any month has run) has no flows: it is
    left out of the averages and set to NaN; months 1-11 average the months there are.
    """
    out = table.sort_values(["run_id", "month"], kind="stable").copy()
    chosen = [c for c in columns if c in out.columns]
    if chosen:
        out[chosen] = out[chosen].astype(float).mask(out["month"] == 0)
        out[chosen] = out.groupby("run_id")[chosen].transform(lambda s: s.rolling(12, min_periods=1).mean())
    return out.loc[table.index]


def snapshot(
    table: pd.DataFrame, month: int, outcomes: Sequence[str], average_over_year: Iterable[str] = ANNUALISED_MONTHLY
) -> pd.DataFrame:
    """One row per run at `month` with the chosen outcomes.

    Outcomes in `average_over_year` (by default `turnover_rate`) are averaged over the 12
    months ending at `month` (`trailing_year`), so the table must hold those months.
    """
    ids = ("run_id", "scenario", "design_point", "replicate", "seed")
    keys = [c for c in table.columns if c in ids or c.startswith("param_")]
    window = table[(table["month"] > month - 12) & (table["month"] <= month)]
    if not (window["month"] == month).any():
        raise InputError(f"month {month} is not in the results (months {table['month'].min()}-{table['month'].max()})")
    averaged = [o for o in outcomes if o in set(average_over_year)]
    if averaged and (window[window["month"] > 0].groupby("run_id")["month"].nunique() < min(12, month)).any():
        raise InputError(f"averaging {averaged} over the year to month {month} needs all 12 months in the results")
    window = trailing_year(window[[*keys, "month", *outcomes]], averaged)
    return window[window["month"] == month].reset_index(drop=True)


def paired_effects(snap: pd.DataFrame, outcomes: Sequence[str], baseline: str = "baseline") -> pd.DataFrame:
    """Each condition minus the baseline, paired on replicate: mean difference and 95% t-interval.

    Adds `verdict`: 'better' or 'worse' when the interval excludes zero (in the outcome's good
    direction), 'unclear' otherwise.
    """
    out = paired_differences(snap, baseline=baseline, by="scenario", outcomes=list(outcomes))
    sign = out["outcome"].map(direction)
    gain_low = np.minimum(out["ci_low"] * sign, out["ci_high"] * sign)  # the interval as improvement (better > 0)
    gain_high = np.maximum(out["ci_low"] * sign, out["ci_high"] * sign)
    out["verdict"] = np.select([gain_low > 0, gain_high < 0], ["better", "worse"], "unclear")
    return out


def add_indicators(table: pd.DataFrame, programs: Mapping[str, Iterable[str]], factors: Sequence[str]) -> pd.DataFrame:
    """0/1 columns, one per factor (program ID), from each scenario's programs."""
    out = table.copy()
    for factor in factors:
        out[factor] = out["scenario"].map(lambda s, f=factor: int(f in set(programs[s])))
    return out


def factorial_formula(outcome: str, factors: Sequence[str], block: str | None = "replicate") -> str:
    """`outcome ~ P1 * P2 * P3 + C(replicate)`: main effects, every interaction, and a block term."""
    formula = f"{outcome} ~ {' * '.join(factors)}"
    return formula + (f" + C({block})" if block else "")


def factorial_fit(
    data: pd.DataFrame, outcome: str, factors: Sequence[str], block: str | None = "replicate"
) -> RegressionResultsWrapper:
    """OLS of `outcome` on 0/1 factor indicators with all interactions (treatment coding).

    With treatment coding a main effect is the factor alone against none, and a two-way
    interaction is the synergy: effect of both minus the sum of the two alone. The block term
    (replicate) removes what replicates share under common random numbers.
    """
    return smf.ols(factorial_formula(outcome, factors, block), data=data).fit()


def factorial_effects(fit: RegressionResultsWrapper, factors: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """The program terms of a factorial fit: estimate, standard error, interval and p-value.

    `kind` is 'alone' for a main effect and 'synergy' for an interaction (positive synergy means
    together they do more than the sum of their parts, in the outcome's units).
    """
    ci = fit.conf_int(alpha=1 - level)
    rows = []
    for term in fit.params.index:
        parts = term.split(":")
        if not all(p in factors for p in parts):
            continue
        rows.append(
            {
                "term": "+".join(parts),
                "kind": "alone" if len(parts) == 1 else "synergy",
                "estimate": fit.params[term],
                "se": fit.bse[term],
                "ci_low": ci.loc[term, 0],
                "ci_high": ci.loc[term, 1],
                "p_value": fit.pvalues[term],
            }
        )
    return pd.DataFrame(rows)


def anova(fit: RegressionResultsWrapper) -> pd.DataFrame:
    """The ANOVA table (type II sums of squares; equal to type I in a balanced factorial)."""
    return sm.stats.anova_lm(fit, typ=2)


def response_formula(outcome: str, x: str, y: str, block: str | None = "replicate") -> str:
    """Full quadratic surface in two levers with their interaction, plus an optional block term."""
    formula = f"{outcome} ~ {x} + {y} + I({x} ** 2) + I({y} ** 2) + {x}:{y}"
    return formula + (f" + C({block})" if block else "")


def response_surface(
    data: pd.DataFrame, outcome: str, x: str, y: str, block: str | None = "replicate"
) -> RegressionResultsWrapper:
    """OLS response surface: quadratic in levers `x` and `y`, with their interaction."""
    return smf.ols(response_formula(outcome, x, y, block), data=data).fit()


def fit_statistics(fit: RegressionResultsWrapper) -> dict[str, float]:
    """R², adjusted R², F statistic and its p-value, AIC, BIC and the number of observations."""
    return {
        "r2": fit.rsquared,
        "adj_r2": fit.rsquared_adj,
        "f": fit.fvalue,
        "f_pvalue": fit.f_pvalue,
        "aic": fit.aic,
        "bic": fit.bic,
        "n": int(fit.nobs),
    }


def marginal_effects(
    fit: RegressionResultsWrapper, x: str, y: str, at: Mapping[str, float], steps: Mapping[str, float] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:  # fmt: skip
    """Marginal effect of each lever at the point `at`, for a change of `steps[lever]` (default 1).

    For the quadratic surface, d outcome / dx = b_x + 2 b_xx x + b_xy y: a linear combination
    of coefficients, so statsmodels' `t_test` gives its standard error (the delta method,
    exact here) and interval.
    """
    steps = steps or {}
    names = list(fit.params.index)
    rows = []
    for lever, other in ((x, y), (y, x)):
        weights = {lever: 1.0, f"I({lever} ** 2)": 2 * at[lever], f"{x}:{y}": at[other]}
        contrast = np.zeros(len(names))
        for term, weight in weights.items():
            contrast[names.index(term)] = weight
        step = steps.get(lever, 1.0)
        test = fit.t_test(contrast * step)
        low, high = np.asarray(test.conf_int(alpha=1 - level))[0]
        rows.append(
            {
                "lever": lever,
                "at": at[lever],
                "step": step,
                "effect": float(np.asarray(test.effect).ravel()[0]),
                "se": float(np.asarray(test.sd).ravel()[0]),
                "ci_low": low,
                "ci_high": high,
                "p_value": float(np.asarray(test.pvalue).ravel()[0]),
            }
        )
    return pd.DataFrame(rows)
