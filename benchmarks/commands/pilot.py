"""`bench pilot`: a refiner profile's pilot on the demo's development people: the refiner
trained as the profile configures it, then the synthetic- and refined-data CNNs, judged on three
criteria (labels kept, realism gap closed, refined beats synthetic) in one report."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import command_line, fail_cleanly, work_option

ROWS = ["cnn-synthetic", "cnn-refined"]


@click.command("pilot")
@click.option(
    "--profile",
    default="paper-cpu",
    show_default=True,
    help="Profile name or TOML path; paper-cpu: the paper's method at a CPU's size.",
)
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(1))
@click.option(
    "--threads",
    type=click.IntRange(1),
    help="torch threads [default: all cores]; recorded, and part of the cache keys.",
)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda[:i].")
@work_option
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the rows and the refiner's diagnostics go [default results/runs/pilot-PROFILE].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The markdown report [default: RESULTS/pilot.md].",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@fail_cleanly
def pilot(profile, seeds, threads, device, work_dir, results_dir, out, quiet) -> None:
    """Train the profile's refiner and the cnn-synthetic / cnn-refined rows for seeds 0..N-1
    (cached and resumable like `bench run`), scored on the development people only, then write
    the pilot report."""
    from benchmarks.pipeline.refiner_stage import refiner_kind, simgan_variant_config
    from benchmarks.pipeline.run import RunOptions, resolved_threads, run_suite
    from benchmarks.pipeline.suite import load_profile, load_suite
    from benchmarks.reporting.pilot import write_pilot
    from refine.config import departures

    suite, prof = load_suite("table1"), load_profile(profile)
    name = prof["profile"]["name"]
    results_dir = results_dir or Path("results/runs") / f"pilot-{name}"
    command = command_line()
    opts = RunOptions(
        work_dir=work_dir,
        results_dir=results_dir,
        seeds=seeds,
        device=device,
        threads=threads,
        eval_split="dev",  # a pilot develops a recipe: never the test people
        only_rows=ROWS,
        progress=not quiet,
        command=command,
    )
    run_suite(suite, prof, opts, log=lambda m: click.echo(m, err=True))
    kind = refiner_kind(prof)
    config = simgan_variant_config(kind, prof, 0, device)
    paper = simgan_variant_config("simgan", load_profile("paper"), 0, device)
    path = write_pilot(
        results_dir,
        resolved_threads(threads, None)[0],
        out or results_dir / "pilot.md",
        f"Refiner pilot: `{name}` profile, refiner `{kind}`, {seeds} seed{'s' * (seeds > 1)}",
        command,
        config.to_dict(),
        paper.to_dict(),
        departures(config),
    )
    click.echo(f"wrote {path}")
