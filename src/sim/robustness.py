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
from sim.decision import GROUP, Settings
from sim.errors import InputError
from sim.files import read_yaml
from sim.output import read_parquet
from sim.parameters import calibrated_values, catalogue
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
    """Latin-hypercube futures over `names` (uniform over each range), with a posterior draw each if there is one."""
    from scipy.stats import qmc

    specs = [catalogue()[n] for n in names]
    unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(config.seed)).random(config.samples)
    low = np.array([s.range[0] for s in specs], dtype=float)
    high = np.array([s.range[1] for s in specs], dtype=float)
    values = low + unit * (high - low)
    draws = posterior()
    rows = np.random.default_rng(config.seed + 1).integers(0, len(draws), config.samples) if draws is not None else None
    points = []
    for i, row in enumerate(values):
        point = {s.name: s.check(round(v) if s.type == "int" else float(v)) for s, v in zip(specs, row, strict=True)}
        if rows is not None:
            point.update({k: catalogue()[k].check(float(v)) for k, v in draws.iloc[rows[i]].items()})
        points.append(point)
    return points


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
        "parameters": {"n_communities": config.n_communities},
        "replicates": replicates,
        "seed": seed,
        "outputs": {"months": "all", "columns": decision_outcomes()},
    }
    if design is not None:
        raw["design"] = design
    if "baseline" in programs:
        raw["baseline"] = "baseline"
    return spec_from_dict(raw, f"robustness {part}", folder("experiments"))


def specs(config: Config, top: Sequence[str] | None = None) -> dict[str, Any]:
    """The experiments of the analysis (the Sobol one only once the screen's `top` parameters are known)."""
    names = assumptions(config)
    everything = ("baseline", "P1", "P2", "P3", "all")
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
            list(PROGRAMS),
            config.screening_regimes,
            1,
            {
                "kind": "morris",
                "parameters": names,
                "trajectories": config.trajectories,
                "levels": config.levels,
                "seed": config.seed + 2,
            },
            config.seed + 3,
        ),
    }
    if top:
        out["sobol"] = _spec(config, "sobol", list(PROGRAMS), config.sobol_regimes, 1,
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
    """A hash of everything a run's numbers depend on: the simulator's code and data/.

    Left out: the report code, figures, report languages and this module, whose analysis reads
    the runs but does not make them (the designs it builds are guarded by the batch store, which
    refuses to resume a changed spec). So a change to the analysis, reports, docs or tests keeps
    the fingerprint and a long analysis can be resumed across it; any change to the model or its
    data starts afresh.
    """
    import hashlib

    import sim
    from sim.resources import folder

    code = Path(sim.__file__).resolve().parent
    analysis_only = {"figures.py", "lang.py", "fonts.py", "robustness.py"}
    files = [p for p in sorted(code.rglob("*.py")) if "report" not in p.relative_to(code).parts and p.name not in analysis_only]
    files += sorted(p for p in folder("data").rglob("*") if p.is_file() and p.suffix != ".pyc")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


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


def program_scores(table: pd.DataFrame, regimes: Sequence[str], s: Settings, reference: str = "baseline") -> pd.DataFrame:
    """Overall score of every program condition against `reference` ('baseline', or 'P3' for contrasts), per run.

    Columns: regime, program, design_point, replicate, overall. With reference 'P3' the
    scores are P1 - P3 and P2 - P3 (the baseline cancels from every contrast).
    """
    outcomes = [o for o in decision_outcomes() if o in table.columns]
    frames = []
    for regime in regimes:
        ref = "baseline" if reference == "baseline" else condition_name(reference, regime)
        names = [n for n in table["scenario"].unique() if regime_of(n) == regime or n == ref]
        part = table[table["scenario"].isin(names)]
        if ref not in set(part["scenario"]):
            continue
        sc = decision.scores(decision.integrated_effects(part, ref, outcomes, s), s)
        sc["program"] = sc["scenario"].str.split(".").str[0]
        frames.append(sc.assign(regime=regime)[["regime", "program", GROUP, "replicate", "overall"]])
    return pd.concat(frames, ignore_index=True)


def contrasts(table: pd.DataFrame, regimes: Sequence[str], s: Settings) -> pd.DataFrame:
    """P1-P2, P1-P3 and P2-P3 of the overall score per run (regime, design point, replicate), long format."""
    against_p3 = program_scores(table, regimes, s, reference="P3")
    wide = against_p3.pivot_table(index=["regime", GROUP, "replicate"], columns="program", values="overall")
    wide["P3"] = 0.0
    rows = [wide[a] - wide[b] for a, b in CONTRASTS]
    out = pd.concat(rows, axis=1, keys=[f"{a}-{b}" for a, b in CONTRASTS]).reset_index()
    return out.melt(id_vars=["regime", GROUP, "replicate"], var_name="contrast", value_name="value").dropna()


def complete_points(table: pd.DataFrame, spec: Any, failed: Mapping[str, str]) -> set[int]:
    """Design points none of whose runs failed or is missing."""
    expected = len(spec.scenarios) * spec.replicates
    counts = table.groupby(GROUP)["run_id"].nunique()
    bad = {int(run.split("-")[-2]) for run in failed}
    return {int(p) for p, n in counts.items() if n == expected and p not in bad}


# --- propagation -------------------------------------------------------------------------------
def p_best_table(scores: pd.DataFrame, label: str) -> pd.DataFrame:
    """P(each program alone best) per regime over all (design point, replicate) futures, with a 95% interval.

    The interval (Wilson, `statsmodels.stats.proportion.proportion_confint`) is for the share as
    an estimate from a finite sample of futures. It counts each independent draw once: a design
    point (one draw of the assumptions) when there are several, since its seeds share that
    draw; each seed when every assumption is held at one point (seeds only). It says how
    precisely the sample pins the share down, not how likely the assumptions' ranges are.
    """
    from statsmodels.stats.proportion import proportion_confint

    alone = scores[scores["program"].isin(list(PROGRAMS))]
    wide = alone.pivot_table(index=["regime", GROUP, "replicate"], columns="program", values="overall").dropna()
    best = wide.eq(wide.max(axis=1), axis=0)
    per_future = best.div(best.sum(axis=1), axis=0)  # ties share the win
    share = per_future.groupby(level="regime").mean()
    several_points = wide.index.get_level_values(GROUP).nunique() > 1
    per_draw = per_future.groupby(level=["regime", GROUP] if several_points else ["regime", GROUP, "replicate"]).mean()
    draws = per_draw.groupby(level="regime").size()
    wins = per_draw.groupby(level="regime").sum().reindex(share.index)
    low, high = proportion_confint(wins.to_numpy(), draws.reindex(share.index).to_numpy()[:, None], method="wilson")
    out = share.reset_index().melt(id_vars="regime", var_name="program", value_name="p_best")
    for name, values in (("p_best_low", low), ("p_best_high", high)):
        out[name] = pd.DataFrame(values, index=share.index, columns=share.columns).reset_index().melt(id_vars="regime")["value"]
    return out.assign(uncertainty=label, futures=int(wide.groupby(level="regime").size().iloc[0]),
                      independent_draws=int(draws.iloc[0]))  # fmt: skip


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
    """Apply `analyse(Y, ok)` to each regime and contrast of a design experiment (one replicate per point)."""
    values = contrasts(table, regimes, s)
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

    d = spec.design
    X = morris.sample(d.salib_problem(), d.settings["trajectories"], num_levels=d.settings["levels"], seed=d.settings["seed"])
    rounded = np.array([[p[n] for n in d.names] for p in d.points], dtype=float)
    integer = [catalogue()[n].type == "int" for n in d.names]
    if not np.allclose(np.where(integer, np.round(X), X), rounded):
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
        for name, (low, high) in self.limits.items():
            spec = catalogue()[name]
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


def prim_box(x: pd.DataFrame, y: np.ndarray, threshold: float = 0.8) -> Box | None:
    """The PRIM box (EMA Workbench) of highest coverage among those of density >= threshold (ties: fewest restrictions)."""
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
    best = dense.sort_values(["coverage", "res_dim"], ascending=[False, True]).index[0]
    limits = found.box_lims[int(best)]
    full = found.box_lims[0]
    restricted = {c: (float(limits.loc[0, c]), float(limits.loc[1, c])) for c in x.columns
                  if limits.loc[0, c] > full.loc[0, c] or limits.loc[1, c] < full.loc[1, c]}  # fmt: skip
    row = trajectory.loc[best]
    return Box(restricted, float(row["coverage"]), float(row["density"]), float(row["mass"]))


def scenario_discovery(scores: pd.DataFrame, points: Sequence[Mapping[str, Any]], names: Sequence[str],
                       config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Where each other program beats the expected-value leader: PRIM boxes per regime (tidy), and the futures."""
    alone = scores[scores["program"].isin(list(PROGRAMS))]
    by_future = alone.groupby(["regime", GROUP, "program"])["overall"].mean().unstack("program")
    x_all = pd.DataFrame([{n: p[n] for n in names} for p in points])
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
                restrictions = "; ".join(f"{k}: {lo:.4g}..{hi:.4g}" for k, (lo, hi) in box.limits.items())
                sentence = box.sentence(other, leader, regime)
                row.update(
                    coverage=box.coverage, density=box.density, mass=box.mass, sentence=sentence, restrictions=restrictions
                )
            boxes.append(row)
    return pd.DataFrame(boxes), pd.concat(futures, ignore_index=True) if futures else pd.DataFrame()


# --- everything --------------------------------------------------------------------------------
def analyse(results: Results, settings: Settings | None = None) -> dict[str, pd.DataFrame]:
    """Every table of the robustness analysis, tidy (long) format."""
    s = settings or decision.settings()
    cfg, t, sp, failed = results.config, results.tables, results.specs, results.failed
    names = assumptions(cfg)
    prop_ok = complete_points(t["propagation"], sp["propagation"], failed["propagation"])
    propagation = t["propagation"][t["propagation"][GROUP].isin(prop_ok)]
    scores = program_scores(propagation, cfg.regimes, s)
    nominal = program_scores(t["nominal"], cfg.regimes, s)
    p_best = pd.concat([p_best_table(scores, "parameters and seeds"), p_best_table(nominal, "seeds only")], ignore_index=True)
    values = contrasts(propagation, cfg.regimes, s)
    boxes, futures = scenario_discovery(scores, sp["propagation"].design.points, names, cfg)
    tables = {
        "p_best": p_best,
        "variance": variance_shares(values),
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
        rows.append({"regime": regime, "leader": leader, "runner_up": runner,
                     **_p_best_of(p, regime, "parameters and seeds", leader, "p_best_assumptions"),
                     **_p_best_of(p, regime, "seeds only", leader, "p_best_seeds_only"),
                     "decisive": found.parameter if found else None, "decisive_by": found.index if found else None,
                     "decisive_tied": found.tied_with if found else None,
                     "decisive_direction": found.direction if found else 0,
                     "share_from_assumptions": share, "minimax_regret": block["minimax_regret_choice"].iloc[0]})  # fmt: skip
    order = {regime: i for i, regime in enumerate(REGIMES)}
    return pd.DataFrame(rows).sort_values("regime", key=lambda r: r.map(order), kind="stable", ignore_index=True)


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
    """The robustness report's opening: the answer per regime once every assumption is uncertain (report language).

    `seconds` is this session's time; `resumed` runs were found done in the store and are not in it.
    """
    from sim import lang
    from sim.lang import t

    lead = leaders(tables)
    lines = []
    if config.name.endswith(("_tiny", "_small")):
        scale = config.name.rsplit("_", 1)[1]
        lines += [t(f"*This is the `{scale}` scale ({runs:,} runs): a quick look, not the analysis "
                    "(`make report-robustness` runs the default scale).*",
                    f"*这是 `{scale}` 规模({runs:,}次运行):只是快速查看,不是正式分析(`make report-robustness` 运行默认规模)。*"),
                  ""]  # fmt: skip
    lines += [
        t("## The answer with every assumption uncertain", "## 所有假设均不确定时的结论"),
        "",
        t(
            "Metric: the overall score of each program alone (2024–2030, discounted; `docs/decision.md`). *P(best)* is the "
            "share of futures — sampled assumptions and seeds — in which a program scores highest; the seeds-only figure "
            "holds every assumption at its central value. In brackets: a 95% interval for that share as estimated from "
            "this many sampled futures (Wilson; each draw of the assumptions counted once, its seeds together).",
            "指标:每项工程单独实施时的总体得分(2024–2030,贴现;`docs/decision.md`)。*P(最优)* 是在抽样情景(抽样的假设与种子)中"
            '某工程得分最高的比例;"仅随机种子"一栏把所有假设固定在中心值。方括号内为按所抽情景数估计该比例的95%区间'
            "(Wilson 法;每次假设抽样计一次,其各随机种子合并计)。",
        ),
        "",
        t(
            "| persistence | fund (expected value) | P(best), seeds only | P(best), assumptions uncertain "
            "| robust choice (minimax regret) "
            "| assumption that most changes leader-vs-runner-up | share of that contrast's variance from assumptions |",
            "| 持续性 | 应资助(期望值) | P(最优),仅随机种子 | P(最优),假设不确定 | 稳健选择(最小最大遗憾) "
            "| 最能改变领先者与第二名之差的假设 | 该对比方差中来自假设的比例 |",
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for r in lead.itertuples():
        lines.append(
            f"| **{lang.regime_with_default(r.regime)}** | **{r.leader}** ({t('runner-up', '第二名')} {r.runner_up}) | "
            f"{share_with_interval(r.p_best_seeds_only, r.p_best_seeds_only_low, r.p_best_seeds_only_high)} | "
            f"{share_with_interval(r.p_best_assumptions, r.p_best_assumptions_low, r.p_best_assumptions_high)} | "
            f"{r.minimax_regret} | {decisive_text(r)} | "
            f"{r.share_from_assumptions:.0%} |"
        )
    flips = tables["prim"].get("sentence", pd.Series(dtype=str)).dropna()
    lines += [
        "",
        t("**Where the answer flips** (PRIM boxes over the sampled futures):", "**结论在哪里翻转**(抽样情景上的 PRIM 盒):"),
        "",
    ]
    lines += [f"- {s}." for s in flips] or [
        t("- In no region of the sampled assumptions does another program beat the leader often enough to form a box.",
          "- 在抽样假设的任何区域,都没有另一项工程足够频繁地胜过领先者而形成一个盒。")
    ]  # fmt: skip
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
            f"*What this covers:* {assumptions} assumption parameters, each uniform "
            f"over its plausible range, jointly; the fitted parameters {fitted_source()}; run-to-run randomness. It does not "
            "cover the article's figures themselves (they set the state and the calibration targets) or the model's structure. "
            f"{timing}. **Every input is one policy article's figure that cannot be "
            "verified**: scenario exploration, not a forecast.",
            f"*涵盖范围:* {assumptions}个假设参数,各自在合理范围内均匀联合抽样;拟合参数 {fitted_source()};运行间随机性。"
            "不包括文章数据本身(它们决定初始状态和校准目标)以及模型结构。"
            f"{timing}。**所有输入都来自一篇无法核实的政策文章**:是情景探索,而非预测。",
        ),
    ]
    return "\n".join(lines)


def prim_text(tables: Mapping[str, pd.DataFrame]) -> str:
    from sim.lang import t

    boxes = tables["prim"]
    lines = []
    for r in boxes.itertuples():
        sentence = getattr(r, "sentence", None)
        if isinstance(sentence, str):
            lines.append(f"- {sentence}.")
        else:
            lines.append(t(f"- {r.challenger} beats {r.leader} ({r.regime}) in {r.share_of_futures:.0%} of the sampled futures: "
                           "too rarely or too diffusely for a box of the required density.",
                           f"- {r.challenger} 在 {r.share_of_futures:.0%} 的抽样情景中胜过 {r.leader}({r.regime}):"
                           "过于少见或过于分散,无法形成满足密度要求的盒。"))  # fmt: skip
    return "\n".join(lines) or t("No comparisons.", "无比较。")


def prim_figures(tables: Mapping[str, pd.DataFrame], figures: Any) -> list[tuple[str, Any]]:
    """One two-parameter figure per PRIM box: the futures in its two most restricted parameters."""
    out = []
    futures = tables["futures"]
    for r in tables["prim"].itertuples():
        if not isinstance(getattr(r, "restrictions", None), str):
            continue
        limits = {}
        for part in r.restrictions.split("; "):
            name, span = part.split(": ")
            low, high = (float(v) for v in span.split(".."))
            limits[name] = (low, high)
        names = list(limits)[:2]
        if len(names) == 1:  # one restriction: pair it with the most influential other parameter
            others = [p for p in tables["morris"].sort_values("rank")["parameter"] if p not in names]
            names.append(others[0])
        full = {n: limits.get(n, catalogue()[n].range) for n in names}
        rows = futures[(futures["regime"] == r.regime) & (futures["challenger"] == r.challenger)]
        title = f"{r.challenger} beats {r.leader} ({r.regime}): coverage {r.coverage:.0%}, density {r.density:.0%}"
        fig = figures.prim_pair(rows, names[0], names[1], full, title, r.challenger)
        out.append((f"prim_{r.regime}_{r.challenger}", fig))
    return out
