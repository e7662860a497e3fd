"""The calibration posterior by ABC-SMC (`sim calibrate`, pyabc), and the values every run uses.

- **Prior**: uniform over each *dynamic* parameter's plausible range in data/parameters.yaml
  (data/calibration.yaml, `dynamic`: what changes what happens to cadres).
- **Model**: a particle runs the contrasts the fitted figures need on one fresh seed, as
  blocks of one model - common random numbers *within* a particle, so each contrast is
  paired; new ones *between* particles, so the posterior carries the simulation noise - and
  returns the fitted figures' moments.
- **Distance**: Euclidean on the moments, each divided by its standard deviation over
  `pilot_seeds` runs at the prior's centre (one particle's simulation noise). A particle at the
  truth is then about sqrt(k) away for k figures: the *noise floor*.
- **Stopping rule**: after the first population whose threshold is within `floor_multiple` x
  the noise floor; or at `generations` populations or `minutes` of wall time. Resumable from
  its SQLite database.
- **Then**: the last population resampled by weight into `draws` equally likely draws; the
  index parameters (matched by construction) solved for each draw on a seed of its own, so
  each draw matches F01, F02, F41, F42 and F44 under its own dynamics; the posterior median of
  the dynamic block becomes the point values (data/calibrated.yaml, every variant's index
  parameters solved there). Written: data/posterior.parquet (provenance in its metadata),
  data/posterior.yaml (quantiles, correlations, the threshold schedule, effective sample size,
  why it stopped, time and load) and data/calibrated.yaml.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.calibration import (
    Config,
    Result,
    _pool,
    evaluate,
    moments,
    per_seed,
    run_lengths,
    simulate_runs,
    solve_index_parameters,
    write_calibrated,
)
from sim.errors import InputError
from sim.output import write_table
from sim.parameters import catalogue
from sim.posterior import DRAW_COLUMN, POSTERIOR_FILE
from sim.provenance import provenance

DEFAULT_DB = Path("results") / "calibration" / "abc.db"  # like batch stores: under the working folder
PILOT_SEED_BASE = 10_000  # pilot seeds for the distance scales: not the fit's, the report's or a particle's
DRAW_SEED_BASE = 20_000  # draw i's index parameters are solved on seed DRAW_SEED_BASE + i


@dataclass
class AbcResult:
    draws: pd.DataFrame
    summary: dict[str, Any]
    path: Path
    seconds: float
    point: Result | None = None  # the evaluation at the posterior median, when it was made


class ParticleModel:
    """What pyabc calls for each particle: the fitted figures' contrasts on one fresh seed, the moments back."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.figures = list(config.dynamic_targets)
        self.lengths = run_lengths(config, self.figures)

    def __call__(self, parameters: Mapping[str, float]) -> dict[str, float]:
        seed = int(np.random.randint(0, 2**31 - 1))
        values = {name: float(parameters[name]) for name in self.config.dynamic_parameters}
        runs = simulate_runs(self.config, values, None, [seed], self.lengths)
        return moments(self.config, runs, self.figures)


def prior_centre(config: Config) -> dict[str, float]:
    """The middle of each dynamic parameter's plausible range."""
    return {n: float(np.mean(catalogue()[n].range)) for n in config.dynamic_parameters}


def pilot_scales(config: Config, values: Mapping[str, float], seeds: int, workers: int = 2) -> dict[str, float]:
    """Standard deviation of each fitted figure's one-seed moment at `values` (the distance's scales)."""
    figures = list(config.dynamic_targets)
    with _pool(workers) as pool:
        runs = simulate_runs(config, values, pool, range(PILOT_SEED_BASE, PILOT_SEED_BASE + seeds), run_lengths(config, figures))
    table = per_seed(config, runs, figures)
    scales = {}
    for f in figures:
        sd = float(table[f].std(ddof=1))
        floor = 1e-6 * max(1.0, abs(config.targets[f].value))  # a moment that does not vary still needs a finite weight
        scales[f] = max(sd, floor)
    return scales


def prior(config: Config):
    import pyabc

    specs = catalogue()
    return pyabc.Distribution(
        **{n: pyabc.RV("uniform", specs[n].range[0], specs[n].range[1] - specs[n].range[0]) for n in config.dynamic_parameters}
    )


def run_abc(
    config: Config,
    *,
    workers: int = 2,
    db: Path | str = DEFAULT_DB,
    resume: bool = False,
    population: int | None = None,
    generations: int | None = None,
    minutes: float | None = None,
    out: Path | str = POSTERIOR_FILE,
    calibrated: Path | str | None = None,
    log: Callable[[str], None] = print,
    progress: bool = False,
) -> AbcResult:
    """Run (or continue) ABC-SMC, then write the posterior draws, their summary and (if `calibrated`) the point values."""
    started = time.perf_counter()
    settings = replace(
        config.abc,
        **{k: v for k, v in {"population": population, "generations": generations, "minutes": minutes}.items() if v is not None},
    )
    db, out = Path(db), Path(out)
    if not out.parent.is_dir():
        raise InputError(f"--posterior {out}: folder {out.parent} does not exist")
    history, state, stopped = _sample(config, settings, db, resume, workers, log, progress, started)
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    frame = frame[config.dynamic_parameters]
    rng = np.random.default_rng(settings.seed)
    rows = rng.choice(len(frame), size=settings.draws, replace=True, p=weights / weights.sum())
    draws = frame.iloc[rows].reset_index(drop=True)
    ess = float(weights.sum() ** 2 / (weights**2).sum())
    log(f"{settings.draws} draws from the last population (effective sample size {ess:.0f} of {len(frame)} particles)")
    with _pool(workers) as pool:
        point = None
        median = {n: float(draws[n].median()) for n in config.dynamic_parameters}
        if calibrated is not None:
            log("the point values: the posterior median of the dynamic block, index parameters solved for every variant")
            point = replace(evaluate(config, median, pool, log, method="abc"), seconds=time.perf_counter() - started)
            write_calibrated(config, point, calibrated)
            log(f"  written to {calibrated}")
        if config.index_parameters:
            log(f"index parameters of each of the {len(draws)} draws, each solved on a seed of its own")
            draws = _with_index_parameters(config, draws, pool)
    draws.insert(0, DRAW_COLUMN, np.arange(len(draws)))
    summary = _summary(config, settings, history, state, draws, ess, stopped, median)
    record = provenance(pyabc=_version("pyabc"), scipy=_version("scipy"), posterior=summary)
    write_table(draws, out, provenance=record)
    out.with_suffix(".yaml").write_text(
        yaml.safe_dump(
            {
                "description": "Summary of data/posterior.parquet (sim calibrate).",
                **summary,
                "provenance": {k: v for k, v in record.items() if k != "posterior"},
            },
            sort_keys=False,
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return AbcResult(draws, summary, out, time.perf_counter() - started, point)


def noise_floor(config: Config) -> float:
    """Distance of a particle at the truth, in units of one seed's noise: sqrt(number of fitted figures)."""
    return math.sqrt(len(config.dynamic_targets))


def _sample(config, settings, db: Path, resume: bool, workers: int, log, progress: bool, started: float):
    """The ABC-SMC run itself (new or resumed): its history, its state record and why it stopped."""
    import pyabc

    load_start = os.getloadavg()
    state_file = db.with_name(db.name + ".json")
    fingerprint = config.fingerprint()
    if resume:
        if not db.is_file() or not state_file.is_file():
            raise InputError(f"--resume: no ABC run to continue at {db}; leave out --resume to start one")
        state = json.loads(state_file.read_text(encoding="utf-8"))
        if state["fingerprint"] != fingerprint:
            raise InputError(f"--resume: {db} was started with another calibration configuration ({config.source} changed)")
        if state["population"] != settings.population:
            raise InputError(f"--resume: {db} was started with population {state['population']}, not {settings.population}")
        scales = state["scales"]
        log(f"continuing the ABC run in {db} ({state_file.name})")
    else:
        if db.exists():
            raise InputError(f"{db} already holds an ABC run: add --resume to continue it, or remove it to start again")
        db.parent.mkdir(parents=True, exist_ok=True)
        centre = prior_centre(config)
        log(f"distance scales: {settings.pilot_seeds} pilot runs of every contrast at the prior's centre")
        scales = pilot_scales(config, centre, settings.pilot_seeds, workers)
        log("  " + ", ".join(f"{f} {s:.4g}" for f, s in scales.items()))
        state = {
            "fingerprint": fingerprint,
            "config": str(config.source),
            "population": settings.population,
            "scales": scales,
            "pilot_values": centre,
            "observed": {f: config.targets[f].value for f in scales},
            "sessions": [],
        }
    observed = {f: config.targets[f].value for f in scales}
    distance = pyabc.PNormDistance(p=2, fixed_weights={f: 1 / s for f, s in scales.items()})
    sampler = pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers) if workers > 1 else pyabc.sampler.SingleCoreSampler()
    sampler.show_progress = progress
    deadline = started + 60 * settings.minutes
    rule = StoppingRule(noise_floor(config), settings.floor_multiple)
    abc_class = _timed_abcsmc(deadline, started, settings.generations, rule, log)
    abc = abc_class(ParticleModel(config), prior(config), distance, population_size=settings.population, sampler=sampler)
    url = f"sqlite:///{db.resolve()}"
    history = abc.load(url, 1, observed) if resume else abc.new(url, observed)
    done = history.max_t + 1
    for t in range(done):  # a resumed run: the rule sees the populations already made
        rule.record(float(history.get_all_populations().query("t == @t")["epsilon"].iloc[0]), _shift(history, t))
    remaining = settings.generations - done
    handler = _ProgressHandler(log, started)
    logger = logging.getLogger("ABC")
    own = list(logger.handlers)  # pyabc's own console handler: ours replaces it while we run
    for h in own:
        logger.removeHandler(h)
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    session = {"started_generations": done, "load_before": [round(x, 2) for x in load_start], "cores": os.cpu_count()}
    try:
        if rule.met():
            log(f"{db}: its last population already meets the stopping rule: writing the posterior")
        elif remaining > 0:
            np.random.seed((settings.seed + 7919 * done) % 2**32)  # reproducible with one worker; workers reseed themselves
            log(
                f"ABC-SMC: population {settings.population}, generations {done + 1}-{settings.generations}, "
                f"at most {settings.minutes:g} minutes, {workers} worker(s); noise floor {rule.floor:.2f}; database {db}"
            )
            if not resume:
                state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")
            history = abc.run(
                max_nr_populations=remaining, max_walltime=timedelta(seconds=max(1.0, deadline - time.perf_counter()))
            )
        else:
            log(f"{db} already has {done} of {settings.generations} generations: writing the posterior")
    finally:
        logger.removeHandler(handler)
        for h in own:
            logger.addHandler(h)
        logger.setLevel(old_level)
        session.update(seconds=round(time.perf_counter() - started, 1), load_after=[round(x, 2) for x in os.getloadavg()])
        session["generations_after"] = history.max_t + 1
        state["sessions"] = [*state.get("sessions", []), session]
        if state_file.parent.is_dir():
            state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")
    if history.max_t < 0:
        raise InputError(f"{db}: no population finished (raise --minutes)")
    if rule.met():
        stopped = "the stopping rule: the threshold reached the noise floor (times its multiple)"
    elif history.max_t + 1 >= settings.generations:
        stopped = f"the generation limit ({settings.generations}) before the stopping rule was met"
    else:
        stopped = "the time limit before the stopping rule was met"
    return history, state, stopped


@dataclass
class StoppingRule:
    """Stop once the threshold is within `multiple` x the noise floor (docs/ODD.md 8.6).

    The noise floor is the distance of a particle at the truth (sqrt of the number of figures,
    each scaled by one seed's noise): below it, a smaller threshold rejects particles for the
    luck of their seed rather than for their parameters. Each population's largest median
    shift (in posterior standard deviations) is recorded as a diagnostic.
    """

    floor: float
    multiple: float
    epsilons: list[float] = field(default_factory=list)
    shifts: list[float] = field(default_factory=list)  # per population from the second: the largest median shift

    def record(self, epsilon: float, shift: float | None) -> None:
        self.epsilons.append(float(epsilon))
        if shift is not None:
            self.shifts.append(float(shift))

    def met(self) -> bool:
        return bool(self.epsilons) and self.epsilons[-1] <= self.multiple * self.floor


def median_shift(before: pd.DataFrame, w_before: np.ndarray, after: pd.DataFrame, w_after: np.ndarray) -> float:
    """The largest move of a parameter's weighted median between two populations, in units of its weighted SD after."""
    shifts = []
    for name in after.columns:
        sd = float(np.sqrt(np.cov(after[name].to_numpy(), aweights=w_after)))
        moved = abs(_weighted_median(after[name], w_after) - _weighted_median(before[name], w_before))
        shifts.append(moved / sd if sd > 0 else 0.0)
    return max(shifts)


def _weighted_median(values: pd.Series, weights: np.ndarray) -> float:
    order = np.argsort(values.to_numpy())
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values.to_numpy()[order][np.searchsorted(cumulative, 0.5)])


def _timed_abcsmc(deadline: float, started: float, generations: int, rule: StoppingRule, log: Callable[[str], None]):
    """pyabc's ABCSMC that applies the stopping rule and does not start a population that would end past `deadline`.

    pyabc checks its wall-time limit only between populations, and later populations take
    longer (acceptance falls): after each population, the run stops if the next, predicted as
    this one's duration times its growth over the one before (at least 1), would pass the
    limit. (One `run` call for all populations: a second call on the same object would restart
    epsilon from the first calibration sample.)
    """
    import pyabc

    class TimedABCSMC(pyabc.ABCSMC):
        def run_generation(self, t: int) -> dict:
            begun = time.perf_counter()
            result = super().run_generation(t)
            self.durations = [*getattr(self, "durations", []), time.perf_counter() - begun]
            rule.record(self.eps(t), _shift(self.history, t))
            moved = f"; medians moved at most {rule.shifts[-1]:.2f} SD" if rule.shifts and t > 0 else ""
            log(
                f"population {t + 1} of at most {generations} done in {self.durations[-1]:.0f} s "
                f"(threshold {self.eps(t):.3g} = {self.eps(t) / rule.floor:.1f} x the noise floor{moved}; "
                f"{(time.perf_counter() - started) / 60:.1f} min so far)"
            )
            return result

        def check_terminate(self, t: int, acceptance_rate: float) -> bool:
            if rule.met():
                log(f"stopping after population {t + 1}: the threshold is within {rule.multiple:g} x the noise floor")
                return True
            if super().check_terminate(t, acceptance_rate):
                return True
            durations = getattr(self, "durations", [0.0])
            growth = max(1.0, durations[-1] / durations[-2]) if len(durations) > 1 and durations[-2] > 0 else 1.5
            if time.perf_counter() + durations[-1] * growth > deadline:
                log(f"stopping after population {t + 1}: the next would pass the time limit")
                return True
            return False

    return TimedABCSMC


def _shift(history, t: int) -> float | None:
    """How far the posterior moved from population t - 1 to t (`median_shift`), None for the first."""
    if t < 1:
        return None
    before, w_before = history.get_distribution(m=0, t=t - 1)
    after, w_after = history.get_distribution(m=0, t=t)
    return median_shift(before, np.asarray(w_before), after[before.columns], np.asarray(w_after))


def _solve_draw(job: tuple[Config, dict[str, float], int]) -> dict[str, float]:
    config, values, seed = job
    solved = solve_index_parameters(config, values, None, seeds=[seed])
    return {name: float(solved[name]) for name in config.index_parameters}


def _with_index_parameters(config: Config, draws: pd.DataFrame, pool) -> pd.DataFrame:
    """Each draw's index parameters, solved under its own dynamics on seed DRAW_SEED_BASE + draw."""
    jobs = [(config, {n: float(v) for n, v in row.items()}, DRAW_SEED_BASE + i) for i, row in draws.iterrows()]
    solved = list(pool.map(_solve_draw, jobs, chunksize=8)) if pool else [_solve_draw(job) for job in jobs]
    return pd.concat([draws, pd.DataFrame(solved, index=draws.index)], axis=1)


def _summary(config, settings, history, state, draws: pd.DataFrame, ess: float, stopped: str,
             median: Mapping[str, float]) -> dict[str, Any]:  # fmt: skip
    populations = history.get_all_populations()
    shifts = [_shift(history, t) for t in range(1, history.max_t + 1)]
    schedule = [
        {
            "generation": int(r.t) + 1,
            "epsilon": float(r.epsilon),
            "epsilon_over_noise_floor": float(r.epsilon) / noise_floor(config),
            "simulations": int(r.samples),
            "acceptance": float(settings.population / r.samples) if r.samples else None,
            "largest_median_shift_sd": round(shifts[int(r.t) - 1], 3) if 0 < r.t <= len(shifts) else None,
        }
        for r in populations.itertuples()
        if r.t >= 0
    ]
    names = [n for n in config.parameters if n in draws]
    return {
        "method": "ABC-SMC (pyabc) over the dynamic parameters: uniform priors over their plausible ranges, adaptive median "
        "epsilon, multivariate normal transitions; Euclidean distance on the fitted figures' moments, each scaled by its "
        "one-seed simulation standard deviation at the prior's centre. Index parameters solved per draw (matched by "
        "construction).",
        "parameters": {
            n: {
                "prior": list(catalogue()[n].range),
                "block": "dynamic" if n in config.dynamic_parameters else "index",
                "median": round(float(draws[n].median()), 6),
                "mean": round(float(draws[n].mean()), 6),
                "p05": round(float(draws[n].quantile(0.05)), 6),
                "p95": round(float(draws[n].quantile(0.95)), 6),
                "share_of_prior_90": round(float(np.ptp(draws[n].quantile([0.05, 0.95])) / np.ptp(catalogue()[n].range)), 3),
                "at_bound_share": round(float(draws[n].isin(catalogue()[n].range).mean()), 3),
            }
            for n in names
        },
        "point_values": {n: round(v, 6) for n, v in median.items()},
        "correlations": {a: {b: round(float(v), 3) for b, v in row.items()} for a, row in draws[names].corr().iterrows()},
        "figures_in_distance": list(state["scales"]),
        "scales": {f: round(s, 6) for f, s in state["scales"].items()},
        "noise_floor": round(noise_floor(config), 4),
        "stopping_rule": {"floor_multiple": settings.floor_multiple},
        "stopped_by": stopped,
        "population": settings.population,
        "generations": history.max_t + 1,
        "generations_asked": settings.generations,
        "minutes_per_session": settings.minutes,
        "schedule": schedule,
        "simulations": int(history.total_nr_simulations),
        "effective_sample_size": round(ess, 1),
        "draws": settings.draws,
        "distinct_particles_in_draws": int(draws[config.dynamic_parameters].drop_duplicates().shape[0]),
        "draw_seed": settings.seed,
        "index_seeds": [DRAW_SEED_BASE, DRAW_SEED_BASE + settings.draws - 1],
        "pilot_seeds": [PILOT_SEED_BASE, PILOT_SEED_BASE + settings.pilot_seeds - 1],
        "n_communities": config.n_communities,
        "config": str(config.source),
        "config_fingerprint": config.fingerprint(),
        "sessions": state["sessions"],
        "wall_seconds": round(sum(s["seconds"] for s in state["sessions"]), 1),
    }


class _ProgressHandler(logging.Handler):
    def __init__(self, log: Callable[[str], None], started: float) -> None:
        super().__init__(logging.INFO)
        self.log, self.started = log, started

    def emit(self, record: logging.LogRecord) -> None:
        elapsed = time.perf_counter() - self.started
        self.log(f"  [{int(elapsed // 60):02d}:{elapsed % 60:04.1f}] {record.getMessage()}")


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def interval(draws: pd.Series, level: float = 0.9) -> tuple[float, float]:
    tail = (1 - level) / 2
    return float(draws.quantile(tail)), float(draws.quantile(1 - tail))


__all__ = ["AbcResult", "ParticleModel", "StoppingRule", "interval", "pilot_scales", "prior", "run_abc"]
