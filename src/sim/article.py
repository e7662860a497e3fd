"""The article's figures against the calibrated model: one row per figure the model can show.

Three kinds of check, each on seeds the calibration did not use:

- *initial state* (F05, F07-F10, F21-F23, F25-F29): the June 2023 state, built to match;
  tolerance 5% relative (the model issue's standard);
- *fitted* (F19, F20, F01, F02, F41, F43, F44) and *held out* (F42, F45): the moments of
  `sim.calibration` (data/calibration.yaml) computed seed by seed; fitted figures must be
  within the calibration's tolerance (10% relative; for ratios relative to the effect),
  held-out errors are reported whatever they are.

For each figure: the article's value, the model's mean over seeds and a 90% interval
(5th-95th percentile over seeds), and whether the mean is within tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from sim.calibration import Config, Target, load_config, moments, simulate_runs
from sim.parameters import default_values
from sim.resources import data_file
from sim.scenario import SCENARIO_DIR
from sim.simulate import simulate

STATE_TOLERANCE = 0.05
# figure -> the month-0 measure that states it the way the article does
INITIAL_STATE = {
    "F05": "reserve_per_community",
    "F07": "share_masters_tier1",
    "F08": "share_masters_tier34",
    "F09": "share_under_35",
    "F10": "share_over_45",
    "F21": "digital_vacancy_rate",
    "F22": "admin_overstaffing",
    "F23": "degree_gap_street_county",
    "F25": "communities_training_base",
    "F26": "mentor_untrained_share",
    "F27": "communities_growth_file",
    "F28": "no_promotion_standard_share",
    "F29": "communities_honour_fund",
}
SEED_FIGURES = data_file("seed_figures.csv")


def article_values() -> dict[str, float]:
    """Each figure's value as the article states it (data/seed_figures.csv)."""
    table = pd.read_csv(SEED_FIGURES)
    return dict(zip(table["id"], table["value"], strict=True))


DEFAULT_SEEDS = tuple(range(100, 120))  # not the calibration's seeds (0-7)


def initial_state(seeds: Sequence[int], n_communities: int) -> pd.DataFrame:
    """One row per seed: the June 2023 values that the state figures describe."""
    rows = []
    for seed in seeds:
        start = simulate(SCENARIO_DIR / "baseline.yaml", seed=seed, overrides={"months": 1, "n_communities": n_communities}).iloc[
            0
        ]
        rows.append(
            {
                **{column: start[column] for column in INITIAL_STATE.values() if column in start},
                "degree_gap_street_county": start["share_degree_street"] - start["share_degree_county"],
                "mentor_untrained_share": 1 - start["mentors_trained"],
                "no_promotion_standard_share": 1 - start["communities_promotion_standard"],
            }
        )
    return pd.DataFrame(rows)


def moments_by_seed(config: Config, seeds: Sequence[int], workers: int = 2) -> pd.DataFrame:
    """The calibration moments of the model in force (calibrated values), one row per seed."""
    values = {name: default_values()[name] for name in [*config.dynamic_parameters, *config.index_parameters]}
    config = Config(**{**config.__dict__, "seeds": list(seeds)})
    with ProcessPoolExecutor(workers) as pool:
        runs = simulate_runs(config, values, pool)
    return pd.DataFrame([moments(config, {name: [tables[i]] for name, tables in runs.items()}) for i in range(len(seeds))])


def reproduction_table(seeds: Sequence[int] = DEFAULT_SEEDS, n_communities: int = 100, workers: int = 2) -> pd.DataFrame:
    """Every checkable figure: article value, model mean and 90% interval, kind, within tolerance."""
    config = load_config()
    state = initial_state(seeds, n_communities)
    article = article_values()
    rows = [
        _row(
            figure,
            "initial state",
            article[figure],
            state[column],
            STATE_TOLERANCE,
            lambda m, v=article[figure]: (m - v) / abs(v),
        )
        for figure, column in INITIAL_STATE.items()
    ]
    config = Config(**{**config.__dict__, "n_communities": n_communities})
    by_seed = moments_by_seed(config, seeds, workers)
    for figure, target in config.targets.items():
        kind = "fitted" if target.fit else "held out"
        rows.append(_row(figure, kind, target.value, by_seed[figure], config.tolerance, target.error, target))
    return pd.DataFrame(rows)


def _row(figure, kind, value, samples, tolerance, error, target: Target | None = None) -> dict:
    samples = np.asarray(samples, dtype=float)
    mean = float(samples.mean())
    relative_error = float(error(mean))
    return {
        "figure": figure,
        "kind": kind,
        "measure": target.column if target else INITIAL_STATE[figure],
        "moment": target.moment if target else "month 0",
        "article": value,
        "model_mean": mean,
        "model_p05": float(np.percentile(samples, 5)),
        "model_p95": float(np.percentile(samples, 95)),
        "relative_error": relative_error,
        "tolerance": tolerance,
        "within_tolerance": abs(relative_error) <= tolerance,
        "seeds": len(samples),
    }
