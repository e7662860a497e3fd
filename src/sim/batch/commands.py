"""The batch commands of the CLI: `sim batch`, `sim rerun`, `sim summarize`.

Plain typer-annotated functions; sim.cli registers them (wrapped in its `friendly`, so bad
input ends with one 'error: ...' line and exit code 2). A batch with failed runs, or one that
could not go on (a full disk, a lost Dask cluster), exits 1; Ctrl-C 130; SIGTERM 143.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# The batch modules are imported inside the commands, to keep `sim` quick to start.


def batch(
    spec: Annotated[Path, typer.Argument(help="Experiment file, e.g. experiments/compare_programs.yaml")],
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: all cores; 1 = serial).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786.")] = None,
    dask_local: Annotated[int | None, typer.Option(help="Start a Dask LocalCluster on 127.0.0.1 with N workers.")] = None,
    resume: Annotated[bool, typer.Option(help="Run only what the store is missing (also retries failed runs).")] = False,
    out: Annotated[Path | None, typer.Option(help="Results folder (default results/<experiment name>).")] = None,
    quiet: Annotated[bool, typer.Option(help="Plain log lines instead of a progress bar.")] = False,
    only: Annotated[list[str] | None, typer.Option(metavar="RUN_ID", help="Run only this run id (repeatable).")] = None,
    part_runs: Annotated[int, typer.Option(help="Write a part file every K finished runs...", min=1)] = 50,
    part_seconds: Annotated[float, typer.Option(help="...or every S seconds, whichever comes first.", min=0.001)] = 60.0,
    allow_large: Annotated[
        bool, typer.Option(help="Confirm a batch beyond the size limits (100,000 runs or 24 hours; docs/batch.md).")
    ] = False,
    dask_patience: Annotated[
        float, typer.Option(help="Seconds a Dask cluster may be unreachable or without workers before the batch stops.")
    ] = 60.0,
    allow_mixed: Annotated[
        bool, typer.Option(help="Resume a store made with other code, data files or library versions (recorded).")
    ] = False,
) -> None:
    """Run an experiment (scenarios x design points x replicates) into a resumable Parquet store."""
    from sim.batch.runner import run_experiment

    report = run_experiment(
        spec,
        workers=workers,
        scheduler=scheduler,
        dask_local=dask_local,
        out=out,
        resume=resume,
        quiet=quiet,
        only=only,
        part_runs=part_runs,
        part_seconds=part_seconds,
        allow_large=allow_large,
        dask_patience=dask_patience,
        allow_mixed=allow_mixed,
    )
    typer.echo(str(report))
    if report.failed:
        for run, error in list(report.failed.items())[:10]:
            typer.echo(f"  failed: {run}: {error}", err=True)
        more = f" ({len(report.failed) - 10} more)" if len(report.failed) > 10 else ""
        typer.echo(f"{len(report.failed)} runs failed{more}; tracebacks in {report.store / '_manifest.json'}", err=True)
        raise typer.Exit(1)


def rerun_command(
    store: Annotated[Path, typer.Argument(help="Results folder of a batch, e.g. results/compare_programs")],
    run_id: Annotated[str, typer.Argument(help="Run id, e.g. baseline-0000-r007 (see the store's _manifest.json)")],
    out: Annotated[Path | None, typer.Option(help="Write the run's rows here (.csv or .parquet).")] = None,
) -> None:
    """Re-run one run of a batch alone, and check it against the stored rows."""
    import pandas as pd

    from sim.batch.runner import RunFailedError, rerun, stored_run
    from sim.batch.store import read_manifest
    from sim.output import write_table

    if out is not None:
        write_table(pd.DataFrame(), out, check_only=True)
    try:
        rows = rerun(store, run_id)
    except RunFailedError as error:
        typer.echo(f"{error}\n{error.traceback or ''}", err=True)
        raise typer.Exit(1) from None
    if out is not None:
        record = {"experiment": read_manifest(store)["experiment"], "store": str(store), "run_id": run_id}
        write_table(rows, out, provenance=record)
        typer.echo(f"{len(rows)} rows written to {out}")
    stored = stored_run(store, run_id)
    if stored.empty:
        typer.echo(f"run {run_id}: {len(rows)} rows; not in the store yet, nothing to compare")
    elif rows.equals(stored):
        typer.echo(f"run {run_id}: {len(rows)} rows, identical to the stored rows")
    else:
        typer.echo(f"run {run_id}: the re-run DIFFERS from the stored rows", err=True)
        raise typer.Exit(1)


def summarize_command(
    store: Annotated[Path, typer.Argument(help="Results folder of a batch, e.g. results/compare_programs")],
    baseline: Annotated[
        str | None, typer.Option(help="Baseline scenario (a design point number if there is one scenario).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write all paired differences (all months, outputs) here (.csv/.parquet).")
    ] = None,
    stats: Annotated[Path | None, typer.Option(help="Write mean/median/p10/p90 per condition, month (.csv/.parquet).")] = None,
) -> None:
    """The report's scores against the baseline (every month kept), else end-of-run differences; optionally full tables."""
    import pandas as pd

    from sim.batch.store import load_results, read_manifest, stored_scenarios
    from sim.batch.summary import default_baseline, format_headline, headline, paired_differences, summarize
    from sim.compare import format_scores
    from sim.decision import settings
    from sim.output import write_table

    for path in (out, stats):
        if path is not None:
            write_table(pd.DataFrame(), path, check_only=True)
    chosen = int(baseline) if baseline is not None and baseline.isdigit() else baseline
    table = load_results(store)
    manifest = read_manifest(store)
    counts = {s: sum(r.get("status") == s for r in manifest["runs"]) for s in ("ok", "failed", "pending")}
    if counts["ok"] < len(manifest["runs"]):
        typer.echo(
            f"warning: {store}: {counts['ok']} of {len(manifest['runs'])} runs are finished ({counts['failed']} failed, "
            f"{counts['pending']} not run yet); the figures below use only the finished ones. "
            "Run the batch again with --resume to complete it",
            err=True,
        )
    s = settings()
    months = set(table["month"].unique().tolist())
    if table["scenario"].nunique() > 1 and set(range(s.start_month, s.end_month + 1)) <= months and not isinstance(chosen, int):
        typer.echo(format_scores(table, chosen or default_baseline(store, table), s, scenarios=stored_scenarios(store)))
    else:
        diffs, last = headline(table if chosen is not None else store, chosen)
        typer.echo(format_headline(diffs, last))
    record = {"experiment": manifest["experiment"], "store": str(store)}
    if out is not None:
        write_table(paired_differences(store, chosen), out, provenance=record)
        typer.echo(f"\npaired differences written to {out}")
    if stats is not None:
        write_table(summarize(store), stats, provenance=record)
        typer.echo(f"summary statistics written to {stats}")
