"""`bench report` and `bench check`: read results only; never retrain."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import BadInput, fail_cleanly
from estimators.base import UserError

RUNS = Path("results/runs")  # where `bench run` puts results without --results


def latest_results(runs: Path = RUNS) -> Path:
    """The results dir under ``runs`` whose rows.jsonl changed last (the latest `bench run`)."""
    found = [p.parent for p in Path(runs).glob("*/rows.jsonl")]
    if not found:
        raise UserError(f"no results under {runs}/ (run `bench run` first, or pass --results DIR)")
    return max(found, key=lambda d: (d / "rows.jsonl").stat().st_mtime)


def _resolve_results(ctx, param, value: Path | None) -> Path:
    if value is not None:
        return value
    try:
        return latest_results()
    except UserError as e:
        raise BadInput(str(e)) from None


_RESULTS = click.option(
    "--results",
    "results_dir",
    default=None,
    callback=_resolve_results,
    type=click.Path(file_okay=False, path_type=Path),
    help="A `bench run` results dir [default: the latest under results/runs/].",
)


@click.command()
@_RESULTS
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the report and figures (default: the results dir).",
)
@fail_cleanly
def report(results_dir: Path, out_dir: Path | None) -> None:
    """Write the suite's report (table1.md/.csv, or refiners.md/.csv for the refiner
    leaderboard), error curves and the refiner sample grid."""
    from benchmarks.reporting.report import write_report

    written = write_report(results_dir, out_dir)
    for path in written.values():
        click.echo(f"wrote {path}")
