"""Value of information: what it is worth to resolve an uncertainty before choosing a program.

With options d (the programs) and uncertain inputs theta sampled jointly (the robustness
analysis's futures), the net benefit of d in a draw is NB_d = value x score_d - cost_d
(`net_benefit`; value: yuan per community for one point of overall score).

- **EVPI**, the expected value of perfect information: E[max_d NB_d] - max_d E[NB_d] - what a
  funder would pay, per community, to know every input before choosing.
- **EVPPI** of a group phi of inputs, partial perfect information: E_phi[max_d E(NB_d | phi)] -
  max_d E[NB_d]. E(NB_d | phi) is estimated by regressing each option's net benefit, relative
  to the first option's, on phi (Strong, Oakley & Brennan, *Med Decis Making* 2014, 34:311-326,
  the method of the R packages voi and BCEA): a generalised additive model with cubic
  B-splines for numeric inputs (statsmodels `GLMGam`, the penalty chosen by generalised
  cross-validation) and indicator columns for choices. EVPPI <= EVPI up to estimation error.

Checked against a linear-Gaussian decision model with a closed form and against nested Monte
Carlo on a small nonlinear case (tests/test_voi.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# Candidate penalty weights of the splines (one weight shared by every spline of a regression, the
# splines being on comparable bases), chosen by generalised cross-validation, as mgcv does by
# default: deterministic, and a few dozen fits where a k-fold grid over every spline's own weight
# would need 11^k x 5.
PENALTIES = np.logspace(-3, 7, 21)


def net_benefit(effects: np.ndarray, costs: np.ndarray, value: float) -> np.ndarray:
    """value x effect - cost, elementwise: arrays (draws, options) of scores and yuan."""
    return value * np.asarray(effects, dtype=float) - np.asarray(costs, dtype=float)


def evpi(nb: np.ndarray) -> float:
    """E[max_d NB_d] - max_d E[NB_d] over draws (rows) and options (columns)."""
    nb = np.asarray(nb, dtype=float)
    return float(nb.max(axis=1).mean() - nb.mean(axis=0).max())


def evppi(nb: np.ndarray, inputs: pd.DataFrame, spline_df: int = 6) -> float:
    """EVPPI of the inputs in `inputs` (one row per draw: numeric columns and categorical ones) by GAM regression.

    Numeric columns get a penalised cubic B-spline each (additive); object or categorical
    columns enter as indicators. Returns per-draw-unit value, like `evpi`.
    """
    fitted = conditional_means(nb, inputs, spline_df)
    return float(fitted.max(axis=1).mean() - fitted.mean(axis=0).max())


def conditional_means(nb: np.ndarray, inputs: pd.DataFrame, spline_df: int = 6) -> np.ndarray:
    """E(NB_d | inputs) for every draw and option, from regressions of each option's incremental net benefit."""
    nb = np.asarray(nb, dtype=float)
    fitted = np.zeros_like(nb)
    for d in range(1, nb.shape[1]):
        y = nb[:, d] - nb[:, 0]
        candidates, traces = _candidate_fits(y[:, None], inputs, spline_df)
        fitted[:, d] = _by_gcv(y, candidates[..., 0], traces)
    return fitted + nb[:, 0].mean()  # adding a constant changes no choice: the reference option's mean


def _by_gcv(y: np.ndarray, candidates: np.ndarray, traces: np.ndarray) -> np.ndarray:
    """The candidate fit (rows of `candidates`) with the smallest generalised cross-validation score n RSS / (n - tr H)^2."""
    n = len(y)
    rss = ((y[None, :] - candidates) ** 2).sum(axis=1)
    return candidates[int(np.argmin(n * rss / (n - traces) ** 2))]


def _candidate_fits(ys: np.ndarray, inputs: pd.DataFrame, spline_df: int) -> tuple[np.ndarray, np.ndarray]:
    """Fits of each column of `ys` (draws, m) on `inputs` at every candidate penalty: (penalties, draws, m), and each trace.

    At a fixed penalty the fit is a linear smoother of y, so the fit of a combination of the
    columns is the same combination of their fits (what `evppi_curve` relies on).
    """
    import warnings

    import statsmodels.api as sm

    numeric = [c for c in inputs.columns if pd.api.types.is_numeric_dtype(inputs[c]) and inputs[c].nunique() > spline_df]
    if len(inputs) < 10 * spline_df * max(1, len(numeric)):  # too few draws for splines: a straight line each
        numeric, linear = [], list(numeric)
    else:
        linear = []
    categorical = [c for c in inputs.columns if c not in numeric and c not in linear]
    exog = pd.DataFrame({"const": np.ones(len(inputs))}, index=inputs.index)
    for c in linear:
        exog[c] = inputs[c].to_numpy(dtype=float)
    for c in categorical:
        exog = exog.join(pd.get_dummies(inputs[c].astype(str), prefix=c, drop_first=True, dtype=float))
    if not numeric:
        fits = [sm.OLS(y, exog.to_numpy()).fit() for y in ys.T]
        return np.stack([f.fittedvalues for f in fits], axis=-1)[None], np.array([float(fits[0].df_model + 1)])
    from statsmodels.gam.api import BSplines, GLMGam

    splines = BSplines(inputs[numeric].to_numpy(dtype=float), df=[spline_df] * len(numeric), degree=[3] * len(numeric))
    fitted, traces = [], []
    with warnings.catch_warnings():  # a weakly penalised candidate may be near rank-deficient; GCV passes it over
        warnings.simplefilter("ignore")
        for a in PENALTIES:
            fits = [GLMGam(y, exog=exog.to_numpy(), smoother=splines, alpha=[a] * len(numeric)).fit() for y in ys.T]
            fitted.append(np.stack([f.fittedvalues for f in fits], axis=-1))
            traces.append(fits[0].hat_matrix_trace)
    return np.stack(fitted), np.array(traces)


def evppi_curve(effects: np.ndarray, costs: np.ndarray, inputs: pd.DataFrame | None, values: Sequence[float],
                spline_df: int = 6) -> np.ndarray:  # fmt: skip
    """EVPPI of `inputs` (None: EVPI) at each value of a score point, from one set of fits of effects and of costs.

    Net benefit is linear in the value and, at a fixed penalty, so is its fit: E(NB | phi) =
    value x E(effect | phi) - E(cost | phi). So the curve fits each option's effects and costs
    once per candidate penalty and, at each value, takes the penalty GCV chooses for that
    value's net benefit: the same as regressing each value's net benefit afresh.
    """
    if inputs is None:
        return np.array([evpi(net_benefit(effects, costs, v)) for v in values])
    effects, costs = np.asarray(effects, dtype=float), np.asarray(costs, dtype=float)
    fits = []
    for d in range(1, effects.shape[1]):
        pair = np.column_stack([effects[:, d] - effects[:, 0], costs[:, d] - costs[:, 0]])
        fits.append((pair, *_candidate_fits(pair, inputs, spline_df)))
    out = []
    for value in values:
        fitted = np.zeros_like(effects)
        for d, (pair, candidates, traces) in enumerate(fits, start=1):
            fitted[:, d] = _by_gcv(value * pair[:, 0] - pair[:, 1], value * candidates[..., 0] - candidates[..., 1], traces)
        out.append(float(fitted.max(axis=1).mean() - fitted.mean(axis=0).max()))
    return np.array(out)


def evppi_table(effects: np.ndarray, costs: np.ndarray, groups: dict[str, pd.DataFrame], values: Sequence[float]) -> pd.DataFrame:
    """EVPI ('all inputs') and each group's EVPPI at each value of a score point, long format (group, value, evppi)."""
    rows = [pd.DataFrame({"group": "all inputs", "value": values, "evppi": evppi_curve(effects, costs, None, values)})]
    for name, inputs in groups.items():
        rows.append(pd.DataFrame({"group": name, "value": values, "evppi": evppi_curve(effects, costs, inputs, values)}))
    return pd.concat(rows, ignore_index=True)


__all__ = ["conditional_means", "evpi", "evppi", "evppi_curve", "evppi_table", "net_benefit"]
