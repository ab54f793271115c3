"""`bench stability`: does the headline (refined beats synthetic) hold over seeds and threads?"""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import fail_cleanly, work_option
from estimators.base import UserError

ROWS = ["cnn-synthetic", "cnn-refined", "knn-synthetic", "knn-refined"]


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
@click.option(
    "--eval",
    "eval_split",
    type=click.Choice(["dev", "test"]),
    default="dev",
    show_default=True,
    help="dev: the demo's labelled development people, where recipes are developed and judged; "
    "test: the test people (score them once, after the recipe is frozen: --also-test).",
)
@click.option(
    "--also-test",
    is_flag=True,
    help="After the --eval dev runs, score the same fitted models (same refiners, same seeds; "
    "loaded from --work, not retrained) on the test people too and show them beside, not "
    "judged on.",
)
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
@click.option(
    "--table-only",
    is_flag=True,
    help="Train and score nothing: write the table from the rows already in --results (runs "
    "of earlier sessions or other machines, e.g. committed), naming the runs not there yet.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@fail_cleanly
def stability(
    profile,
    seeds,
    threads_list,
    eval_split,
    also_test,
    work_dir,
    results_dir,
    out,
    table_only,
    quiet,
) -> None:
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
    given_results = results_dir
    results_dir = results_dir or Path("results/runs") / (
        f"stability-{name}" + ("-dev" if eval_split == "dev" else "")
    )
    if also_test and eval_split != "dev":
        raise UserError("--also-test goes with --eval dev (the test people stand beside dev)")

    def by_threads(base: Path) -> dict[int, Path]:  # one results folder a thread count
        return {t: base / f"threads{t}" for t in counts}

    def run_all(split: str, base: Path) -> dict[int, Path]:
        dirs = by_threads(base)
        for threads in counts:
            opts = RunOptions(
                work_dir=work_dir,
                results_dir=dirs[threads],
                seeds=seeds,
                threads=threads,
                eval_split=split,
                only_rows=ROWS,
                progress=not quiet,
            )
            run_suite(suite, prof, opts, log=lambda m: click.echo(m, err=True))
        return dirs

    if table_only:  # what earlier runs left in RESULTS/threadsN (and RESULTS/test-people/threadsN)
        dirs = by_threads(results_dir)
        if not any((d / "rows.jsonl").is_file() for d in dirs.values()):
            raise UserError(
                f"--table-only: no rows.jsonl under {results_dir}/threads{{{threads_list}}}; "
                "run `bench stability` without --table-only first"
            )
        test_dirs = by_threads(results_dir / "test-people")
        beside = test_dirs if also_test else None
    else:
        dirs = run_all(eval_split, results_dir)
        beside = run_all("test", results_dir / "test-people") if also_test else None
    command = (
        f"bench stability --profile {name} --seeds {seeds} --threads "
        f"{','.join(map(str, counts))} --eval {eval_split}" + (" --also-test" if also_test else "")
    ) + (f" --results {given_results}" if given_results else "")
    if table_only:  # the runs were made by the command above (in one or several goes)
        command += "`, tabulated by `--table-only"
    title = f"Stability of the headline: {name} profile, {seeds} seeds x threads {counts}"
    path = write_stability(
        dirs, out or results_dir / "stability.md", title, command, beside, seeds=seeds
    )
    click.echo(f"wrote {path}")
