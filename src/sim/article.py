"""The article's figures against the calibrated model: one row per figure the model can show.

Every check runs on seeds the calibration did not use:

- *initial state* (F05, F07-F10, F21-F23, F25-F29): the June 2023 state, built to match;
  tolerance 5% relative;
- the calibration's figures (data/calibration.yaml), each in its own contrast, with its
  role: *fitted* (in-sample error), *matched* by construction (one scale parameter of its
  own is solved for it: its error says nothing and is not counted as a fit) or *held out*
  (out-of-sample error). Tolerance 10% relative (for ratios and differences, relative to
  the effect).

For each calibration figure three distributions of the model's value:

- the point fit in force (data/calibrated.yaml) over seeds: its mean and 5th-95th percentiles;
- the *prior predictive*: fitted parameters drawn from their priors (uniform over their
  plausible ranges), one seed per draw;
- the *posterior predictive*: fitted parameters drawn from data/posterior.parquet, one
  seed per draw.

`anchor_sensitivity` shows how the anchored levels (turnover, promotions) move F43 and how
fast a program's gain washes out after its window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.calibration import (
    Config,
    Target,
    _pool,
    anchor_value,
    load_config,
    moments,
    per_seed,
    run_lengths,
    simulate_points,
    simulate_runs,
)
from sim.parameters import catalogue, default_values
from sim.posterior import load_posterior
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
DEFAULT_SEEDS = tuple(range(100, 120))  # not the calibration's seeds (0-7) nor its pilot seeds
PREDICTIVE_SEED = 2_000  # predictive draw i runs on seed PREDICTIVE_SEED + i
KINDS = {"fitted": "fitted", "matched": "matched by construction", "held_out": "held out"}


def article_values() -> dict[str, float]:
    """Each figure's value as the article states it (data/seed_figures.csv)."""
    table = pd.read_csv(SEED_FIGURES)
    return dict(zip(table["id"], table["value"], strict=True))


def initial_state(seeds: Sequence[int], n_communities: int) -> pd.DataFrame:
    """One row per seed: the June 2023 values that the state figures describe."""
    rows = []
    for seed in seeds:
        start = simulate(SCENARIO_DIR / "baseline.yaml", seed=seed, overrides={"months": 1, "n_communities": n_communities})
        start = start.iloc[0]
        rows.append(
            {
                **{column: start[column] for column in INITIAL_STATE.values() if column in start},
                "degree_gap_street_county": start["share_degree_street"] - start["share_degree_county"],
                "mentor_untrained_share": 1 - start["mentors_trained"],
                "no_promotion_standard_share": 1 - start["communities_promotion_standard"],
            }
        )
    return pd.DataFrame(rows)


def point_values(config: Config) -> dict[str, float]:
    """The calibrated parameters in force (data/calibrated.yaml)."""
    return {name: default_values()[name] for name in config.parameters}


def moments_by_seed(config: Config, seeds: Sequence[int], workers: int = 2) -> pd.DataFrame:
    """The calibration moments of the model in force (the point fit), one row per seed; anchors too."""
    with _pool(workers) as pool:
        runs = simulate_runs(config, point_values(config), pool, seeds, run_lengths(config, anchors=True))
    table = per_seed(config, runs)
    for a in config.anchors.values():
        table[f"anchor:{a.name}"] = [anchor_value(a, {a.scenario: [t]}) for t in runs[a.scenario]]
    return table


def prior_draws(config: Config, n: int, seed: int = 7) -> pd.DataFrame:
    """n draws of the fitted parameters from their priors (uniform over the plausible ranges)."""
    rng = np.random.default_rng(seed)
    specs = catalogue()
    return pd.DataFrame({name: rng.uniform(*specs[name].range, n) for name in config.parameters})


def posterior_sample(config: Config, n: int, seed: int = 11) -> pd.DataFrame | None:
    """n draws from data/posterior.parquet (without replacement when it has enough), or None if there is none."""
    from sim import posterior

    if not posterior.POSTERIOR_FILE.is_file():
        return None
    draws = load_posterior()
    missing = [name for name in config.parameters if name not in draws]
    if missing:
        return None
    rows = np.random.default_rng(seed).choice(len(draws), size=n, replace=n > len(draws))
    return draws.iloc[rows][config.parameters].reset_index(drop=True)


def predictive(config: Config, draws: pd.DataFrame, workers: int = 2) -> pd.DataFrame:
    """Every figure's moment for each draw (one row per draw), draw i on seed PREDICTIVE_SEED + i."""
    base = point_values(config)
    points = [({**base, **row}, PREDICTIVE_SEED + i) for i, row in enumerate(draws.to_dict(orient="records"))]
    with _pool(workers) as pool:
        runs = simulate_points(config, points, pool)
    return pd.DataFrame([moments(config, r) for r in runs])


def reproduction(
    seeds: Sequence[int] = DEFAULT_SEEDS, n_communities: int = 100, draws: int = 40, workers: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every checkable figure (article value, point fit's mean and 90% interval over seeds, prior and
    posterior predictive, role) and every anchored level against its external range."""
    config = load_config()
    config.n_communities = n_communities
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
    by_seed = moments_by_seed(config, seeds, workers)
    prior = predictive(config, prior_draws(config, draws), workers) if draws else None
    sample = posterior_sample(config, draws) if draws else None
    post = predictive(config, sample, workers) if sample is not None else None
    for figure, target in config.targets.items():
        row = _row(figure, KINDS[target.role], target.value, by_seed[figure], config.tolerance, target.error, target)
        for label, frame in (("prior", prior), ("posterior", post)):
            values = frame[figure] if frame is not None else pd.Series([np.nan])
            row[f"{label}_p05"], row[f"{label}_p50"], row[f"{label}_p95"] = (float(values.quantile(q)) for q in (0.05, 0.5, 0.95))
            row[f"{label}_covers"] = bool(row[f"{label}_p05"] <= target.value <= row[f"{label}_p95"])
        rows.append(row)
    anchors = []
    for a in config.anchors.values():
        values = by_seed[f"anchor:{a.name}"]
        mean = float(values.mean())
        anchors.append(
            {"anchor": a.name, "description": a.description, "parameter": a.parameter, "value": default_values()[a.parameter],
             "model_mean": mean, "model_p05": float(values.quantile(0.05)), "model_p95": float(values.quantile(0.95)),
             "low": a.low, "high": a.high, "within": a.low <= mean <= a.high}
        )  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(anchors)


def reproduction_table(
    seeds: Sequence[int] = DEFAULT_SEEDS, n_communities: int = 100, draws: int = 40, workers: int = 2
) -> pd.DataFrame:
    """The figures of `reproduction` alone."""
    return reproduction(seeds, n_communities, draws, workers)[0]


SENSITIVITY_LEVELS = {"exit_rate_base": (0.25,)}  # beyond the anchor: about where F43 alone would put turnover


def anchor_sensitivity(seeds: Sequence[int] = (100, 101), n_communities: int = 100, workers: int = 2) -> pd.DataFrame:
    """How each anchored level moves F43 and the wash-out of P1's gain (revert: everything back after 2026).

    For each anchored parameter at the low end, middle and high end of its range (and, for
    the exit rate, above the anchor), with everything else at the point values: the status
    quo's level of the anchored quantity, F43 both ways (the capability bank alone against the
    status quo, months 25-36: the turnover ratio the calibration reads, and the difference in
    percentage points the article's words give), and P1's effect on mean competence over the
    last year of its window (2026, months 31-42) and over 2030 (months 79-90) under
    persistence `revert`, with the share of the gain still there in 2030.
    """
    config = load_config()
    config.n_communities = n_communities
    base = point_values(config)
    specs = catalogue()
    scenarios = {"baseline": SCENARIO_DIR / "baseline.yaml", "talent_foundation": SCENARIO_DIR / "talent_foundation.yaml",
                 "capability_bank": SCENARIO_DIR / "calibration" / "capability_bank.yaml"}  # fmt: skip
    points, keys = [], []
    for a in config.anchors.values():
        low, high = specs[a.parameter].range
        for level in (low, (low + high) / 2, high, *SENSITIVITY_LEVELS.get(a.parameter, ())):
            for seed in seeds:
                points.append(({**base, a.parameter: level, "persistence": "revert"}, seed))
                keys.append((a.name, level, seed))
    lengths = {"baseline": 90, "talent_foundation": 90, "capability_bank": 36}
    config.scenarios = {**config.scenarios, **scenarios}
    with _pool(workers) as pool:
        results = simulate_points(config, points, pool, lengths)
    runs = {key: {name: tables[0] for name, tables in result.items()} for key, result in zip(keys, results, strict=True)}
    rows = []
    for a in config.anchors.values():
        for level in sorted({k[1] for k in keys if k[0] == a.name}):
            per = []
            for seed in seeds:
                run = runs[(a.name, level, seed)]
                base_run, p1, bank = run["baseline"], run["talent_foundation"], run["capability_bank"]
                effect = p1["mean_competence"] - base_run["mean_competence"]
                per.append(
                    {
                        "anchored": anchor_value(a, {a.scenario: [base_run]}),
                        "F43_ratio": _third_year(bank, "turnover_rate") / _third_year(base_run, "turnover_rate"),
                        "F43_points": _third_year(bank, "turnover_rate") - _third_year(base_run, "turnover_rate"),
                        "p1_gain_2026": float(effect[(base_run.month >= 31) & (base_run.month <= 42)].mean()),
                        "p1_gain_2030": float(effect[(base_run.month >= 79) & (base_run.month <= 90)].mean()),
                    }
                )
            mean = pd.DataFrame(per).mean()
            rows.append(
                {"anchor": a.name, "parameter": a.parameter, "level": level, "anchored_value": mean["anchored"],
                 "anchor_low": a.low, "anchor_high": a.high, "F43_ratio": mean["F43_ratio"], "F43_points": mean["F43_points"],
                 "p1_gain_2026": mean["p1_gain_2026"], "p1_gain_2030": mean["p1_gain_2030"],
                 "p1_retained_2030": mean["p1_gain_2030"] / mean["p1_gain_2026"] if mean["p1_gain_2026"] else np.nan}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _third_year(table: pd.DataFrame, column: str) -> float:
    return float(table.loc[(table.month >= 25) & (table.month <= 36), column].mean())


def _row(figure, kind, value, samples, tolerance, error, target: Target | None = None) -> dict:
    samples = np.asarray(samples, dtype=float)
    mean = float(samples.mean())
    relative_error = float(error(mean))
    return {
        "figure": figure,
        "kind": kind,
        "measure": target.column if target else INITIAL_STATE[figure],
        "moment": target.moment if target else "month 0",
        "contrast": f"{target.scenario} vs {target.reference}"
        if target and target.reference
        else (target.scenario if target else "June 2023"),
        "months": f"{target.months[0]}-{target.months[1]}" if target else "0",
        "article": value,
        "model_mean": mean,
        "model_p05": float(np.percentile(samples, 5)),
        "model_p95": float(np.percentile(samples, 95)),
        "relative_error": relative_error,
        "tolerance": tolerance,
        "within_tolerance": abs(relative_error) <= tolerance,
        "seeds": len(samples),
    }


def literal_f43(seeds: Sequence[int] = DEFAULT_SEEDS, n_communities: int = 100, workers: int = 2) -> dict[str, float]:
    """F43 read both ways at the point values: the turnover ratio (the calibration's reading) and the fall in percentage
    points (the article's words), and that fall with the bank's hazard ratio at the bottom of its plausible range -
    the largest the prior allows."""
    config = load_config()
    config.n_communities = n_communities
    lengths = {"status_quo": 36, "capability_bank": 36}
    base = point_values(config)
    low = catalogue()["capability_bank_exit_multiplier"].range[0]
    out = {}
    with _pool(workers) as pool:
        for key, values in (("", base), ("_at_bound", {**base, "capability_bank_exit_multiplier": low})):
            runs = simulate_runs(config, values, pool, seeds, lengths)
            bank = np.mean([_third_year(t, "turnover_rate") for t in runs["capability_bank"]])
            status_quo = np.mean([_third_year(t, "turnover_rate") for t in runs["status_quo"]])
            out[f"points{key}"] = float(bank - status_quo)
            out[f"ratio{key}"] = float(bank / status_quo)
    out["status_quo_turnover"] = float(status_quo)
    return out


def calibration_markdown() -> str:
    """The calibration's results as Markdown tables, from data/calibrated.yaml and data/posterior.yaml (docs/ODD.md 8.5-8.6).

    tools/write_docs.py writes it into docs/ODD.md; tests/test_calibration.py fails when they disagree.
    """
    import yaml

    from sim.parameters import CALIBRATED
    from sim.posterior import POSTERIOR_FILE

    record = yaml.safe_load(CALIBRATED.read_text(encoding="utf-8"))
    lines = [f"Point values (`data/calibrated.yaml`, method: {record['method'].split(':')[0]}):", "",
             "| parameter | value | plausible range | at a bound |", "|---|---|---|---|"]  # fmt: skip
    for name, value in record["values"].items():
        low, high = record["ranges"][name]
        lines.append(f"| `{name}` | {value:.4g} | {low:g}–{high:g} | {'yes' if value in (low, high) else 'no'} |")
    lines += ["", "Every figure at the point values on the fit's seeds (`targets`):", "",
              "| figure | role | contrast | target | model | error |", "|---|---|---|---|---|---|"]  # fmt: skip
    for t in record["targets"]:
        contrast = f"{t['scenario']} vs {t['reference']}" if t["reference"] else t["scenario"]
        error = f"{t['relative_error']:+.1%}"
        lines.append(f"| {t['figure']} | {t['role']} | {contrast} | {t['target']:g} | {t['simulated']:.3f} | {error} |")
    comparison = record.get("variant_check", {}).get("comparison", [])
    if comparison:
        figures = [k for k in comparison[0] if k.startswith("F")]
        seeds = record["variant_check"]["check_seeds"]
        lines += ["", f"Each capacity structure and reading, its index parameters solved on the same figures, on fresh seeds "
                  f"{seeds[0]}–{seeds[-1]} (F45 held out):", "",
                  "| structure / reading | in sample within 10% | " + " | ".join(figures) + " | at a bound |",
                  "|---|---|" + "---|" * len(figures) + "---|"]  # fmt: skip
        for row in comparison:
            errors = " | ".join(f"{row[f]:+.0%}" for f in figures)
            reproduced = f"{row['in_sample_reproduced']} of {row['in_sample']}"
            lines.append(f"| {row['variant']} | {reproduced} | {errors} | {row['at_bound'] or '–'} |")
    summary_file = POSTERIOR_FILE.with_suffix(".yaml")
    if summary_file.is_file():
        summary = yaml.safe_load(summary_file.read_text(encoding="utf-8"))
        lines += ["", f"The posterior (`data/posterior.yaml`): {summary['generations']} populations of {summary['population']}, "
                  f"{summary['simulations']:,} particle simulations, {summary['wall_seconds'] / 60:.1f} minutes on "
                  f"{summary['sessions'][-1]['cores']} cores; stopped by {summary['stopped_by']}; effective sample size of the "
                  f"last population {summary['effective_sample_size']:.0f}; noise floor {summary['noise_floor']:.2f}.", "",
                  "| population | threshold | × noise floor | acceptance | largest median shift (SD) |",
                  "|---" * 5 + "|"]  # fmt: skip
        for g in summary["schedule"]:
            shift = g.get("largest_median_shift_sd")
            lines.append(f"| {g['generation']} | {g['epsilon']:.3g} | {g['epsilon_over_noise_floor']:.2f} | "
                         f"{g['acceptance']:.0%} | {'–' if shift is None else f'{shift:.2f}'} |")  # fmt: skip
        lines += ["", "| parameter | block | median | 90% interval | prior | interval / prior |", "|---" * 6 + "|"]
        for name, p in summary["parameters"].items():
            lines.append(f"| `{name}` | {p['block']} | {p['median']:.4g} | {p['p05']:.4g}–{p['p95']:.4g} | "
                         f"{p['prior'][0]:g}–{p['prior'][1]:g} | {p['share_of_prior_90']:.0%} |")  # fmt: skip
    return "\n".join(lines)
