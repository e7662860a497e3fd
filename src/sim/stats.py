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
- `win_probabilities`, `rank_conditions`: how often one condition beats another, replicate by
  replicate; `cost_effectiveness`: change per 10,000 yuan of program cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.regression.linear_model import RegressionResultsWrapper

from sim.batch import paired_differences
from sim.errors import InputError

# Direction of improvement for the headline outcomes (sim.compare.HEADLINE): lower is better
# for these, higher for every other outcome.
LOWER_IS_BETTER = frozenset({"idle_rate", "mismatch_rate", "digital_vacancy_rate", "turnover_rate", "governance_cost"})
ANNUALISED_MONTHLY = ("turnover_rate",)  # monthly figures: averaged over the last 12 months in `snapshot`
PAIR_KEYS = ("design_point", "replicate")


def direction(outcome: str) -> int:
    """+1 if higher values of `outcome` are better, -1 if lower are."""
    return -1 if outcome in LOWER_IS_BETTER else 1


def month_index(year: int, calendar_month: int = 12) -> int:
    """Model month of a calendar month: month 0 is June 2023, so December 2026 is 42."""
    return (year - 2023) * 12 + (calendar_month - 6)


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


def _wide(snap: pd.DataFrame, outcome: str, conditions: Sequence[str] | None) -> pd.DataFrame:
    """Replicates (and design points) as rows, conditions as columns; only complete pairs."""
    wide = snap.pivot_table(index=list(PAIR_KEYS), columns="scenario", values=outcome, aggfunc="first")
    if conditions is not None:
        missing = [c for c in conditions if c not in wide.columns]
        if missing:
            raise InputError(f"condition(s) {missing} not in the results; have {sorted(wide.columns)}")
        wide = wide[list(conditions)]
    return wide.dropna()


def win_probabilities(snap: pd.DataFrame, outcome: str, conditions: Sequence[str] | None = None) -> pd.DataFrame:
    """P(row condition beats column condition) on `outcome`: the share of paired replicates in which
    its value is better (lower or higher, per `direction`). Ties count one half; the diagonal is 0.5."""
    wide = _wide(snap, outcome, conditions) * direction(outcome)
    values = wide.to_numpy()
    a, b = values[:, :, None], values[:, None, :]
    share = ((a > b) + 0.5 * (a == b)).mean(axis=0)
    return pd.DataFrame(share, index=wide.columns.rename("condition"), columns=wide.columns.rename("versus"))


def rank_conditions(snap: pd.DataFrame, outcomes: Sequence[str], conditions: Sequence[str]) -> pd.DataFrame:
    """Rank conditions within each replicate on each outcome (1 = best; ties share the mean rank).

    Returns, per condition: the mean rank over replicates and outcomes, the mean rank per
    outcome (`rank_<outcome>`) and `p_first`, the share of replicates in which it has the best
    average rank over the outcomes (ties split).
    """
    per_outcome = {}
    for outcome in outcomes:
        wide = _wide(snap, outcome, conditions) * -direction(outcome)
        per_outcome[outcome] = wide.rank(axis=1, method="average")
    mean_rank = sum(per_outcome.values()) / len(per_outcome)
    best = mean_rank.eq(mean_rank.min(axis=1), axis=0)
    p_first = best.div(best.sum(axis=1), axis=0).mean()
    out = pd.DataFrame({"mean_rank": mean_rank.mean(), "p_first": p_first})
    for outcome, ranks in per_outcome.items():
        out[f"rank_{outcome}"] = ranks.mean()
    out.index.name = "condition"
    return out.sort_values("mean_rank")


def cumulative_cost(table: pd.DataFrame, month: int, column: str = "program_cost") -> pd.DataFrame:
    """Each run's cost summed over months 0..`month` (program_cost is yuan per month)."""
    upto = table[table["month"] <= month]
    keys = [k for k in ("scenario", *PAIR_KEYS) if k in table.columns]
    return upto.groupby(keys, as_index=False)[column].sum().rename(columns={column: "cost"})


def cost_effectiveness(effects: pd.DataFrame, costs: pd.Series | Mapping[str, float], per: float = 10_000) -> pd.DataFrame:
    """Change in each outcome per `per` yuan: paired difference (and its interval) divided by cost.

    `effects` has columns scenario, outcome, difference, ci_low, ci_high; `costs` gives each
    scenario's cost in yuan (mean over replicates). The cost is treated as fixed: it varies
    little between replicates, so the interval is the difference's interval rescaled.
    Conditions without cost (the baseline) are left out.
    """
    costs = pd.Series(costs, dtype=float)
    out = effects[["scenario", "outcome", "difference", "ci_low", "ci_high"]].copy()
    out["cost"] = out["scenario"].map(costs)
    out = out[out["cost"] > 0].copy()
    factor = per / out["cost"]
    for column in ("difference", "ci_low", "ci_high"):
        out[f"{column}_per_{per:g}"] = out[column] * factor
    out["improvement_per_" + f"{per:g}"] = out[f"difference_per_{per:g}"] * out["outcome"].map(direction)
    return out.reset_index(drop=True)
