"""The posterior of the fitted parameters by ABC-SMC (`sim calibrate --method abc`, pyabc).

- **Prior**: uniform over each parameter's plausible range in data/parameters.yaml (the
  calibration's parameters: data/calibration.yaml, dynamic and index blocks).
- **Model**: a particle runs every contrast the figures need on one fresh seed - common
  random numbers *within* a particle, so each contrast is paired; new ones *between*
  particles, so the posterior carries the simulation noise - and returns the moments of
  every figure that is not held out.
- **Distance**: Euclidean on the moments, each divided by its standard deviation over
  `pilot_seeds` runs at the point fit (one particle's simulation noise), so a moment counts
  by how far it is from the figure in units of its own noise.
- **Run**: pyabc's ABCSMC (adaptive median epsilon, multivariate normal transitions), in a
  SQLite database that a later call continues (`--resume`) after an interruption; stops
  after `generations` populations or `minutes` of wall time. Progress is logged per
  population.
- **Output**: the last population resampled by weight into `draws` equally likely draws
  (data/posterior.parquet, with its provenance in the Parquet metadata) and a summary
  (data/posterior.yaml: quantiles, correlations, the epsilon schedule, time and load).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.calibration import Config, moments, per_seed, run_lengths, simulate_runs
from sim.errors import InputError
from sim.output import write_table
from sim.parameters import catalogue, default_values
from sim.posterior import DRAW_COLUMN, POSTERIOR_FILE
from sim.provenance import provenance

DEFAULT_DB = Path("results") / "calibration" / "abc.db"  # like batch stores: under the working folder
PILOT_SEED_BASE = 10_000  # pilot seeds for the distance scales: not the fit's, the report's or a particle's


@dataclass
class AbcResult:
    draws: pd.DataFrame
    summary: dict[str, Any]
    path: Path
    seconds: float


class ParticleModel:
    """What pyabc calls for each particle: every contrast on one fresh seed, the moments back."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.figures = [f for f, t in config.targets.items() if t.in_fit]
        self.lengths = run_lengths(config, self.figures)

    def __call__(self, parameters: Mapping[str, float]) -> dict[str, float]:
        seed = int(np.random.randint(0, 2**31 - 1))
        values = {name: float(parameters[name]) for name in self.config.parameters}
        runs = simulate_runs(self.config, values, None, [seed], self.lengths)
        return moments(self.config, runs, self.figures)


def pilot_scales(config: Config, values: Mapping[str, float], seeds: int, workers: int = 2) -> dict[str, float]:
    """Standard deviation of each fitted figure's one-seed moment at `values` (the distance's scales)."""
    from sim.calibration import _pool

    figures = [f for f, t in config.targets.items() if t.in_fit]
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
        **{n: pyabc.RV("uniform", specs[n].range[0], specs[n].range[1] - specs[n].range[0]) for n in config.parameters}
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
    point: Mapping[str, float] | None = None,
    log: Callable[[str], None] = print,
    progress: bool = False,
) -> AbcResult:
    """Run (or continue) ABC-SMC and write the posterior draws and their summary."""
    import pyabc

    started = time.perf_counter()
    load_start = os.getloadavg()
    settings = config.abc
    settings = replace(
        settings,
        **{k: v for k, v in {"population": population, "generations": generations, "minutes": minutes}.items() if v is not None},
    )
    db, out = Path(db), Path(out)
    if not out.parent.is_dir():
        raise InputError(f"--posterior {out}: folder {out.parent} does not exist")
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
        point = dict(point) if point is not None else {n: float(default_values()[n]) for n in config.parameters}
        log(f"distance scales: {settings.pilot_seeds} pilot runs of every contrast at the point fit")
        scales = pilot_scales(config, point, settings.pilot_seeds, workers)
        log("  " + ", ".join(f"{f} {s:.4g}" for f, s in scales.items()))
        state = {
            "fingerprint": fingerprint,
            "config": str(config.source),
            "population": settings.population,
            "scales": scales,
            "point": point,
            "observed": {f: config.targets[f].value for f in scales},
            "sessions": [],
        }
    observed = {f: config.targets[f].value for f in scales}
    distance = pyabc.PNormDistance(p=2, fixed_weights={f: 1 / s for f, s in scales.items()})
    sampler = pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers) if workers > 1 else pyabc.sampler.SingleCoreSampler()
    sampler.show_progress = progress
    deadline = started + 60 * settings.minutes
    abc_class = _timed_abcsmc(deadline, started, settings.generations, log)
    abc = abc_class(ParticleModel(config), prior(config), distance, population_size=settings.population, sampler=sampler)
    url = f"sqlite:///{db.resolve()}"
    history = abc.load(url, 1, observed) if resume else abc.new(url, observed)
    done = history.max_t + 1
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
        if remaining > 0:
            np.random.seed((settings.seed + 7919 * done) % 2**32)  # reproducible with one worker; workers reseed themselves
            log(
                f"ABC-SMC: population {settings.population}, generations {done + 1}-{settings.generations}, "
                f"at most {settings.minutes:g} minutes, {workers} worker(s); database {db}"
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
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    frame = frame[config.parameters]
    rng = np.random.default_rng(settings.seed)
    rows = rng.choice(len(frame), size=settings.draws, replace=True, p=weights / weights.sum())
    draws = frame.iloc[rows].reset_index(drop=True)
    draws.insert(0, DRAW_COLUMN, np.arange(len(draws)))
    populations = history.get_all_populations()
    schedule = [
        {
            "generation": int(r.t) + 1,
            "epsilon": float(r.epsilon),
            "simulations": int(r.samples),
            "acceptance": float(settings.population / r.samples) if r.samples else None,
        }
        for r in populations.itertuples()
        if r.t >= 0
    ]
    ess = float(weights.sum() ** 2 / (weights**2).sum())
    seconds = sum(s["seconds"] for s in state["sessions"])
    summary = {
        "method": "ABC-SMC (pyabc): uniform priors over the plausible ranges, adaptive median epsilon, "
        "multivariate normal transitions; Euclidean distance on the fitted and matched figures' moments, "
        "each scaled by its one-seed simulation standard deviation at the point fit",
        "parameters": {
            n: {
                "prior": list(catalogue()[n].range),
                "point_fit": round(float(default_values()[n]), 6) if n in default_values() else None,
                "median": round(float(draws[n].median()), 6),
                "mean": round(float(draws[n].mean()), 6),
                "p05": round(float(draws[n].quantile(0.05)), 6),
                "p95": round(float(draws[n].quantile(0.95)), 6),
            }
            for n in config.parameters
        },
        "correlations": {
            a: {b: round(float(v), 3) for b, v in row.items()} for a, row in draws[config.parameters].corr().iterrows()
        },
        "figures_in_distance": list(scales),
        "scales": {f: round(s, 6) for f, s in scales.items()},
        "population": settings.population,
        "generations": history.max_t + 1,
        "generations_asked": settings.generations,
        "minutes_per_session": settings.minutes,
        "schedule": schedule,
        "simulations": int(history.total_nr_simulations),
        "effective_sample_size": round(ess, 1),
        "draws": settings.draws,
        "draw_seed": settings.seed,
        "pilot_seeds": [PILOT_SEED_BASE, PILOT_SEED_BASE + settings.pilot_seeds - 1],
        "n_communities": config.n_communities,
        "config": str(config.source),
        "config_fingerprint": fingerprint,
        "database": str(db),
        "sessions": state["sessions"],
        "wall_seconds": round(seconds, 1),
    }
    record = provenance(pyabc=_version("pyabc"), scipy=_version("scipy"), posterior=summary)
    write_table(draws, out, provenance=record)
    out.with_suffix(".yaml").write_text(
        yaml.safe_dump(
            {
                "description": "Summary of data/posterior.parquet (sim calibrate --method abc).",
                **summary,
                "provenance": {k: v for k, v in record.items() if k != "posterior"},
            },
            sort_keys=False,
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return AbcResult(draws, summary, out, time.perf_counter() - started)


def _timed_abcsmc(deadline: float, started: float, generations: int, log: Callable[[str], None]):
    """pyabc's ABCSMC that does not start a population that would end past `deadline`.

    pyabc checks its wall-time limit only between populations, and later populations take
    longer (acceptance falls): after each population, the run stops if 1.5 times that
    population's duration would pass the limit. (One `run` call for all populations: a
    second call on the same object would restart epsilon from the first calibration sample.)
    """
    import pyabc

    class TimedABCSMC(pyabc.ABCSMC):
        def run_generation(self, t: int) -> dict:
            begun = time.perf_counter()
            result = super().run_generation(t)
            self.last_duration = time.perf_counter() - begun
            log(
                f"population {t + 1} of {generations} done in {self.last_duration:.0f} s "
                f"({(time.perf_counter() - started) / 60:.1f} min so far)"
            )
            return result

        def check_terminate(self, t: int, acceptance_rate: float) -> bool:
            if super().check_terminate(t, acceptance_rate):
                return True
            if time.perf_counter() + 1.5 * getattr(self, "last_duration", 0.0) > deadline:
                log(f"stopping after population {t + 1}: the next would pass the time limit")
                return True
            return False

    return TimedABCSMC


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


__all__ = ["AbcResult", "ParticleModel", "interval", "pilot_scales", "prior", "run_abc"]
