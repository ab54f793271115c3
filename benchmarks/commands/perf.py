"""`bench perf`: throughput figures for this machine (checked by benchmarks, not unit tests)."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import fail_cleanly


@click.command()
@click.option("--only", help="Comma-separated sections (default: all). See --list.")
@click.option("--list", "list_sections", is_flag=True, help="List the sections and exit.")
@click.option("--quick", is_flag=True, help="Smaller sizes: a rough figure in seconds.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write JSON here."
)
@fail_cleanly
def perf(only: str | None, list_sections: bool, quick: bool, out: Path | None) -> None:
    """Measure speed: matmul yardstick, demo rendering, and every registered section."""
    from benchmarks.perf.core import SECTIONS, format_rows, machine_info, run_perf

    if list_sections:
        click.echo("\n".join(SECTIONS))
        return
    sections = [s.strip() for s in only.split(",")] if only else None
    click.echo(f"machine: {machine_info()}")
    click.echo(format_rows(run_perf(sections, quick=quick, out=out)))
