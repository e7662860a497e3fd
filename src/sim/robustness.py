"""How sure is the answer: every assumption's uncertainty carried into "which program to fund".

`run(config)` runs four batch experiments (resumable stores under results/) and `analyse`
turns them into tidy tables; `sim robustness` and notebooks/robustness.ipynb call both.

- **Propagation.** A Latin hypercube over every assumption parameter (uniform over its
  plausible range in data/parameters.yaml); the fitted parameters come from the calibration
  posterior (data/posterior.parquet, one draw per future) when it exists and stay at their
  fit otherwise. Each future runs the status quo, P1, P2, P3 and all three under each
  persistence regime on shared seeds. From it: P(each program best) with parameter
  uncertainty against the seeds-only figure (the nominal parameters on as many seeds), how
  much of each contrast's variance comes from parameters and how much from run-to-run noise
  (one-way random-effects ANOVA), regret, and PRIM boxes of where each program wins.
- **Screening.** Morris elementary effects (SALib) of every assumption on the contrasts
  P1-P2, P1-P3, P2-P3 of the overall score (`sim.decision`).
- **Global sensitivity.** Sobol first-order and total indices (Saltelli sampling, bootstrap
  intervals) of the contrasts for the screen's top parameters.

Failed runs never break an analysis: a future with a failed run is left out of the
propagation tables, a Morris trajectory with one is left out of the screen, and a Saltelli
block (base sample j with its D + 2 rows) with one is left out of the Sobol estimate — each
of these keeps the estimator it feeds valid, as a smaller sample. Every failure is listed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import decision
from sim.columns import decision_outcomes
from sim.costs import QUANTITY_COLUMNS
from sim.decision import GROUP, Settings
from sim.errors import InputError
from sim.files import read_yaml
from sim.output import read_parquet
from sim.parameters import VARIANT_CHOICES, calibrated_values, catalogue
from sim.resources import data_file, experiment_file, folder, resolve

CONFIG_FILE = experiment_file("robustness.yaml")
POSTERIOR_FILE = data_file("posterior.parquet")
PROGRAMS = {"P1": "talent_foundation", "P2": "digital_foundation", "P3": "innovation_leap"}
CONTRASTS = (("P1", "P2"), ("P1", "P3"), ("P2", "P3"))
PARTS = ("nominal", "propagation", "screening", "sobol")


REGIMES = ("sustain", "decay", "revert")  # the order every table and first screen uses (the default regime first)

# The sensitivity index that named a decisive assumption, in each report language.
INDEX_NAMES_ZH = {"Sobol total index": "Sobol 总效应指数", "Morris mu*": "Morris μ*"}


@dataclass(frozen=True)
class Config:
    """The robustness analysis's sizes and choices (experiments/robustness.yaml)."""

    name: str = "robustness"
    seed: int = 20240301
    n_communities: int = 100
    regimes: tuple[str, ...] = REGIMES
    exclude: tuple[str, ...] = ("n_communities", "months", "constant_recruits_per_month")
    parameters: tuple[str, ...] | None = None  # None: every assumption parameter
    samples: int = 128
    seeds: int = 2
    nominal_seeds: int = 32
    trajectories: int = 6
    levels: int = 4
    screening_regimes: tuple[str, ...] = REGIMES
    sobol_top: int = 10
    sobol_samples: int = 256
    sobol_regimes: tuple[str, ...] = ("sustain",)
    bootstrap: int = 1000
    prim_threshold: float = 0.8
    modes: tuple[str, ...] = ("equal_exposure", "calendar")  # evaluation modes every future is scored in, equally weighted
    factors: tuple[str, ...] = VARIANT_CHOICES  # choices every future samples, each choice equally likely
    value_per_point: float = 1_000_000.0  # yuan per community for one point of overall score (the stated value for VOI)
    voi_values: tuple[float, float] = (1e5, 1e7)  # the range of values the VOI curve covers
    scales: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def scaled(self, scale: str) -> Config:
        """The configuration at a named scale ('default' or one of the file's `scales`)."""
        if scale == "default":
            return self
        if scale not in self.scales:
            raise InputError(f"scale = {scale!r}: choose 'default' or one of {', '.join(self.scales) or 'none'}")
        return _apply(replace(self, name=f"{self.name}_{scale}"), self.scales[scale], f"scales.{scale}")


FIELDS = {
    "name": ("name", str), "seed": ("seed", int), "n_communities": ("n_communities", int), "regimes": ("regimes", tuple),
    "exclude": ("exclude", tuple), "parameters": ("parameters", tuple), "propagation.samples": ("samples", int),
    "propagation.seeds": ("seeds", int), "propagation.nominal_seeds": ("nominal_seeds", int),
    "screening.trajectories": ("trajectories", int), "screening.levels": ("levels", int),
    "screening.regimes": ("screening_regimes", tuple), "sobol.top": ("sobol_top", int), "sobol.samples": ("sobol_samples", int),
    "sobol.regimes": ("sobol_regimes", tuple), "sobol.bootstrap": ("bootstrap", int), "prim.threshold": ("prim_threshold", float),
    "modes": ("modes", tuple), "factors": ("factors", tuple),
    "value_of_information.value_per_point": ("value_per_point", "yuan"),
    "value_of_information.range": ("voi_values", "yuan range"),
}  # fmt: skip


def load_config(path: Path | str = CONFIG_FILE) -> Config:
    """Read and check a robustness configuration (a user's own file, or a packaged one such as experiments/robustness.yaml)."""
    raw = read_yaml(resolve(path))
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping")
    scales = raw.pop("scales", {}) or {}
    return replace(_apply(Config(), raw, str(path)), scales=scales)


def _flat(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and f"{name}." in {k[: len(name) + 1] for k in FIELDS}:
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _apply(config: Config, raw: Mapping[str, Any], where: str) -> Config:
    changes = {}
    for key, value in _flat(raw).items():
        if key not in FIELDS:
            raise InputError(f"{where}: unknown field '{key}'; allowed: {', '.join(FIELDS)}")
        attr, kind = FIELDS[key]
        changes[attr] = _typed(value, kind, f"{where}: {key}")
    out = replace(config, **changes)
    for regime in {*out.regimes, *out.screening_regimes, *out.sobol_regimes}:
        catalogue()["persistence"].check(regime, f"{where}: regimes")
    if not set(out.screening_regimes) <= set(out.regimes) or not set(out.sobol_regimes) <= set(out.regimes):
        raise InputError(f"{where}: screening and sobol regimes must be among the regimes {list(out.regimes)}")
    for mode in out.modes:
        if mode not in decision.MODES:
            raise InputError(f"{where}: modes: {mode!r} is not an evaluation mode ({', '.join(decision.MODES)})")
    for factor in out.factors:
        if factor not in catalogue() or catalogue()[factor].type != "choice":
            raise InputError(f"{where}: factors: {factor!r} is not a choice parameter of data/parameters.yaml")
    if out.sobol_samples & (out.sobol_samples - 1):
        raise InputError(f"{where}: sobol.samples = {out.sobol_samples} must be a power of 2")
    if out.seeds < 2:
        raise InputError(f"{where}: propagation.seeds = {out.seeds} must be at least 2 (the run-to-run variance needs two)")
    return out


def _typed(value: Any, kind: type, where: str) -> Any:
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{where} = {value!r} must be a list of names")
        return tuple(value)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InputError(f"{where} = {value!r} must be a whole number of at least 1")
    if kind is float and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1):
        raise InputError(f"{where} = {value!r} must be a number in (0, 1]")
    if kind is str and not isinstance(value, str):
        raise InputError(f"{where} = {value!r} must be text")
    if kind == "yuan":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e12:
            raise InputError(f"{where} = {value!r} must be a positive amount of yuan")
        return float(value)
    if kind == "yuan range":
        if not isinstance(value, list) or len(value) != 2:
            raise InputError(f"{where} = {value!r} must be [low, high] in yuan")
        low, high = (_typed(v, "yuan", where) for v in value)
        if low >= high:
            raise InputError(f"{where} = {value!r}: low must be below high")
        return (low, high)
    return value


# --- what is uncertain --------------------------------------------------------------------
def assumptions(config: Config) -> list[str]:
    """The sampled assumption parameters: numeric, sourced 'assumption', with a range, not fitted, not excluded."""
    fitted = set(calibrated_values())
    chosen = [
        name
        for name, s in catalogue().items()
        if s.source.startswith("assumption") and s.type in ("float", "int") and s.range and s.range[0] < s.range[1]
        and name not in fitted and name not in config.exclude
    ]  # fmt: skip
    if config.parameters is not None:
        unknown = set(config.parameters) - set(chosen)
        if unknown:
            raise InputError(f"parameters {sorted(unknown)} are not sampled assumption parameters")
        chosen = [n for n in chosen if n in config.parameters]
    return chosen


def posterior() -> pd.DataFrame | None:
    """Draws of the fitted parameters from data/posterior.parquet (one row per draw), or None."""
    if not POSTERIOR_FILE.is_file():
        return None
    draws = read_parquet(POSTERIOR_FILE)
    return draws[[c for c in draws.columns if c in catalogue()]]


def fitted_source() -> str:
    from sim.lang import t

    if posterior() is not None:
        return t("drawn from the calibration posterior (data/posterior.parquet)", "取自校准后验抽样(data/posterior.parquet)")
    return t("held at their fit (data/calibrated.yaml)", "固定在拟合值(data/calibrated.yaml)")


def lhs_points(config: Config, names: Sequence[str]) -> list[dict[str, Any]]:
    """Latin-hypercube futures over `names` and the choice `factors` (each choice equally likely), with a posterior draw each.

    The draw's index parameters are carried to the future's capacity structure and reading
    (`sim.posterior.for_variant`).
    """
    from scipy.stats import qmc

    from sim.batch.design import choice_of
    from sim.posterior import for_variant

    specs = [catalogue()[n] for n in names]
    factors = [catalogue()[f] for f in config.factors]
    unit = qmc.LatinHypercube(d=len(names) + len(factors), rng=np.random.default_rng(config.seed)).random(config.samples)
    low = np.array([s.range[0] for s in specs], dtype=float)
    high = np.array([s.range[1] for s in specs], dtype=float)
    values = low + unit[:, : len(names)] * (high - low)
    draws = posterior()
    rows = np.random.default_rng(config.seed + 1).integers(0, len(draws), config.samples) if draws is not None else None
    points = []
    for i, row in enumerate(values):
        point = {s.name: s.check(round(v) if s.type == "int" else float(v)) for s, v in zip(specs, row, strict=True)}
        point.update({f.name: choice_of(f, u) for f, u in zip(factors, unit[i, len(names) :], strict=True)})
        if rows is not None:
            drawn = for_variant({k: float(v) for k, v in draws.iloc[rows[i]].items()}, point)
            point.update({k: catalogue()[k].check(v) for k, v in drawn.items()})
        points.append(point)
    return points


def horizon_month(config: Config, s: Settings | None = None) -> int:
    """The month every run must reach so that each program and all three can be scored in every mode of `config.modes`."""
    from sim.programs import standard_programs

    s = s or decision.settings()
    alone = [[standard_programs()[key]] for key in PROGRAMS.values()]
    return max(s.in_mode(mode).window(programs)[1] for mode in config.modes for programs in [*alone, [p[0] for p in alone]])


# --- the experiments ------------------------------------------------------------------------
def condition_name(program: str, regime: str) -> str:
    """'P1.sustain'; the baseline has no programs, so one baseline serves every regime."""
    return "baseline" if program == "baseline" else f"{program}.{regime}"


def _variants(regimes: Sequence[str], programs: Sequence[str]) -> dict[str, Any]:
    variants: dict[str, Any] = {}
    for program in programs:
        for regime in regimes if program != "baseline" else regimes[:1]:
            members = list(PROGRAMS.values()) if program == "all" else [] if program == "baseline" else [PROGRAMS[program]]
            variants[condition_name(program, regime)] = {"programs": members, "parameters": {"persistence": regime}}
    return variants


def _spec(config: Config, part: str, programs: Sequence[str], regimes: Sequence[str], replicates: int,
          design: Mapping[str, Any] | None, seed: int) -> Any:  # fmt: skip
    from sim.batch.spec import spec_from_dict

    raw = {
        "name": f"{config.name}_{part}",
        "description": f"robustness analysis, {part} (experiments/robustness.yaml)",
        "base": "baseline",
        "variants": _variants(regimes, programs),
        "parameters": {"n_communities": config.n_communities, "months": horizon_month(config)},
        "replicates": replicates,
        "seed": seed,
        "outputs": {"months": "all", "columns": [*decision_outcomes(), *QUANTITY_COLUMNS.values()]},  # scores and costs
    }
    if design is not None:
        raw["design"] = design
    if "baseline" in programs:
        raw["baseline"] = "baseline"
    return spec_from_dict(raw, f"robustness {part}", folder("experiments"))


def specs(config: Config, top: Sequence[str] | None = None) -> dict[str, Any]:
    """The experiments of the analysis (the Sobol one only once the screen's `top` parameters are known).

    Every part runs the status quo: each program is scored against it in its own window, and a
    contrast (P1 - P3) is the difference of two such scores.
    """
    names = assumptions(config)
    everything = ("baseline", "P1", "P2", "P3", "all")
    alone = ("baseline", *PROGRAMS)
    out = {
        "nominal": _spec(config, "nominal", everything, config.regimes, config.nominal_seeds, None, config.seed + 11),
        "propagation": _spec(
            config,
            "propagation",
            everything,
            config.regimes,
            config.seeds,
            {"kind": "list", "points": lhs_points(config, names)},
            config.seed,
        ),
        "screening": _spec(
            config,
            "screening",
            alone,
            config.screening_regimes,
            1,
            {
                "kind": "morris",
                "parameters": [*names, *config.factors],
                "trajectories": config.trajectories,
                "levels": config.levels,
                "seed": config.seed + 2,
            },
            config.seed + 3,
        ),
    }
    if top:
        out["sobol"] = _spec(config, "sobol", alone, config.sobol_regimes, 1,
                             {"kind": "sobol", "parameters": list(top), "samples": config.sobol_samples,
                              "second_order": False, "seed": config.seed + 4}, config.seed + 5)  # fmt: skip
    return out


@dataclass
class Results:
    """The finished experiments: specs and tidy tables, and failed run ids per part."""

    config: Config
    specs: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    failed: dict[str, dict[str, str]]
    seconds: dict[str, float]  # this session's time per part (runs resumed from an earlier session not included)
    resumed: dict[str, int] = field(default_factory=dict)  # runs per part found already done in the store


def store_root(root: Path | str) -> Path:
    """`root`/model-<fingerprint>/: stores are resumed only by the same model (a changed model never reuses old runs)."""
    return Path(root) / f"model-{model_fingerprint()}"


def model_fingerprint() -> str:
    """A hash of everything a run's numbers depend on (`sim.provenance.model_inputs`: the simulator's code, data/,
    the lock file and the computing libraries' versions). Analysis, report, docs and test changes keep it, so a long
    analysis can be resumed across them; any change to the model or its data starts afresh."""
    from sim.provenance import inputs_fingerprint, model_inputs

    return inputs_fingerprint(model_inputs())


def run(config: Config, workers: int | None = None, root: Path | str = "results", log: Callable[[str], None] = print,
        quiet: bool = True, **executor: Any) -> Results:  # fmt: skip
    """Run (or resume) every experiment of the analysis into `root`/<code version>/<name>_<part>/ and load them.

    The Sobol design needs the screen's result, so the parts run in order: nominal,
    propagation, screening, then Sobol on the screen's top parameters.
    """
    from sim.batch import load_results, run_experiment

    root = store_root(root)
    chosen = specs(config)
    tables, failed, seconds, resumed = {}, {}, {}, {}
    for part in PARTS:
        if part == "sobol":
            top = top_parameters(config, tables["screening"], chosen["screening"], failed["screening"])
            chosen["sobol"] = specs(config, top)["sobol"]
        spec = chosen[part]
        store = root / spec.name
        log(f"{part}: {len(spec.design.points) * len(spec.scenarios) * spec.replicates:,} runs into {store}")
        report = run_experiment(spec, workers=workers, out=store, resume=store.exists(), quiet=quiet, **executor)
        log(f"{part}: {report}")
        tables[part], failed[part], seconds[part] = load_results(report.store), dict(report.failed), report.elapsed
        resumed[part] = report.already_done
    return Results(config, chosen, tables, failed, seconds, resumed)


# --- contrasts and scores ---------------------------------------------------------------------
def regime_of(name: str) -> str | None:
    return name.split(".", 1)[1] if "." in name else None


def program_scores(table: pd.DataFrame, regimes: Sequence[str], s: Settings, scenarios: Mapping[str, Any],
                   modes: Sequence[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """Overall score of every program condition against the status quo, per run and evaluation mode.

    `scenarios` (name -> Scenario, the spec's) give each condition's programs, hence its window.
    Columns: mode, regime, program, design_point, replicate, overall.
    """
    outcomes = [o for o in decision_outcomes() if o in table.columns]
    frames = []
    for mode in modes or (s.mode,):
        m = s.in_mode(mode)
        windows = m.windows(scenarios)
        for regime in regimes:
            names = [n for n in table["scenario"].unique() if regime_of(n) == regime or n == "baseline"]
            part = table[table["scenario"].isin(names)]
            if "baseline" not in set(part["scenario"]) or len(names) < 2:
                continue
            sc = decision.scores(decision.integrated_effects(part, "baseline", outcomes, m, windows), m)
            sc["program"] = sc["scenario"].str.split(".").str[0]
            frames.append(sc.assign(mode=mode, regime=regime)[["mode", "regime", "program", GROUP, "replicate", "overall"]])
    return pd.concat(frames, ignore_index=True)


def contrasts(scores: pd.DataFrame) -> pd.DataFrame:
    """P1-P2, P1-P3 and P2-P3 of the overall score per run (mode, regime, design point, replicate), long format.

    Each score is against the status quo in the program's own window, so a contrast is the
    difference of two scores (not of two paths over one window).
    """
    keys = ["mode", "regime", GROUP, "replicate"]
    wide = scores.pivot_table(index=keys, columns="program", values="overall")
    rows = [wide[a] - wide[b] for a, b in CONTRASTS if a in wide and b in wide]
    out = pd.concat(rows, axis=1, keys=[f"{a}-{b}" for a, b in CONTRASTS if a in wide and b in wide]).reset_index()
    return out.melt(id_vars=keys, var_name="contrast", value_name="value").dropna()


def complete_points(table: pd.DataFrame, spec: Any, failed: Mapping[str, str]) -> set[int]:
    """Design points none of whose runs failed or is missing."""
    expected = len(spec.scenarios) * spec.replicates
    counts = table.groupby(GROUP)["run_id"].nunique()
    bad = {int(run.split("-")[-2]) for run in failed}
    return {int(p) for p, n in counts.items() if n == expected and p not in bad}


# --- propagation -------------------------------------------------------------------------------
def p_best_table(scores: pd.DataFrame, label: str, by: str | None = None) -> pd.DataFrame:
    """P(each program alone best) per regime over every sampled future, seed and evaluation mode, with a 95% interval.

    With `by` (a column of `scores`: a factor such as `capacity_structure`, or `mode`), one row
    per regime, level and program: the breakdown under the pooled share. Modes are weighted
    equally (each future is scored in every mode).

    The interval (Wilson, `statsmodels.stats.proportion.proportion_confint`) is for the share as
    an estimate from a finite sample of futures. It counts each independent draw once: a design
    point (one draw of the assumptions) when there are several, since its seeds and modes share
    that draw; each seed when every assumption is held at one point (seeds only). It says how
    precisely the sample pins the share down, not how likely the assumptions' ranges are.
    """
    from statsmodels.stats.proportion import proportion_confint

    alone = scores[scores["program"].isin(list(PROGRAMS))]
    group = ["regime", *([by] if by else [])]
    inner = ["mode"] if by != "mode" else []
    wide = alone.pivot_table(index=[*group, *inner, GROUP, "replicate"], columns="program", values="overall").dropna()
    best = wide.eq(wide.max(axis=1), axis=0)
    per_future = best.div(best.sum(axis=1), axis=0)  # ties share the win
    several_points = wide.index.get_level_values(GROUP).nunique() > 1
    draw_level = [*group, GROUP] if several_points else [*group, GROUP, "replicate"]
    per_draw = per_future.groupby(level=draw_level).mean()  # each draw once: its seeds and modes together
    share = per_draw.groupby(level=group).mean()
    draws = per_draw.groupby(level=group).size()
    wins = per_draw.groupby(level=group).sum().reindex(share.index)
    low, high = proportion_confint(wins.to_numpy(), draws.reindex(share.index).to_numpy()[:, None], method="wilson")
    out = share.reset_index().melt(id_vars=group, var_name="program", value_name="p_best")
    for name, values in (("p_best_low", low), ("p_best_high", high)):
        out[name] = pd.DataFrame(values, index=share.index, columns=share.columns).reset_index().melt(id_vars=group)["value"]
    out["independent_draws"] = out.set_index(group).index.map(draws).to_numpy()
    futures = wide.groupby(level=group).size()
    out["futures"] = out.set_index(group).index.map(futures).to_numpy()
    return out.assign(uncertainty=label)


def breakdown(scores: pd.DataFrame, points: Sequence[Mapping[str, Any]], factors: Sequence[str]) -> pd.DataFrame:
    """P(best) of each program alone per regime for each level of every deciding choice: each factor and the mode.

    Columns: regime, choice, level, program, p_best with its interval, independent_draws; and
    `leader`, the program with the highest share at that level.
    """
    frames = []
    with_levels = scores.copy()
    for factor in factors:
        with_levels[factor] = with_levels[GROUP].map(lambda i, f=factor: points[int(i)][f])
    for choice in [*factors, "mode"]:
        table = p_best_table(with_levels, "parameters and seeds", by=choice).rename(columns={choice: "level"})
        frames.append(table.assign(choice=choice))
    out = pd.concat(frames, ignore_index=True)
    top = out.loc[out.groupby(["regime", "choice", "level"])["p_best"].idxmax(), ["regime", "choice", "level", "program"]]
    out = out.merge(top.rename(columns={"program": "leader"}), on=["regime", "choice", "level"])
    return out[["regime", "choice", "level", "program", "p_best", "p_best_low", "p_best_high", "independent_draws", "leader"]]


def variance_shares(contrast: pd.DataFrame) -> pd.DataFrame:
    """How much of each contrast's variance comes from the parameters and how much from run-to-run noise.

    One-way random-effects ANOVA over futures (design points) with `seeds` replicates each
    (statsmodels OLS + anova_lm gives the mean squares): noise variance = MS_within,
    parameter variance = (MS_between - MS_within) / seeds (floored at 0).
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rows = []
    for (regime, name), group in contrast.groupby(["regime", "contrast"], sort=False):
        n = group.groupby(GROUP).size().min()
        fit = smf.ols("value ~ C(design_point)", data=group).fit()
        table = sm.stats.anova_lm(fit)
        ms_between, ms_within = table["mean_sq"].iloc[0], table["mean_sq"].iloc[1]
        parameters = max(0.0, (ms_between - ms_within) / n)
        total = parameters + ms_within
        rows.append({"regime": regime, "contrast": name, "mean": group["value"].mean(), "var_parameters": parameters,
                     "var_noise": ms_within, "share_parameters": parameters / total if total else np.nan,
                     "share_noise": ms_within / total if total else np.nan, "futures": group[GROUP].nunique(),
                     "seeds": int(n)})  # fmt: skip
    return pd.DataFrame(rows)


def regret_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per regime and program alone: expected score, and regret across futures (mean, 90th percentile, maximum).

    A future is a design point, its score the mean over its seeds; regret = the best program's
    score in that future minus this program's.
    """
    alone = scores[scores["program"].isin(list(PROGRAMS))]
    by_future = alone.groupby(["regime", GROUP, "program"])["overall"].mean().unstack("program")
    regret = by_future.rsub(by_future.max(axis=1), axis=0)
    rows = []
    for regime, block in regret.groupby(level="regime"):
        for program in block.columns:
            rows.append({"regime": regime, "program": program, "expected_score": by_future.loc[regime, program].mean(),
                         "mean_regret": block[program].mean(), "p90_regret": block[program].quantile(0.9),
                         "max_regret": block[program].max()})  # fmt: skip
    out = pd.DataFrame(rows)
    for _, block in out.groupby("regime"):
        out.loc[block.index, "expected_value_choice"] = block.loc[block["expected_score"].idxmax(), "program"]
        out.loc[block.index, "minimax_regret_choice"] = block.loc[block["max_regret"].idxmin(), "program"]
        out.loc[block.index, "p90_regret_choice"] = block.loc[block["p90_regret"].idxmin(), "program"]
    return out


# --- screening and global sensitivity -------------------------------------------------------------
def morris_indices(problem: Mapping[str, Any], X: np.ndarray, Y: np.ndarray, ok: np.ndarray, levels: int,
                   seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """SALib Morris mu*, sigma and mu* interval, keeping only trajectories whose every point is `ok`.

    A Morris sample is made of trajectories of D + 1 consecutive points; one missing output
    spoils its trajectory's elementary effects, so the whole trajectory is dropped.
    """
    from SALib.analyze import morris

    rows, kept = _complete_blocks(ok, problem["num_vars"] + 1, "Morris trajectories")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        found = morris.analyze(dict(problem), X[rows], Y[rows], num_levels=levels, seed=seed)
    return pd.DataFrame({"parameter": found["names"], "mu_star": found["mu_star"], "mu_star_conf": found["mu_star_conf"],
                         "sigma": found["sigma"], "mu": found["mu"], "trajectories": kept})  # fmt: skip


def sobol_indices(problem: Mapping[str, Any], Y: np.ndarray, ok: np.ndarray, bootstrap: int = 1000,
                  seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """SALib Sobol S1 and ST with bootstrap intervals, from a Saltelli sample without second order.

    Rows come in blocks of D + 2 per base sample (A, the D mixed rows, B); a block with any
    missing output is dropped whole, which leaves the estimator a valid smaller sample.
    """
    from SALib.analyze import sobol

    rows, kept = _complete_blocks(ok, problem["num_vars"] + 2, "Saltelli blocks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = sobol.analyze(dict(problem), Y[rows], calc_second_order=False, num_resamples=bootstrap, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "S1": found["S1"], "S1_conf": found["S1_conf"], "ST": found["ST"],
                         "ST_conf": found["ST_conf"], "blocks": kept})  # fmt: skip


def _complete_blocks(ok: np.ndarray, size: int, what: str) -> tuple[np.ndarray, int]:
    """Rows of the blocks (consecutive runs of `size`) whose every output is `ok`, and how many blocks that is."""
    keep = ok.reshape(-1, size).all(axis=1)
    if keep.sum() < 2:
        raise InputError(f"only {int(keep.sum())} complete {what}; the analysis needs at least 2")
    return np.repeat(keep, size), int(keep.sum())


def _design_outputs(table: pd.DataFrame, spec: Any, failed: Mapping[str, str], regimes: Sequence[str], s: Settings,
                    analyse: Callable[[np.ndarray, np.ndarray], pd.DataFrame]) -> pd.DataFrame:  # fmt: skip
    """Apply `analyse(Y, ok)` to each regime and contrast of a design experiment (one replicate per point; default mode)."""
    values = contrasts(program_scores(table, regimes, s, spec.scenarios))
    ok_points = complete_points(table, spec, failed)
    n = len(spec.design.points)
    frames = []
    for (regime, name), group in values.groupby(["regime", "contrast"], sort=False):
        y = np.full(n, np.nan)
        y[group[GROUP].to_numpy()] = group["value"].to_numpy()
        ok = np.isfinite(y) & np.isin(np.arange(n), list(ok_points))
        frames.append(analyse(np.nan_to_num(y), ok).assign(regime=regime, contrast=name))
    return pd.concat(frames, ignore_index=True)


def screening(table: pd.DataFrame, spec: Any, failed: Mapping[str, str], config: Config, s: Settings) -> pd.DataFrame:
    """Morris indices of every regime and contrast of the screening experiment."""
    problem = spec.design.salib_problem()
    X = morris_sample(spec)
    out = _design_outputs(table, spec, failed, config.screening_regimes, s,
                          lambda y, ok: morris_indices(problem, X, y, ok, config.levels, config.seed))  # fmt: skip
    out["rank"] = out.groupby(["regime", "contrast"])["mu_star"].rank(ascending=False, method="first").astype(int)
    return out.sort_values(["regime", "contrast", "rank"]).reset_index(drop=True)


def morris_sample(spec: Any) -> np.ndarray:
    """The Morris sample the screening design was built from, before whole-number parameters were rounded.

    Elementary effects are attributed by which column changed between consecutive points;
    rounding can hide a step of a whole-number parameter, so SALib gets the unrounded sample
    (the outputs belong to the rounded values: a whole-number parameter is screened coarsely).
    """
    from SALib.sample import morris

    from sim.batch.design import choice_of

    d = spec.design
    X = morris.sample(d.salib_problem(), d.settings["trajectories"], num_levels=d.settings["levels"], seed=d.settings["seed"])
    specs = [catalogue()[n] for n in d.names]
    for j, param in enumerate(specs):
        if param.type == "choice":
            if any(choice_of(param, u) != p[param.name] for u, p in zip(X[:, j], d.points, strict=True)):
                raise InputError("the screening design does not match its Morris sample; rerun the screen")
            continue
        column = np.array([p[param.name] for p in d.points], dtype=float)
        if not np.allclose(np.round(X[:, j]) if param.type == "int" else X[:, j], column):
            raise InputError("the screening design does not match its Morris sample; rerun the screen")
    return X


def top_parameters(config: Config, table: pd.DataFrame, spec: Any, failed: Mapping[str, str] | None = None) -> list[str]:
    """The screen's most influential parameters: ranked by their best rank over regimes and contrasts, then mu*."""
    morris = screening(table, spec, failed or {}, config, decision.settings())
    best = morris.groupby("parameter").agg(rank=("rank", "min"), mu_star=("mu_star", "max"))
    return list(best.sort_values(["rank", "mu_star"], ascending=[True, False]).index[: config.sobol_top])


def sobol(table: pd.DataFrame, spec: Any, failed: Mapping[str, str], config: Config, s: Settings) -> pd.DataFrame:
    problem = spec.design.salib_problem()
    return _design_outputs(table, spec, failed, config.sobol_regimes, s,
                           lambda y, ok: sobol_indices(problem, y, ok, config.bootstrap, config.seed))  # fmt: skip


# --- scenario discovery ------------------------------------------------------------------------
@dataclass(frozen=True)
class Box:
    """A PRIM box: the restrictions, and how much of the wins it covers and how pure it is."""

    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float

    def sentence(self, winner: str, loser: str, regime: str) -> str:
        parts = []
        for name, limit in self.limits.items():
            spec = catalogue()[name]
            if spec.type == "choice":  # a set of choices
                parts.append(f"{name} is {' or '.join(str(v) for v in limit)}")
                continue
            low, high = limit
            lo, hi = spec.range
            if low > lo and high < hi:
                parts.append(f"{low:.3g} < {name} < {high:.3g}")
            elif low > lo:
                parts.append(f"{name} > {low:.3g}")
            else:
                parts.append(f"{name} < {high:.3g}")
        condition = " and ".join(parts) if parts else "(no restriction found)"
        return (f"{winner} beats {loser} ({regime}) when {condition}: coverage {self.coverage:.0%} (of the futures where "
                f"{winner} wins, the share inside the box), density {self.density:.0%} (of the futures inside the box, "
                f"the share where {winner} wins)")  # fmt: skip


def prim_box(x: pd.DataFrame, y: np.ndarray, threshold: float = 0.8, significance: float = 0.05) -> Box | None:
    """The PRIM box (EMA Workbench) of highest coverage among those of density >= threshold (ties: fewest restrictions),
    keeping only restrictions that matter: the least significant one is dropped while its quasi-p value (Bryant &
    Lempert 2010, EMA's one-sided binomial test) exceeds `significance`. None if no restriction survives.

    With few futures and many inputs, peeling can always reach a dense box by chance; the test is what
    separates a region where the answer flips from noise. The reported density is the pruned box's.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        if y.sum() == 0 or y.all():
            return None
        found = prim.Prim(x.reset_index(drop=True), np.asarray(y, dtype=bool)).find_box()
        trajectory = found.peeling_trajectory
        dense = trajectory[trajectory["density"] >= threshold]
        if dense.empty:
            return None
        best = int(dense.sort_values(["coverage", "res_dim"], ascending=[False, True]).index[0])
        found.select(best)
        quasi_p = _quasi_p(found, best)
        while quasi_p and max(quasi_p.values()) > significance:
            found.drop_restriction(max(quasi_p, key=quasi_p.get), best)
            best = len(found.box_lims) - 1  # the pruned box joins the end of the trajectory
            quasi_p = _quasi_p(found, best)
    if not quasi_p:
        return None
    limits = found.box_lims[best]
    full = found.box_lims[0]
    restricted: dict[str, Any] = {}
    for c in x.columns:
        if isinstance(full.loc[0, c], set):  # a categorical column: the box keeps a subset of its choices
            if limits.loc[0, c] != full.loc[0, c]:
                restricted[c] = tuple(sorted(limits.loc[0, c]))
        elif limits.loc[0, c] > full.loc[0, c] or limits.loc[1, c] < full.loc[1, c]:
            restricted[c] = (float(limits.loc[0, c]), float(limits.loc[1, c]))
    row = found.peeling_trajectory.iloc[best]
    return Box(restricted, float(row["coverage"]), float(row["density"]), float(row["mass"]))


def _quasi_p(found: Any, box: int) -> dict[str, float]:
    """Each restricted input's quasi-p value in box `box` of the trajectory (the more significant of its two sides)."""
    values = found.p_values[box]
    return {name: min(v for v in sides if v >= 0) for name, sides in values.items() if any(v >= 0 for v in sides)}


def scenario_discovery(scores: pd.DataFrame, points: Sequence[Mapping[str, Any]], names: Sequence[str],
                       config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Where each other program beats the expected-value leader: PRIM boxes per regime (tidy), and the futures."""
    alone = scores[scores["program"].isin(list(PROGRAMS))]
    by_future = alone.groupby(["regime", GROUP, "program"])["overall"].mean().unstack("program")  # modes and seeds pooled
    x_all = pd.DataFrame([{n: p[n] for n in names} for p in points])
    for factor in config.factors:  # choices as categories: PRIM keeps a subset of them
        x_all[factor] = pd.Categorical([p[factor] for p in points], categories=catalogue()[factor].choices)
    boxes, futures = [], []
    for regime, block in by_future.groupby(level="regime"):
        block = block.droplevel("regime")
        leader = block.mean().idxmax()
        x = x_all.loc[block.index]
        for other in [p for p in block.columns if p != leader]:
            wins = (block[other] > block[leader]).to_numpy()
            futures.append(
                x.assign(regime=regime, leader=leader, challenger=other, challenger_wins=wins, design_point=block.index)
            )
            box = prim_box(x, wins, config.prim_threshold) if 0 < wins.sum() < len(wins) else None
            row = {"regime": regime, "leader": leader, "challenger": other, "share_of_futures": wins.mean()}
            if box is not None:
                restrictions = "; ".join(
                    f"{k}: {'|'.join(v)}" if catalogue()[k].type == "choice" else f"{k}: {v[0]:.4g}..{v[1]:.4g}"
                    for k, v in box.limits.items()
                )
                sentence = box.sentence(other, leader, regime)
                row.update(
                    coverage=box.coverage, density=box.density, mass=box.mass, sentence=sentence, restrictions=restrictions
                )
            boxes.append(row)
    return pd.DataFrame(boxes), pd.concat(futures, ignore_index=True) if futures else pd.DataFrame()


# --- value of information ----------------------------------------------------------------------
# What a funder could resolve before choosing, grouped as a pilot or survey would resolve it: the
# inputs of each group (parameters of the futures, `price:` the programs' price levels, or the
# factors and the evaluation mode), and in both languages what finding it out would take.
VOI_GROUPS = {
    "training_evidence": {
        "inputs": ["training_evidence"],
        "label": ("the reading of F01/F02", "对F01/F02的解读"),
        "measure": ("whether the article's +37% and +28% came from training alone or from the whole selection-training-use "
                    "chain: a pilot comparing communities with each",
                    "文章所说的+37%与+28%来自单纯培训机制还是选育管用全链条:在两类社区开展对照试点"),
    },
    "capacity_structure": {
        "inputs": ["capacity_structure"],
        "label": ("the capacity structure", "治理能力结构"),
        "measure": ("how vacancies and competence turn into service capacity: post-level records of filled posts, "
                    "competence and response times", "空缺与能力如何转化为服务能力:按岗位记录在岗情况、能力与响应时间"),
    },
    "mode": {
        "inputs": ["mode"],
        "label": ("the evaluation window", "评估期的设定"),
        "measure": ("nothing to measure: a choice of how to compare programs (docs/decision.md)",
                    "无需测量:属于如何比较各工程的选择(docs/decision.md)"),
    },
    "governance_response": {
        "inputs": ["dispute_capacity_elasticity", "satisfaction_capacity_elasticity", "cost_capacity_elasticity"],
        "label": ("how governance responds to cadre capacity", "治理绩效对干部能力的反应程度"),
        "measure": ("P1's governance effect: a pilot measuring dispute resolution and satisfaction before and after "
                    "the selection-training-use chain", "P1的治理效应:在选育管用全链条实施前后测量矛盾化解与满意度的试点"),
    },
    "retention": {
        "inputs": ["exit_rate_base", "capability_bank_exit_multiplier"],
        "label": ("turnover and the capability bank", "人才流动与能力银行"),
        "measure": ("turnover with and without the capability bank (F43): a pilot's exit records",
                    "有无能力银行时的人才流动(F43):试点的离职记录"),
    },
    "rotation_coverage": {
        "inputs": ["rotation_coverage"],
        "label": ("how many communities already use cadres well", "已科学使用后备干部的社区比例"),
        "measure": ("the share of communities already using cadres the scientific way: a survey",
                    "已按科学方式使用后备干部的社区比例:一次抽样调查"),
    },
    "costs": {
        "inputs": ["price:P1", "price:P2", "price:P3"],
        "label": ("what the programs cost", "各工程的成本"),
        "measure": ("the programs' unit costs: quotations and budgets", "各工程的单位成本:报价与预算"),
    },
}


def future_costs(table: pd.DataFrame, spec: Any, s: Settings, modes: Sequence[str], seed: int) -> pd.DataFrame:
    """Discounted cost per community of each program alone in each future and mode, at a price draw of the future's own.

    Columns: mode, regime, program, design_point, cost, price_level (cost at the future's prices
    over cost at central prices). Mean over the future's seeds.
    """
    from sim.report.answer import scenario_getter

    names = [n for n in table["scenario"].unique() if n.split(".")[0] in PROGRAMS]
    part = table[table["scenario"].isin(names)]
    scenario_of = scenario_getter(spec)
    lines = decision.cost_lines([scenario_of(n, 0) for n in names])
    points = sorted(part[GROUP].unique())
    prices = decision.price_draws(lines, len(points) + 1, seed).iloc[1:]  # draw 0 is every line at central: left out
    prices.index = points
    central = lines.set_index("key")["central"]
    frames = []
    for mode in modes:
        quantities = decision.run_costs(part, scenario_of, s.in_mode(mode))
        keys = [k for k in prices.columns if k in quantities.columns]
        q = quantities.reindex(columns=keys, fill_value=0.0)
        at_future = (q.to_numpy() * prices.loc[quantities[GROUP].to_numpy(), keys].to_numpy()).sum(axis=1)
        at_central = q.to_numpy() @ central[keys].to_numpy()
        frames.append(quantities[["scenario", GROUP]].assign(mode=mode, cost=at_future, central=at_central))
    out = pd.concat(frames, ignore_index=True)
    out["program"] = out["scenario"].str.split(".").str[0]
    out["regime"] = out["scenario"].map(regime_of)
    out = out.groupby(["mode", "regime", "program", GROUP], as_index=False)[["cost", "central"]].mean()
    out["price_level"] = out["cost"] / out["central"].where(out["central"] > 0, np.nan)
    return out.drop(columns="central")


def value_of_information(scores: pd.DataFrame, costs: pd.DataFrame, points: Sequence[Mapping[str, Any]],
                         config: Config, s: Settings) -> pd.DataFrame:  # fmt: skip
    """EVPI and EVPPI of each group in `VOI_GROUPS` per regime, per community and nationally, over values of a score point.

    A draw is a (future, evaluation mode) pair - every sampled input - with each program's
    score averaged over the future's seeds. Options: the three programs (one is funded).
    """
    from sim import voi

    alone = scores[scores["program"].isin(list(PROGRAMS))]
    effect = alone.groupby(["regime", "mode", GROUP, "program"])["overall"].mean().unstack("program")
    cost = costs.set_index(["regime", "mode", GROUP, "program"])["cost"].unstack("program")
    level = costs.set_index(["regime", "mode", GROUP, "program"])["price_level"].unstack("program")
    values = np.geomspace(config.voi_values[0], config.voi_values[1], 25)
    values = np.unique(np.append(values, config.value_per_point))
    frames = []
    for regime in effect.index.get_level_values("regime").unique():
        e, c = effect.loc[regime], cost.loc[regime].reindex(effect.loc[regime].index)
        e, c = e[list(PROGRAMS)], c[list(PROGRAMS)]
        index = e.index  # (mode, design point)
        inputs = pd.DataFrame({"mode": index.get_level_values("mode")}, index=index)
        for name in {n for g in VOI_GROUPS.values() for n in g["inputs"] if not n.startswith("price:") and n != "mode"}:
            if name in points[0]:
                inputs[name] = [points[int(i)][name] for i in index.get_level_values(GROUP)]
        for prog in PROGRAMS:
            inputs[f"price:{prog}"] = level.loc[regime].reindex(index)[prog].to_numpy()
        groups = {g: inputs[spec["inputs"]] for g, spec in VOI_GROUPS.items() if set(spec["inputs"]) <= set(inputs.columns)}
        table = voi.evppi_table(e.to_numpy(), c.to_numpy(), groups, values)
        frames.append(table.assign(regime=regime, draws=len(index)))
    out = pd.concat(frames, ignore_index=True)
    out["evppi_national"] = out["evppi"] * s.national_communities
    out["at_stated_value"] = np.isclose(out["value"], config.value_per_point)
    return out


# --- everything --------------------------------------------------------------------------------
def analyse(results: Results, settings: Settings | None = None) -> dict[str, pd.DataFrame]:
    """Every table of the robustness analysis, tidy (long) format."""
    s = settings or decision.settings()
    cfg, t, sp, failed = results.config, results.tables, results.specs, results.failed
    names = assumptions(cfg)
    prop_ok = complete_points(t["propagation"], sp["propagation"], failed["propagation"])
    propagation = t["propagation"][t["propagation"][GROUP].isin(prop_ok)]
    points = sp["propagation"].design.points
    scores = program_scores(propagation, cfg.regimes, s, sp["propagation"].scenarios, cfg.modes)
    nominal = program_scores(t["nominal"], cfg.regimes, s, sp["nominal"].scenarios)
    p_best = pd.concat([p_best_table(scores, "parameters and seeds"), p_best_table(nominal, "seeds only")], ignore_index=True)
    values = contrasts(scores)
    boxes, futures = scenario_discovery(scores, points, names, cfg)
    costs = future_costs(propagation, sp["propagation"], s, cfg.modes, cfg.seed + 6)
    tables = {
        "p_best": p_best,
        "breakdown": breakdown(scores, points, cfg.factors),
        "voi": value_of_information(scores, costs, points, cfg, s),
        "variance": variance_shares(values[values["mode"] == s.mode]),
        "regret": regret_table(scores),
        "morris": screening(t["screening"], sp["screening"], failed["screening"], cfg, s),
        "sobol": sobol(t["sobol"], sp["sobol"], failed["sobol"], cfg, s),
        "prim": boxes,
        "futures": futures,
        "scores": scores,
        "contrasts": values,
        "parameters": parameter_table(cfg, names),
        "failures": pd.DataFrame(
            [{"part": part, "run_id": run, "error": error} for part, runs in failed.items() for run, error in runs.items()],
            columns=["part", "run_id", "error"],
        ),
    }
    tables["leaders"] = leaders(tables)
    return tables


def parameter_table(config: Config, names: Sequence[str]) -> pd.DataFrame:
    """Every sampled assumption with its range and distribution, and how the fitted parameters are treated."""
    rows = [{"parameter": n, "role": "assumption", "distribution": "uniform" if catalogue()[n].type == "float"
             else "uniform, rounded to a whole number", "low": catalogue()[n].range[0], "high": catalogue()[n].range[1],
             "source": catalogue()[n].source} for n in names]  # fmt: skip
    from sim.lang import t

    draws = posterior()
    kind = fitted_source() + (t("; low, high: the draws' 95% range", ";低、高:抽样的95%区间") if draws is not None else "")
    for n, value in calibrated_values().items():
        low, high = (value, value) if draws is None or n not in draws else draws[n].quantile([0.025, 0.975]).tolist()
        rows.append({"parameter": n, "role": "fitted", "distribution": kind, "low": low, "high": high,
                     "source": catalogue()[n].source})  # fmt: skip
    return pd.DataFrame(rows)


def contrast_of(first: str, second: str) -> tuple[str, int]:
    """The analysed contrast of two programs ('P1-P3') and its sign as `first` minus `second` (+1 or -1)."""
    if (first, second) in CONTRASTS:
        return f"{first}-{second}", 1
    return f"{second}-{first}", -1


@dataclass(frozen=True)
class Decisive:
    """The assumption that most changes a leader-vs-runner-up contrast, and how sure that ranking is."""

    parameter: str
    index: str  # 'Sobol total index' or 'Morris mu*'
    tied_with: str | None  # the next parameter when the two indices' 95% intervals overlap (not separated)
    direction: int  # sign of the Morris mean effect on leader minus runner-up: -1 a higher value narrows the lead


def decisive(tables: Mapping[str, pd.DataFrame], regime: str, leader: str, runner_up: str) -> Decisive | None:
    """The assumption that most changes the leader-vs-runner-up contrast in `regime`, and by which index.

    Sobol's total index where the regime had a Sobol analysis, else Morris mu*; the direction from
    Morris mu (signed), turned to read as leader minus runner-up.
    """
    pair, sign = contrast_of(leader, runner_up)
    for name, column, conf in (("sobol", "ST", "ST_conf"), ("morris", "mu_star", "mu_star_conf")):
        frame = tables.get(name)
        if frame is None or frame.empty:
            continue
        rows = frame[(frame["regime"] == regime) & (frame["contrast"] == pair)].sort_values(column, ascending=False)
        if rows.empty:
            continue
        top = rows.iloc[0]
        tied = None
        if len(rows) > 1 and top[column] - top[conf] <= rows.iloc[1][column] + rows.iloc[1][conf]:
            tied = str(rows.iloc[1]["parameter"])
        morris = tables.get("morris")
        direction = 0
        if morris is not None and not morris.empty:
            mu = morris[(morris["regime"] == regime) & (morris["contrast"] == pair) & (morris["parameter"] == top["parameter"])]
            direction = int(np.sign(mu["mu"].iloc[0])) * sign if not mu.empty else 0
        return Decisive(str(top["parameter"]), "Sobol total index" if name == "sobol" else "Morris mu*", tied, direction)
    return None


def decisive_text(row: Any) -> str:
    """'`rotation_coverage` (Sobol total index; not separated from `posts_per_cadre`); a higher value narrows P1's lead
    over P3': a leaders() row's decisive assumption in the report language."""
    from sim.lang import t

    if not isinstance(row.decisive, str):
        return "–"
    by = index_name(row.decisive_by)
    tied = getattr(row, "decisive_tied", None)  # absent from a leaders.csv written before these columns
    direction = getattr(row, "decisive_direction", 0)
    direction = int(direction) if direction == direction else 0  # NaN: unknown
    if row.decisive in catalogue() and catalogue()[row.decisive].type == "choice":
        direction = 0  # a choice has no "higher value": the breakdown by choice says which way each leans
    how = t(f"; not separated from `{tied}`", f";与 `{tied}` 无法区分") if isinstance(tied, str) else ""
    lead = t(f"{row.leader}'s lead over {row.runner_up}", f"{row.leader} 对 {row.runner_up} 的领先幅度")
    moves = {1: t(f"a higher value widens {lead}", f"取值越高,{lead}越大"),
             -1: t(f"a higher value narrows {lead}", f"取值越高,{lead}越小")}.get(direction, "")  # fmt: skip
    return f"`{row.decisive}` ({by}{how})" + (t(f"; {moves}", f";{moves}") if moves else "")


def summary_text(tables: Mapping[str, pd.DataFrame]) -> str:
    """A plain-text digest: P(best) with and without parameter uncertainty, robust choices, top assumptions, PRIM boxes."""
    lines = ["P(best) of each program alone on the overall score (2024-2030, discounted):"]
    p = tables["p_best"].pivot_table(index=["regime", "uncertainty"], columns="program", values="p_best")
    for (regime, kind), row in p.iterrows():
        lines.append(f"  {regime:<8} {kind:<22} " + "  ".join(f"{k} {v:4.0%}" for k, v in row.items()))
    lines.append("Choice across the sampled futures (expected value / minimax regret / 90th-percentile regret):")
    for regime, block in tables["regret"].groupby("regime", sort=False):
        r = block.iloc[0]
        lines.append(f"  {regime:<8} {r['expected_value_choice']} / {r['minimax_regret_choice']} / {r['p90_regret_choice']}")
    lines.append("Most influential assumptions (Morris mu*, top 3 per contrast):")
    for (regime, contrast), block in tables["morris"].groupby(["regime", "contrast"], sort=False):
        lines.append(f"  {regime:<8} {contrast}: " + ", ".join(block.nsmallest(3, "rank")["parameter"]))
    for sentence in tables["prim"].get("sentence", pd.Series(dtype=str)).dropna():
        lines.append(f"  {sentence}")
    if not tables["failures"].empty:
        lines.append(
            f"{len(tables['failures'])} runs failed (see failures.csv); their futures, trajectories or blocks were left out"
        )
    return "\n".join(lines)


def leaders(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per regime: the expected-value leader, the runner-up, P(best) with and without the assumptions, and what decides it."""
    rows = []
    regret = tables["regret"]
    p = tables["p_best"].set_index(["regime", "uncertainty", "program"])
    for regime, block in regret.groupby("regime", sort=False):
        order = block.sort_values("expected_score", ascending=False)["program"].tolist()
        leader, runner = order[0], order[1]
        found = decisive(tables, regime, leader, runner)
        pair, _ = contrast_of(leader, runner)
        share = tables["variance"].set_index(["regime", "contrast"])["share_parameters"].get((regime, pair), np.nan)
        shares = {f"p_best_{prog}": float(p.loc[(regime, "parameters and seeds", prog), "p_best"])
                  for prog in PROGRAMS if (regime, "parameters and seeds", prog) in p.index}  # fmt: skip
        rows.append({"regime": regime, "leader": leader, "runner_up": runner, **shares,
                     **_p_best_of(p, regime, "parameters and seeds", leader, "p_best_assumptions"),
                     **_p_best_of(p, regime, "seeds only", leader, "p_best_seeds_only"),
                     "decisive": found.parameter if found else None, "decisive_by": found.index if found else None,
                     "decisive_tied": found.tied_with if found else None,
                     "decisive_direction": found.direction if found else 0,
                     "share_from_assumptions": share, "minimax_regret": block["minimax_regret_choice"].iloc[0]})  # fmt: skip
    order = {regime: i for i, regime in enumerate(REGIMES)}
    return pd.DataFrame(rows).sort_values("regime", key=lambda r: r.map(order), kind="stable", ignore_index=True)


# The share of futures a program must win for the answer to name it alone (below it: "A or B, depending on ...").
CLEAR_ANSWER = 0.8


def deciding_choices(breakdown: pd.DataFrame, regime: str) -> list[tuple[str, dict[str, str]]]:
    """The deciding choices under `regime`: those whose levels have different leaders, as (choice, {level: leader}),
    the choice whose levels move the pooled leader's share most first."""
    rows = breakdown[breakdown["regime"] == regime]
    if rows.empty:
        return []
    overall = rows.groupby("program")["p_best"].mean().idxmax()
    found = []
    for choice, block in rows.groupby("choice", sort=False):
        leaders_by_level = block.drop_duplicates("level").set_index("level")["leader"].to_dict()
        if len(set(leaders_by_level.values())) > 1:
            spread = np.ptp(block[block["program"] == overall]["p_best"].to_numpy())
            found.append((spread, str(choice), {str(k): str(v) for k, v in leaders_by_level.items()}))
    return [(choice, levels) for _, choice, levels in sorted(found, key=lambda f: -f[0])]


def verdict(
    shares: Mapping[str, float], deciding: Sequence[tuple[str, Mapping[str, str]]], threshold: float = CLEAR_ANSWER
) -> str:
    """The answer in words, never stronger than its numbers (report language).

    `shares` is P(best) of each program over every deciding choice. A program best in at
    least `threshold` of the futures is named alone; otherwise the two most often best are
    named with the choices that decide between them (`deciding_choices`).
    """
    from sim import lang
    from sim.lang import t

    order = sorted(shares, key=lambda k: -shares[k])
    first, second = order[0], order[1]
    if shares[first] >= threshold:
        return t(f"**{first}** is best in {shares[first]:.0%} of the sampled futures.",
                 f"**{first}** 在 {shares[first]:.0%} 的抽样情景中最优。")  # fmt: skip
    parts_en, parts_zh = [], []
    for choice, levels in deciding:
        listed_en = ", ".join(f"{lang.choice_name(choice, level)}: {leader}" for level, leader in levels.items())
        listed_zh = "、".join(f"{lang.choice_name(choice, level)}:{leader}" for level, leader in levels.items())
        parts_en.append(f"{lang.choice_label(choice)} ({listed_en})")
        parts_zh.append(f"{lang.choice_label(choice)}({listed_zh})")
    depends_en = "; ".join(parts_en) if parts_en else "no single choice: it varies across the sampled futures"
    depends_zh = ";".join(parts_zh) if parts_zh else "不取决于单一选择,而随抽样情景变化"
    return t(
        f"**{first} or {second}, depending on** {depends_en}. Neither is best in {threshold:.0%} of the sampled "
        f"futures ({first} {shares[first]:.0%}, {second} {shares[second]:.0%}).",
        f"**{first} 或 {second},取决于**{depends_zh}。二者都未在 {threshold:.0%} 的抽样情景中最优"
        f"({first} {shares[first]:.0%},{second} {shares[second]:.0%})。",
    )


def _p_best_of(p: pd.DataFrame, regime: str, uncertainty: str, program: str, name: str) -> dict[str, float]:
    """P(best) of `program` and its 95% interval as {name, name_low, name_high} (NaN where not analysed)."""
    key = (regime, uncertainty, program)
    found = p.loc[key] if key in p.index else None
    columns = {"": "p_best", "_low": "p_best_low", "_high": "p_best_high"}
    return {name + suffix: float(found[c]) if found is not None and c in found else np.nan for suffix, c in columns.items()}


def share_with_interval(share: float, low: float, high: float) -> str:
    """'99% [96–100%]': a P(best) with its 95% interval (the share alone when the interval is missing)."""
    if not np.isfinite(share):
        return "–"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{share:.0%}"
    return f"{share:.0%} [{100 * low:.0f}–{high:.0%}]"


def index_name(name: str) -> str:
    """'Sobol total index' / 'Sobol 总效应指数': the index that named a decisive assumption, in the report language."""
    from sim.lang import t

    return t(name, INDEX_NAMES_ZH.get(name, name))


def first_screen(tables: Mapping[str, pd.DataFrame], config: Config, runs: int, seconds: float, resumed: int = 0) -> str:
    """The robustness report's opening: the answer per regime once every deciding choice is uncertain (report language).

    `seconds` is this session's time; `resumed` runs were found done in the store and are not in it.
    """
    from sim import lang
    from sim.lang import t
    from sim.report.answer import breakdown_table

    lead = leaders(tables)
    lines = []
    if config.name.endswith(("_tiny", "_small")):
        scale = config.name.rsplit("_", 1)[1]
        lines += [t(f"*This is the `{scale}` scale ({runs:,} runs): a quick look, not the analysis "
                    "(`make report-robustness` runs the default scale).*",
                    f"*这是 `{scale}` 规模({runs:,}次运行):只是快速查看,不是正式分析(`make report-robustness` 运行默认规模)。*"),
                  ""]  # fmt: skip
    modes = "、".join(lang.choice_name("mode", m) for m in config.modes)
    lines += [
        t("## The answer with every deciding choice uncertain", "## 所有关键选择均不确定时的结论"),
        "",
        t(
            f"Metric: the overall score of each program alone (`docs/decision.md`), scored in each evaluation window "
            f"({', '.join(lang.choice_name('mode', m) for m in config.modes)}; equally weighted). *P(best)* is the share of "
            "sampled futures in which a program scores highest. A future samples every assumption parameter over its range, "
            "the fitted parameters from their posterior, the capacity structure and the reading of F01/F02 (each choice "
            "equally likely) and two seeds; the seeds-only figure holds every choice at its default. In brackets: a 95% "
            "interval for the share as estimated from this many futures (Wilson; each future counted once).",
            f"指标:每项工程单独实施时的总体得分(`docs/decision.md`),在各评估期({modes};权重相同)分别计分。*P(最优)* 是"
            "某工程得分最高的抽样情景所占比例。每个情景抽取全部假设参数(在其合理范围内)、拟合参数(取自后验分布)、"
            "治理能力结构和对F01/F02的解读(各选项等可能)以及两个随机种子;“仅随机种子”一栏把所有选择固定在默认值。"
            "方括号内为按所抽情景数估计该比例的95%区间(威尔逊(Wilson)法;每个情景计一次)。",
        ),
        "",
        t("| persistence | the answer | P(best) over every choice | seeds only, every choice at its default | robust choice "
          "(smallest worst regret) |",
          "| 持续性 | 结论 | P(最优),所有选择 | 仅随机种子,各选择取默认 | 稳健选择(最坏遗憾最小) |"),
        "|---|---|---|---|---|",
    ]  # fmt: skip
    breakdown = tables.get("breakdown")
    for r in lead.itertuples():
        shares = {p: float(getattr(r, f"p_best_{p}")) for p in PROGRAMS if pd.notna(getattr(r, f"p_best_{p}", np.nan))}
        said = verdict(shares, deciding_choices(breakdown, r.regime) if breakdown is not None else [])
        pooled = " · ".join(f"{p} {shares[p]:.0%}" for p in PROGRAMS if p in shares)
        every = share_with_interval(r.p_best_assumptions, r.p_best_assumptions_low, r.p_best_assumptions_high)
        seeds = share_with_interval(r.p_best_seeds_only, r.p_best_seeds_only_low, r.p_best_seeds_only_high)
        regime = lang.regime_with_default(r.regime)
        row = f"| **{regime}** | {said} | {pooled}; {r.leader} {every} | {r.leader} {seeds} | {r.minimax_regret} |"
        lines.append(
            t(row, row)  # Chinese: full-width punctuation around the numbers too
        )
    if breakdown is not None and not breakdown.empty:
        lines += ["", *breakdown_table(breakdown, lead["regime"].iloc[0])]
    lines += ["", *_voi_sentence(tables, config), *_decisive_lines(lead)]
    flips = tables["prim"].get("sentence", pd.Series(dtype=str)).dropna()
    lines += [
        "",
        t("**Where the answer flips** (PRIM boxes over the sampled futures):", "**结论在哪里翻转**(抽样情景上的 PRIM 盒):"),
        "",
    ]
    lines += [f"- {s}." for s in flips] or [_no_box_sentence(tables["prim"])]
    assumptions = int((tables["parameters"]["role"] == "assumption").sum())
    timing = t(f"{runs:,} runs in {seconds / 60:.0f} min", f"{runs:,}次运行,用时{seconds / 60:.0f}分钟")
    if resumed >= runs:
        timing = t(f"{runs:,} runs, all read from the analysis's store, made by an earlier session",
                   f"{runs:,}次运行,全部读自此前会话生成的分析存储")  # fmt: skip
    elif resumed:
        timing = t(f"{runs:,} runs, {resumed:,} of them resumed from an earlier session; the other {runs - resumed:,} in "
                   f"{seconds / 60:.0f} min", f"{runs:,}次运行,其中{resumed:,}次沿用此前的运行结果;其余{runs - resumed:,}次"
                   f"用时{seconds / 60:.0f}分钟")  # fmt: skip
    lines += [
        "",
        t(
            f"*What this covers:* {assumptions} assumption parameters, each uniform over its plausible range, jointly; the "
            f"fitted parameters {fitted_source()}; the capacity structure and the reading of F01/F02; the evaluation window; "
            f"run-to-run randomness. It does not cover the article's figures themselves (they set the state and the "
            f"calibration targets). {timing}. **Every input is one policy article's figure that cannot be verified**: "
            "scenario exploration, not a forecast.",
            f"*涵盖范围:* {assumptions}个假设参数,各自在合理范围内均匀联合抽样;拟合参数 {fitted_source()};治理能力结构与"
            f"对F01/F02的解读;评估期;运行间随机性。不包括文章数据本身(它们决定初始状态和校准目标)。{timing}。"
            "**所有输入都来自一篇无法核实的政策文章**:是情景探索,而非预测。",
        ),
    ]
    return "\n".join(lines)


def _decisive_lines(lead: pd.DataFrame) -> list[str]:
    """The assumption that most changes the leader-vs-runner-up contrast, per regime (Sobol or Morris)."""
    from sim import lang
    from sim.lang import t

    out = []
    for r in lead.itertuples():
        if isinstance(r.decisive, str):
            share = f"{r.share_from_assumptions:.0%}" if r.share_from_assumptions == r.share_from_assumptions else "–"
            out.append(t(f"- *{r.regime}:* the sampled input that most changes {r.leader} − {r.runner_up} is "
                         f"{decisive_text(r)}; {share} of that contrast's variance comes from the sampled inputs, the rest "
                         "from run-to-run randomness.",
                         f"- *{lang.regime(r.regime)}:* 最能改变 {r.leader} − {r.runner_up} 的抽样输入是 {decisive_text(r)};"
                         f"该对比方差的 {share} 来自抽样输入,其余来自运行间随机性。"))  # fmt: skip
    return ["", *out] if out else []


def _voi_sentence(tables: Mapping[str, pd.DataFrame], config: Config) -> list[str]:
    """'What to find out first': the group whose perfect information is worth most at the stated value (default regime)."""
    from sim.report.answer import _voi_text

    return _voi_text({"voi": tables["voi"]}) if "voi" in tables else []


def _no_box_sentence(prim: pd.DataFrame) -> str:
    """When no PRIM box survives: how often the most frequent challenger wins, and that its wins are diffuse."""
    from sim.lang import t

    wins = prim.groupby("challenger")["share_of_futures"].agg(["min", "max"]) if not prim.empty else pd.DataFrame()
    if wins.empty or wins["max"].max() == 0:
        return t("- No other program beats the leader in any sampled future.", "- 在任何抽样情景中都没有其他工程胜过领先者。")
    challenger = wins["max"].idxmax()
    low, high = wins.loc[challenger, "min"], wins.loc[challenger, "max"]
    span = f"{low:.0%}" if round(low, 2) == round(high, 2) else f"{low:.0%}–{high:.0%}"
    return t(f"- {challenger} has the higher mean score (over seeds and windows) in {span} of the sampled futures (by "
             "regime; P(best) above counts each seed and window apart), but no region of the inputs "
             "holds those wins with restrictions that pass the significance test (quasi-p ≤ 0.05): they are spread "
             "across the sampled inputs.",
             f"- 按种子与评估期平均得分,{challenger} 在 {span} 的抽样情景中胜过领先者(按情形;上文P(最优)按每个种子与评估期"
             "分别计),但没有任何输入区域能以通过显著性检验"
             "(拟p值 ≤ 0.05)的限制集中这些胜出情景:它们分散在各抽样输入之中。")  # fmt: skip


def prim_text(tables: Mapping[str, pd.DataFrame]) -> str:
    from sim import lang
    from sim.lang import t

    boxes = tables["prim"]
    lines = []
    for r in boxes.itertuples():
        sentence = getattr(r, "sentence", None)
        if isinstance(sentence, str):
            lines.append(f"- {sentence}.")
        else:
            lines.append(t(f"- {r.challenger} beats {r.leader} ({r.regime}) in {r.share_of_futures:.0%} of the sampled futures "
                           "(mean score over seeds and windows): too rarely or too diffusely for a box of the required density "
                           "whose restrictions are significant.",
                           f"- {r.challenger} 在 {r.share_of_futures:.0%} 的抽样情景中胜过 {r.leader}({lang.regime(r.regime)};"
                           "按种子与评估期平均得分):过于少见或过于分散,无法形成满足密度要求且各项限制均显著的盒。"))  # fmt: skip
    return "\n".join(lines) or t("No comparisons.", "无比较。")


def prim_figures(tables: Mapping[str, pd.DataFrame], figures: Any) -> list[tuple[str, Any]]:
    """One two-parameter figure per PRIM box: the futures in its two most restricted numeric parameters.

    A restricted choice (a structure, a reading) is not an axis: the figure shows only the futures
    with the box's choices and its title names them.
    """
    out = []
    futures = tables["futures"]
    for r in tables["prim"].itertuples():
        if not isinstance(getattr(r, "restrictions", None), str):
            continue
        limits: dict[str, tuple[float, float]] = {}
        choices: dict[str, list[str]] = {}
        for part in r.restrictions.split("; "):
            name, span = part.split(": ")
            if catalogue()[name].type == "choice":
                choices[name] = span.split("|")
            else:
                low, high = (float(v) for v in span.split(".."))
                limits[name] = (low, high)
        numeric = [p for p in tables["morris"].sort_values("rank")["parameter"]
                   if p in futures.columns and catalogue()[p].type != "choice"]  # fmt: skip
        names = (list(limits) + [p for p in numeric if p not in limits])[:2]
        if len(names) < 2:
            continue
        full = {n: limits.get(n, catalogue()[n].range) for n in names}
        rows = futures[(futures["regime"] == r.regime) & (futures["challenger"] == r.challenger)]
        for name, kept in choices.items():
            rows = rows[rows[name].astype(str).isin(kept)]
        within = "".join(f", {name} ∈ {{{', '.join(kept)}}}" for name, kept in choices.items())
        title = f"{r.challenger} beats {r.leader} ({r.regime}{within}): coverage {r.coverage:.0%}, density {r.density:.0%}"
        fig = figures.prim_pair(rows, names[0], names[1], full, title, r.challenger)
        out.append((f"prim_{r.regime}_{r.challenger}", fig))
    return out
