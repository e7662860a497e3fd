"""Command line: `sim run`, `sim compare`, `sim params`, `sim programs`, `sim report`, batch commands.

Bad input of any kind ends with one line on stderr naming what is wrong, and exit code 2.
Each command imports what it needs when it runs, so `sim --help` and `sim --version` start
without loading Mesa, pandas or the report tools.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from sim import __version__
from sim.batch import commands as batch_commands
from sim.checks import clip
from sim.errors import InputError, RunError, Terminated

app = typer.Typer(
    help="Policy simulator for China's community reserve cadres (社区后备干部). "
    "Inputs are one article's unverified figures: results explore scenarios, they do not forecast.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="NAME=VALUE", help="Override a parameter (repeatable). See `sim params`."),
]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"cadre-sim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Policy simulator for China's community reserve cadres (社区后备干部).

    Inputs are one article's unverified figures: results explore scenarios, they do not forecast.
    """


def needs(extra: str, *modules: str) -> None:
    """Stop with one line if an optional dependency group (pyproject's extras) is not installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(
            f"this command needs the optional dependencies cadre-sim[{extra}] ({', '.join(missing)} not installed): "
            f"pip install 'cadre-sim[{extra}]'"
        )


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, cut to a sane length, then exit (2: bad input, 1: a runtime failure)."""
    typer.echo(f"error: {clip(message)}", err=True)
    raise typer.Exit(code)


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn InputError (and a missing file) into one line and exit 2; RunError and OS errors into one line and exit 1;
    Ctrl-C and SIGTERM into exit 130 and 143 once the command's `finally` blocks have saved what is done."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as error:
            fail(str(error))
        except FileNotFoundError as error:
            fail(f"{error.filename}: file not found")
        except RunError as error:
            fail(str(error), 1)
        except OSError as error:  # a full disk, a folder that became unwritable, ...
            where = f"{error.filename}: " if error.filename else ""
            fail(f"{where}{error.strerror or error}; nothing half-written was left; fix that and run again", 1)
        except (KeyboardInterrupt, Terminated) as error:
            stopped(error)

    return wrapper


def stopped(error: BaseException) -> None:
    """Exit 130 after Ctrl-C, 143 after SIGTERM, ignoring any further signal while exiting (what was finished is
    saved by then: the commands' `finally` blocks ran)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    terminated = isinstance(error, Terminated)
    typer.echo("terminated (SIGTERM)" if terminated else "interrupted", err=True)
    raise typer.Exit(Terminated.exit_code if terminated else 130)


def _overrides(assignments: list[str] | None) -> dict[str, Any]:
    from sim.scenario import parse_assignment

    return dict(parse_assignment(a) for a in assignments or [])


@app.command()
@friendly
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario: a name in data/scenarios/ (talent_foundation) or a YAML file")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same numbers).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write the monthly table here (.csv or .parquet).")] = None,
    draw: Annotated[
        int | None, typer.Option(help="Take the fitted parameters from this draw of the posterior (data/posterior.parquet).")
    ] = None,
    set_: SetOption = None,
) -> None:
    """Run one scenario from one seed and print a short summary."""
    import pandas as pd

    from sim.columns import column, decision_outcomes
    from sim.output import write_table
    from sim.scenario import load_scenario
    from sim.simulate import simulate

    loaded = load_scenario(scenario, _overrides(set_))
    if draw is not None:
        from sim.posterior import apply_draw

        loaded = loaded.with_parameters(apply_draw(loaded.parameters, draw), f"--draw {draw}")
    if out is not None:
        write_table(pd.DataFrame(), out, check_only=True)
    started = time.perf_counter()
    table = simulate(loaded, seed=seed)
    elapsed = time.perf_counter() - started
    if out is not None:
        record = {"scenario": loaded.describe(), "seed": seed, **({"posterior_draw": draw} if draw is not None else {})}
        write_table(table, out, provenance=record)
    end = table.iloc[-1]
    programs = ", ".join(f"{p.id} {p.start}-{p.end}" for p in loaded.programs) or "none"
    typer.echo(
        f"scenario {loaded.name} (programs: {programs}; after each window: {loaded.parameters.persistence}), seed {seed}: "
        f"{loaded.parameters.n_communities} communities, {len(table) - 1} months in {elapsed:.2f} s"
        + (f"; fitted parameters from posterior draw {draw}" if draw is not None else "")
    )
    typer.echo(f"June 2023 -> {end['date']:%B %Y} (shares in %):")
    for name in decision_outcomes():
        spec = column(name)
        label = f"{spec.label} ({spec.unit}; {spec.better} is better)"
        typer.echo(f"  {label:<74} {table[name].iloc[0] * spec.scale:>9.2f} -> {end[name] * spec.scale:>9.2f}")
    if out is not None:
        typer.echo(f"monthly table written to {out}")


@app.command()
@friendly
def compare(
    seeds: Annotated[int, typer.Option(help="Replicates per scenario (paired on seeds).", min=1)] = 10,
    set_: SetOption = None,
) -> None:
    """Baseline against each program and all three: the report's overall score and each outcome's integrated effect."""
    from sim.compare import compare_programs, format_comparison
    from sim.scenario import load_scenario

    overrides = _overrides(set_)
    persistence = load_scenario("baseline", overrides).parameters.persistence
    started = time.perf_counter()
    table = compare_programs(range(seeds), overrides)
    typer.echo(format_comparison(table, seeds, persistence, overrides))
    typer.echo(
        f"\n{seeds} paired seeds per scenario, {time.perf_counter() - started:.1f} s. "
        "Inputs are one article's unverified figures (data/seed_figures.csv)."
    )


@app.command()
def params(
    levers: Annotated[bool, typer.Option("--levers", help="Only the policy levers programs can move.")] = False,
) -> None:
    """Every parameter: value in force, plausible range, unit and source (figure ID or assumption).

    Values fitted by `sim calibrate` (data/calibrated.yaml) are shown with their prior.
    """
    from sim.parameters import calibrated_values, catalogue

    rows = []
    fitted = calibrated_values()
    for spec in catalogue().values():
        if levers and not spec.lever:
            continue
        rng = f"{spec.range[0]:g} to {spec.range[1]:g}" if spec.range else (", ".join(spec.choices) if spec.choices else "-")
        default = ", ".join(f"{v:g}" for v in spec.default) if spec.type == "list" else str(spec.default)
        source = spec.source
        if spec.name in fitted:
            default = f"{fitted[spec.name]:.4g}"
            source = f"calibrated (prior {spec.default:g}; sim calibrate); {spec.source}"
        rows.append((spec.name + (" *" if spec.lever else ""), default, rng, spec.unit, source))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    typer.echo(f"{'parameter (* lever)':<{widths[0]}}  {'value':<{widths[1]}}  {'range':<{widths[2]}}  unit | source")
    for name, default, rng, unit, source in rows:
        typer.echo(f"{name:<{widths[0]}}  {default:<{widths[1]}}  {rng:<{widths[2]}}  {unit} | {source}")


@app.command()
def programs() -> None:
    """The three proposed programs: window, levers (investment or recurring) and every cost line (data/programs.yaml)."""
    from sim.costs import priced_lines
    from sim.parameters import Parameters
    from sim.programs import standard_programs

    status_quo = Parameters()
    for prog in standard_programs().values():
        typer.echo(f"{prog.id} {prog.key} ({prog.start}-{prog.end}): {prog.name} {prog.name_zh}")
        lines = priced_lines(prog, status_quo)
        for lever, setting in prog.settings.items():
            typer.echo(f"   {lever} = {setting.value}  [{setting.kind}]")
            for line in (ln for ln in lines if ln.lever == lever):
                when = "in the window" if line.phase == "window" else "after it, under sustain"
                per = line.per.replace("_", " ").replace("central west", "central/western")
                typer.echo(
                    f"      {when}: {line.low:,.0f} / {line.central:,.0f} / {line.high:,.0f} yuan per {per} "
                    f"(low / central / high) - {line.reason}"
                )
    typer.echo("Costs are assumptions (the article gives none). Increment costs are priced against the status quo.")


@app.command()
@friendly
def national(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    sample: Annotated[int, typer.Option(help="Communities simulated (a stratified sample).", min=1)] = 2000,
    population: Annotated[int, typer.Option(help="Communities in the population.", min=1)] = 110_000,
) -> None:
    """National totals from a stratified sample of communities, with sampling errors."""
    from sim.national import national_projection

    started = time.perf_counter()
    table = national_projection(scenario, seed=seed, sample=sample, population=population)
    typer.echo(
        f"{sample:,} sampled communities scaled to {population:,} (strata: city tier x region x street/county), "
        f"seed {seed}, {time.perf_counter() - started:.1f} s"
    )
    for row in table.itertuples():
        typer.echo(
            f"  {row.description:<52} {row.estimate:>14,.0f}  SE {row.se:>10,.0f}  "
            f"95% CI {row.ci_low:>12,.0f} to {row.ci_high:>12,.0f}"
        )
    typer.echo("Sampling error only: the article's figures and the model's assumptions add uncertainty not shown here.")


# Batch experiments: implemented in sim.batch.commands (see docs/batch.md).
@app.command()
@friendly
def calibrate(
    method: Annotated[
        str,
        typer.Option(
            help="abc: the posterior by ABC-SMC (data/posterior.parquet) and its median as the point values "
            "(data/calibrated.yaml); smm: a quick point fit by Nelder-Mead (data/calibrated.yaml)."
        ),
    ] = "abc",
    workers: Annotated[int, typer.Option(help="Processes for the simulations.", min=1)] = 2,
    write: Annotated[bool, typer.Option(help="Write the point values (data/calibrated.yaml, or --calibrated).")] = True,
    quiet: Annotated[bool, typer.Option(help="No per-evaluation log.")] = False,
    config: Annotated[Path | None, typer.Option(help="Calibration file (default data/calibration.yaml).")] = None,
    calibrated: Annotated[Path | None, typer.Option(help="Where to write the point values (data/calibrated.yaml).")] = None,
    structures: Annotated[bool, typer.Option(help="Also solve and check every capacity structure and reading.")] = True,
    start: Annotated[
        Path | None, typer.Option(help="smm: start the search at the values of an earlier fit (a calibrated.yaml).")
    ] = None,
    posterior: Annotated[
        Path | None, typer.Option(help="abc: where to write the draws (default data/posterior.parquet).")
    ] = None,
    db: Annotated[Path | None, typer.Option(help="abc: the run's database (default results/calibration/abc.db).")] = None,
    resume: Annotated[bool, typer.Option(help="abc: continue the run in --db after an interruption.")] = False,
    population: Annotated[int | None, typer.Option(help="abc: particles per population (default from the file).", min=2)] = None,
    generations: Annotated[int | None, typer.Option(help="abc: populations at most (default from the file).", min=1)] = None,
    minutes: Annotated[float | None, typer.Option(help="abc: wall-time limit of this call (default from the file).")] = None,
) -> None:
    """Calibrate the mechanism parameters to the article's figures (data/calibration.yaml): the posterior, or a point fit."""
    from sim.calibration import CALIBRATED_FILE, fit, load_config, write_calibrated
    from sim.resources import source_root

    if method not in ("smm", "abc"):
        raise InputError(f"--method {method!r}: choose abc (the posterior, the default) or smm (a quick point fit)")
    needs_checkout = [("data/calibrated.yaml", "--calibrated")] if write and calibrated is None else []
    if method == "abc" and posterior is None:
        needs_checkout.append(("data/posterior.parquet", "--posterior"))
    if needs_checkout and source_root() is None:
        where, option = needs_checkout[0]
        raise InputError(f"sim calibrate updates {where} in a source checkout; this installation has none (use {option} PATH)")
    if minutes is not None and not minutes > 0:
        raise InputError(f"--minutes {minutes:g}: must be positive")
    cfg = load_config(config) if config is not None else load_config()
    log = (lambda _: None) if quiet else typer.echo
    if method == "abc":
        if start is not None:
            raise InputError("--start goes with --method smm")
        needs("calibration", "pyabc")
        from sim.abc import DEFAULT_DB, run_abc
        from sim.posterior import POSTERIOR_FILE

        out = posterior or POSTERIOR_FILE
        point_file = (calibrated or CALIBRATED_FILE) if write else None
        result = run_abc(cfg, workers=workers, db=db or DEFAULT_DB, resume=resume, population=population,
                         generations=generations, minutes=minutes, out=out, calibrated=point_file, log=log,
                         progress=not quiet)  # fmt: skip
        summary = result.summary
        typer.echo(
            f"\n{summary['generations']} populations of {summary['population']}, {summary['simulations']} simulations, "
            f"{summary['wall_seconds']:.0f} s; effective sample size {summary['effective_sample_size']:.0f}; "
            f"final threshold {summary['schedule'][-1]['epsilon_over_noise_floor']:.2f} x the noise floor; "
            f"stopped by {summary['stopped_by']}"
        )
        typer.echo("Posterior (median and 90% interval; prior range):")
        for name, row in summary["parameters"].items():
            low, high = row["prior"]
            typer.echo(f"  {name:<34} {row['median']:>9.4g}  [{row['p05']:.4g}, {row['p95']:.4g}]  prior {low:g}-{high:g}")
        typer.echo(f"\n{len(result.draws)} equally likely draws written to {out} (summary {out.with_suffix('.yaml')})")
        if result.point is not None:
            _echo_fit(cfg, result.point)
            typer.echo(f"\npoint values (the posterior median) written to {point_file}")
        typer.echo("Targets are one article's unverified figures.")
        return
    abc_only = {"--posterior": posterior, "--db": db, "--population": population, "--generations": generations,
                "--minutes": minutes, "--resume": resume or None}  # fmt: skip
    for option, value in abc_only.items():
        if value is not None:
            raise InputError(f"{option} goes with --method abc")
    start_at = None
    if start is not None:
        from sim.files import read_yaml

        raw = read_yaml(start)
        if not isinstance(raw, dict) or not isinstance(raw.get("values"), dict):
            raise InputError(f"--start {start}: expected a calibrated.yaml with a 'values' mapping")
        start_at = {k: float(v) for k, v in raw["values"].items() if isinstance(v, int | float) and not isinstance(v, bool)}
    result = fit(cfg, workers=workers, log=log, compare_structures=structures, start=start_at)
    typer.echo(
        f"\n{result.evaluations} evaluations of the dynamic block, {result.seconds:.0f} s; objective {result.objective:.5f}"
    )
    _echo_fit(cfg, result)
    if write:
        path = calibrated or CALIBRATED_FILE
        write_calibrated(cfg, result, path)
        typer.echo(f"\nwritten to {path}")
    typer.echo("Targets are one article's unverified figures.")


def _echo_fit(cfg: Any, result: Any) -> None:
    typer.echo("\nFigures (relative error; for ratios and differences, relative to the effect):")
    for row in result.table.itertuples():
        ok = "within" if row.within_tolerance else "OUTSIDE"
        typer.echo(
            f"  {row.figure} {row.column:<32} target {row.target:>7.3f}  model {row.simulated:>7.3f}  "
            f"error {row.relative_error:>+7.1%}  {row.role:<8} {ok} {cfg.tolerance:.0%}"
        )
    for row in result.anchors.itertuples():
        typer.echo(
            f"  anchor {row.anchor:<12} {row.value:.3f} (range {row.low:g}-{row.high:g}: {'within' if row.within else 'OUTSIDE'})"
        )
    typer.echo("\nValues and sensitivity (objective increase when moved a tenth of the range down / up):")
    for row in result.sensitivity.itertuples():
        typer.echo(
            f"  {row.parameter:<34} {row.value:>9.4g}  range {row.range_low:g}-{row.range_high:g}  "
            f"{row.objective_minus_tenth:>+9.4f} / {row.objective_plus_tenth:>+9.4f}"
        )
    _echo_variants(cfg, result)


def _echo_variants(cfg: Any, result: Any) -> None:
    if result.variants.empty:
        return
    typer.echo("\nCapacity structures and readings (each fitted on the same figures; errors on fresh seeds; F45 held out):")
    for row in result.variants.to_dict(orient="records"):
        errors = "  ".join(f"{f} {row[f]:+.0%}" for f in cfg.targets)
        typer.echo(f"  {row['variant']:<20} {row['in_sample_reproduced']}/{row['in_sample']} in sample within "
                   f"{cfg.tolerance:.0%}: {errors}")  # fmt: skip


@app.command()
@friendly
def robustness(
    config: Annotated[Path, typer.Option(help="Robustness configuration.")] = Path("experiments/robustness.yaml"),
    scale: Annotated[str, typer.Option(help="default, or a scale from the configuration (large, small, tiny).")] = "default",
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: all cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler.")] = None,
    dask_local: Annotated[int | None, typer.Option(help="Start a Dask LocalCluster with N workers.")] = None,
    root: Annotated[Path, typer.Option(help="Folder of the batch stores (resumed when they exist).")] = Path("results"),
    out: Annotated[
        Path | None, typer.Option(help="Folder for the tidy tables (default ROOT/<code version>/<name>_tables).")
    ] = None,
) -> None:
    """How sure the answer is: every assumption sampled (LHS), Morris screen, Sobol indices, PRIM boxes, regret.

    Runs four resumable batch experiments (experiments/robustness.yaml), then writes tidy CSV tables.
    """
    needs("sensitivity", "SALib", "ema_workbench")
    from sim import robustness as rb
    from sim.output import write_table

    cfg = rb.load_config(config).scaled(scale)
    executor = {k: v for k, v in {"scheduler": scheduler, "dask_local": dask_local}.items() if v is not None}
    results = rb.run(cfg, workers=workers, root=root, log=typer.echo, quiet=True, **executor)
    tables = rb.analyse(results)
    folder = out or rb.store_root(root) / f"{cfg.name}_tables"
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_table(frame, folder / f"{name}.csv", provenance={"robustness": cfg.name, "scale": scale, "table": name})
    typer.echo(rb.summary_text(tables))
    typer.echo(f"tables written to {folder}")


@app.command()
@friendly
def design(
    config: Annotated[Path, typer.Option(help="Design-search configuration.")] = Path("experiments/design.yaml"),
    scale: Annotated[str, typer.Option(help="default, or a scale from the configuration (large, small, tiny).")] = "default",
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: all cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler.")] = None,
    dask_local: Annotated[int | None, typer.Option(help="Start a Dask LocalCluster with N workers.")] = None,
    root: Annotated[Path, typer.Option(help="Folder of the batch stores (resumed when they exist).")] = Path("results"),
) -> None:
    """Search the levers P1-P3 move for packages that beat them on score, cost and robustness, within a budget.

    NSGA-II (platypus) over lever values and windows, one resumable batch per generation (experiments/design.yaml);
    then the chosen packages re-evaluated on fresh seeds and on the robustness futures. Tables go next to the stores.
    """
    needs("sensitivity", "platypus")
    from sim import design as ds
    from sim.output import write_table

    cfg = ds.load_config(config).scaled(scale)
    executor = {k: v for k, v in {"scheduler": scheduler, "dask_local": dask_local}.items() if v is not None}
    result = ds.run(cfg, root=root, workers=workers, log=typer.echo, **executor)
    picks = ds.chosen(result)
    checks = ds.recheck(cfg, picks, root=root, workers=workers, **executor)
    tables = {"evaluated": result.evaluated, "front": result.front, "references": result.references.reset_index(),
              "history": result.history, **{f"check_{k}": v for k, v in checks.items()}}  # fmt: skip
    for name, frame in tables.items():
        write_table(frame, result.store / f"{name}.csv", provenance={"design": cfg.name, "scale": scale, "table": name})
    typer.echo(ds.summary(result, picks, checks))
    typer.echo(f"tables written to {result.store}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@friendly
def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A notebook in notebooks/ (e.g. compare_programs) or a .ipynb path.")],
    params_file: Annotated[
        Path | None, typer.Option("--parameters-file", "-f", help="YAML file of notebook parameters (name: value).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default reports/<name>/, in Chinese reports/<name>_zh/).")
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Report language: en or zh (Simplified Chinese: text, tables, figures).")
    ] = None,
    excel: Annotated[
        bool, typer.Option("--excel", help="Write the CSV files as UTF-8 with a byte-order mark, for Excel.")
    ] = False,
) -> None:
    """Execute a notebook with papermill into reports/<name>/: notebook, index.html, PNG, CSV, metrics.json.

    Notebook parameters: -p NAME VALUE (repeatable, after NAME; VALUE is read as YAML: 30, true, null, text),
    e.g. `sim report scenario -p scenario data/scenarios/innovation_leap.yaml -p replicates 20`.
    `--lang zh` is the parameter lang=zh; `--excel` the parameter csv_excel=true.
    """
    needs("report", "papermill", "nbconvert", "ipykernel", "matplotlib", "statsmodels")
    from sim.lang import check
    from sim.report.run import ReportFailed, gather_parameters, run_report

    parameters = gather_parameters(params_file, _parameter_pairs(ctx.args))
    if lang is not None:
        parameters["lang"] = check(lang, "--lang")
    if excel:
        parameters["csv_excel"] = True
    try:
        result = run_report(name, parameters, out)
    except ReportFailed as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{result.name}: ran in {result.seconds:.1f} s; {len(result.files)} files in {result.out}")
    typer.echo(f"  open {result.html}")


@app.command()
@friendly
def explore(
    port: Annotated[int, typer.Option(help="Port of the page on this machine.", min=1, max=65535)] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
) -> None:
    """The explorer: a Mesa SolaraViz page with a slider for every lever, program switches and windows, live charts.

    Open the address it prints in a browser; Ctrl-C stops it. See docs/explorer.md.
    """
    needs("viz", "solara", "altair")
    import subprocess

    from sim.explore import assets_note, server_environment

    note = assets_note()
    if note:
        typer.echo(note, err=True)
    typer.echo(f"explorer: http://{host}:{port}/  (Ctrl-C stops it)")
    solara = Path(sys.executable).with_name("solara")
    command = [str(solara), "run", "sim.explore", "--host", host, "--port", str(port), "--production", "--no-open"]
    raise typer.Exit(subprocess.call(command, env=server_environment(), preexec_fn=_end_with_parent(os.getpid())))


def _end_with_parent(parent: int) -> Callable[[], None] | None:
    """For a child process on Linux: be sent SIGTERM when `parent` dies, even by SIGKILL, so a server it starts
    never outlives the command (prctl PR_SET_PDEATHSIG); elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return None

    def arrange() -> None:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


def _parameter_pairs(args: list[str]) -> list[tuple[str, str]]:
    """`-p NAME VALUE` / `--parameter NAME VALUE` pairs from the words typer did not parse."""
    pairs = []
    words = list(args)
    while words:
        flag = words.pop(0)
        if flag not in ("-p", "--parameter"):
            raise InputError(f"unexpected argument '{flag}'; notebook parameters are given as -p NAME VALUE")
        if len(words) < 2:
            raise InputError(f"{flag} needs a NAME and a VALUE, e.g. -p replicates 30")
        pairs.append((words.pop(0), words.pop(0)))
    return pairs


@app.command()
@friendly
def reproduce(
    only: Annotated[list[str] | None, typer.Option("--only", metavar="NAME", help="Just this report (repeatable).")] = None,
    scratch: Annotated[Path, typer.Option(help="Where the regenerated reports go.")] = Path("build/reproduce"),
    rtol: Annotated[float, typer.Option(help="Relative tolerance for numbers.")] = 1e-6,
    calibration: Annotated[
        bool, typer.Option(help="Also run the calibration again (about 35 minutes) and check it against the posterior.")
    ] = False,
) -> None:
    """Regenerate every committed report from scratch and compare its numbers with reports/*/metrics.json."""
    needs("report", "papermill", "nbconvert", "ipykernel", "matplotlib", "statsmodels")
    from sim.reproduce import reproduce as run_all
    from sim.reproduce import reproduce_calibration

    started = time.perf_counter()
    differences = []
    if calibration:
        needs("calibration", "pyabc")
        typer.echo("calibration: running `sim calibrate` again into the scratch folder")
        differences += reproduce_calibration(scratch, log=typer.echo)
    differences += run_all(only, scratch, rtol, log=typer.echo)
    elapsed = time.perf_counter() - started
    for d in differences[:200]:
        typer.echo(f"  DIFFERS {d.report}: {d.key}: committed {d.committed!r}, reproduced {d.reproduced!r}")
    if len(differences) > 200:
        typer.echo(f"  ... and {len(differences) - 200} more")
    typer.echo(
        f"{'no differences' if not differences else f'{len(differences)} differences'} beyond rtol {rtol:g}; "
        f"{elapsed:.0f} s. The inputs are one article's unverified figures."
    )
    if differences:
        raise typer.Exit(1)


app.command("batch")(friendly(batch_commands.batch))
app.command("rerun")(friendly(batch_commands.rerun_command))
app.command("summarize")(friendly(batch_commands.summarize_command))


def main() -> None:
    """The `sim` command: Ctrl-C exits 130 and SIGTERM 143 after `finally` blocks have saved what is done;
    an unexpected error is one line (exit 1) unless SIM_TRACEBACK=1 asks for the traceback."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except SystemExit as leave:
        if sys.argv[1:2] and sys.argv[1] in SKIP_TEARDOWN:
            _exit_now(leave.code)
        raise
    except (KeyboardInterrupt, Terminated) as error:  # outside a command (e.g. while importing)
        try:
            stopped(error)
        except typer.Exit as leave:
            sys.exit(leave.exit_code)
    except Exception as error:
        if os.environ.get("SIM_TRACEBACK"):
            raise
        typer.echo(f"error: {clip(f'{type(error).__name__}: {error}')} (unexpected; SIM_TRACEBACK=1 shows where)", err=True)
        sys.exit(1)


# Commands that only read Parquet stores and hold nothing to clean up: they leave without the interpreter's
# teardown, where pyarrow's thread pools abort now and then ("terminate called without an active exception",
# SIGABRT after the work is done: apache/arrow#34314; seen once in 83 runs of `sim summarize`).
SKIP_TEARDOWN = {"summarize", "rerun"}


def _exit_now(code: Any) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


if __name__ == "__main__":
    main()
