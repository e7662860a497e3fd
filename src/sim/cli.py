"""Command line: `sim run`, `sim compare`, `sim params`, `sim programs`.

Bad input of any kind ends with one line on stderr naming what is wrong, and exit code 2.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from sim.batch import commands as batch_commands
from sim.compare import HEADLINE, compare_programs, format_comparison
from sim.errors import InputError
from sim.output import write_table
from sim.parameters import catalogue
from sim.programs import standard_programs
from sim.scenario import load_scenario, parse_assignment
from sim.simulate import simulate

app = typer.Typer(
    help="Policy simulator for China's community reserve cadres (社区后备干部). "
    "Inputs are one article's unverified figures: results explore scenarios, they do not forecast.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a parameter, NAME=VALUE (repeatable). See `sim params`."),
]


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn InputError (and a missing file) into a one-line message and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as error:
            fail(str(error))
        except FileNotFoundError as error:
            fail(f"{error.filename}: file not found")

    return wrapper


def _overrides(assignments: list[str] | None) -> dict[str, Any]:
    return dict(parse_assignment(a) for a in assignments or [])


@app.command()
@friendly
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML, e.g. data/scenarios/baseline.yaml")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same numbers).", min=0)] = 0,
    out: Annotated[Path | None, typer.Option(help="Write the monthly table here (.csv or .parquet).")] = None,
    set_: SetOption = None,
) -> None:
    """Run one scenario from one seed and print a short summary."""
    loaded = load_scenario(scenario, _overrides(set_))
    if out is not None:
        write_table(pd.DataFrame(), out, check_only=True)
    started = time.perf_counter()
    table = simulate(loaded, seed=seed)
    elapsed = time.perf_counter() - started
    if out is not None:
        write_table(table, out, provenance={"scenario": loaded.describe(), "seed": seed})
    end = table.iloc[-1]
    programs = ", ".join(f"{p.id} {p.start}-{p.end}" for p in loaded.programs) or "none"
    typer.echo(
        f"scenario {loaded.name} (programs: {programs}), seed {seed}: "
        f"{loaded.parameters.n_communities} communities, {len(table) - 1} months in {elapsed:.2f} s"
    )
    typer.echo(f"state at {end['date']:%B %Y}:")
    for column, label in HEADLINE.items():
        typer.echo(f"  {label:<42} {table[column].iloc[0]:>10.3f} -> {end[column]:>10.3f}")
    if out is not None:
        typer.echo(f"monthly table written to {out}")


@app.command()
@friendly
def compare(
    seeds: Annotated[int, typer.Option(help="Replicates per scenario (paired on seeds).", min=1)] = 10,
    set_: SetOption = None,
) -> None:
    """Baseline against each program and all three: key outcomes at the end of the run."""
    overrides = _overrides(set_)
    started = time.perf_counter()
    table = compare_programs(range(seeds), overrides)
    typer.echo(format_comparison(table, seeds))
    typer.echo(
        f"\n{seeds} paired seeds per scenario, {time.perf_counter() - started:.1f} s. "
        "Inputs are one article's unverified figures (data/seed_figures.csv)."
    )


@app.command()
def params(
    levers: Annotated[bool, typer.Option("--levers", help="Only the policy levers programs can move.")] = False,
) -> None:
    """Every parameter: default, plausible range, unit and source (figure ID or assumption)."""
    rows = []
    for spec in catalogue().values():
        if levers and not spec.lever:
            continue
        rng = f"{spec.range[0]:g} to {spec.range[1]:g}" if spec.range else (", ".join(spec.choices) if spec.choices else "-")
        default = ", ".join(f"{v:g}" for v in spec.default) if spec.type == "list" else spec.default
        rows.append((spec.name + (" *" if spec.lever else ""), str(default), rng, spec.unit, spec.source))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    typer.echo(f"{'parameter (* lever)':<{widths[0]}}  {'default':<{widths[1]}}  {'range':<{widths[2]}}  unit | source")
    for name, default, rng, unit, source in rows:
        typer.echo(f"{name:<{widths[0]}}  {default:<{widths[1]}}  {rng:<{widths[2]}}  {unit} | {source}")


@app.command()
def programs() -> None:
    """The three proposed programs: window, levers and cost (data/programs.yaml)."""
    for prog in standard_programs().values():
        typer.echo(f"{prog.id} {prog.key} ({prog.start}-{prog.end}): {prog.name}")
        typer.echo(
            f"   cost: {prog.cost_per_community_year:,.0f} yuan per community-year + "
            f"{prog.cost_per_cadre_year:,.0f} per cadre-year"
        )
        for lever, value in prog.levers.items():
            typer.echo(f"   {lever} = {value}")


@app.command()
@friendly
def national(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.")],
    seed: Annotated[int, typer.Option(help="Random seed.", min=0)] = 0,
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
app.command("batch")(friendly(batch_commands.batch))
app.command("rerun")(friendly(batch_commands.rerun_command))
app.command("summarize")(friendly(batch_commands.summarize_command))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
