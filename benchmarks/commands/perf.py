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
@click.option(
    "--scale",
    is_flag=True,
    help="Scale curves instead: each data stage's wall time and peak RSS as N grows; writes "
    "scale.csv and scale.png under --scale-out.",
)
@click.option(
    "--sizes",
    help="With --scale: 'stage=N,N;stage=N' (stages mpiigaze, unityeyes, refine); "
    "default mpiigaze=1000,10000,100000;unityeyes=100,1000;refine=1000,10000.",
)
@click.option(
    "--scale-out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/perf"),
    show_default=True,
)
@fail_cleanly
def perf(
    only: str | None,
    list_sections: bool,
    quick: bool,
    out: Path | None,
    scale: bool,
    sizes: str | None,
    scale_out: Path,
) -> None:
    """Measure speed: matmul yardstick, demo rendering, and every registered section."""
    from benchmarks.perf.core import SECTIONS, format_rows, machine_info, run_perf

    if scale:
        from benchmarks.perf.scale import parse_sizes, run_scale
        from benchmarks.perf.scale_report import fit_table

        click.echo(f"machine: {machine_info()}")
        rows = run_scale(parse_sizes(sizes), scale_out)
        click.echo(fit_table(rows))
        click.echo(f"wrote {scale_out / 'scale.csv'} and {scale_out / 'scale.png'}")
        return

    if list_sections:
        click.echo("\n".join(SECTIONS))
        return
    sections = [s.strip() for s in only.split(",")] if only else None
    click.echo(f"machine: {machine_info()}")
    click.echo(format_rows(run_perf(sections, quick=quick, out=out)))
