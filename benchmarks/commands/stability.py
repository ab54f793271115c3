"""`bench stability`: does the headline (refined beats synthetic) hold over seeds and threads?"""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import eval_option, fail_cleanly, work_option
from estimators.base import UserError

ROWS = ["cnn-synthetic", "cnn-refined"]


@click.command("stability")
@click.option("--profile", default="quick", show_default=True, help="Profile name or TOML path.")
@click.option("--seeds", default=5, show_default=True, type=click.IntRange(1))
@click.option(
    "--threads",
    "threads_list",
    default="1,2",
    show_default=True,
    help="Comma-separated torch thread counts; every seed runs under each.",
)
@eval_option
@work_option
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the runs' rows go, one subfolder per thread count "
    "[default results/runs/stability-PROFILE[-dev]].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The markdown table [default: RESULTS/stability.md].",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@fail_cleanly
def stability(profile, seeds, threads_list, eval_split, work_dir, results_dir, out, quiet) -> None:
    """Train the refiner and the synthetic/refined CNN rows for every seed x thread count (cached
    and resumable like `bench run`), then tabulate the gain of refined over synthetic."""
    from benchmarks.pipeline.run import RunOptions, run_suite
    from benchmarks.pipeline.suite import load_profile, load_suite
    from benchmarks.reporting.stability import write_stability

    try:
        counts = sorted({int(t) for t in threads_list.split(",") if t.strip()})
    except ValueError:
        raise UserError(f"--threads {threads_list!r}: expected comma-separated integers") from None
    if not counts or min(counts) < 1:
        raise UserError(f"--threads {threads_list!r}: expected counts >= 1")
    suite, prof = load_suite("table1"), load_profile(profile)
    name = prof["profile"]["name"]
    results_dir = results_dir or Path("results/runs") / (
        f"stability-{name}" + ("-dev" if eval_split == "dev" else "")
    )
    dirs = {}
    for threads in counts:
        dirs[threads] = results_dir / f"threads{threads}"
        opts = RunOptions(
            work_dir=work_dir,
            results_dir=dirs[threads],
            seeds=seeds,
            threads=threads,
            eval_split=eval_split,
            only_rows=ROWS,
            progress=not quiet,
        )
        run_suite(suite, prof, opts, log=lambda m: click.echo(m, err=True))
    command = (
        f"bench stability --profile {name} --seeds {seeds} --threads "
        f"{','.join(map(str, counts))} --eval {eval_split}"
    )
    title = f"Stability of the headline: {name} profile, {seeds} seeds x threads {counts}"
    path = write_stability(dirs, out or results_dir / "stability.md", title, command)
    click.echo(f"wrote {path}")
