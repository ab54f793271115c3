"""`bench report` and `bench check`: read results only; never retrain."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import fail_cleanly

DEFAULT_RESULTS = Path("results/runs/table1-demo-quick")
_RESULTS = click.option(
    "--results",
    "results_dir",
    default=DEFAULT_RESULTS,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A `bench run` results dir.",
)


@click.command()
@_RESULTS
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write table1.md/.csv and figures (default: the results dir).",
)
@fail_cleanly
def report(results_dir: Path, out_dir: Path | None) -> None:
    """Write table1.md, table1.csv, error curves and the refiner sample grid."""
    from benchmarks.reporting.report import write_report

    written = write_report(results_dir, out_dir)
    for path in written.values():
        click.echo(f"wrote {path}")
