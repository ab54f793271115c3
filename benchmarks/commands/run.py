"""`bench run SUITE`: the whole table, end to end (prepare, refine, fit, score, report)."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import (
    command_line,
    eval_option,
    fail_cleanly,
    on_interrupt_kept,
    work_option,
)


@click.command()
@click.argument("suite_name", default="table1")
@click.option(
    "--profile",
    default="quick",
    show_default=True,
    help="smoke (CI, ~2 min), quick (a laptop CPU; its time: README, Quick start), paper (GPU), "
    "or a TOML path.",
)
@click.option(
    "--data",
    "data_mode",
    type=click.Choice(["demo", "real"]),
    default="demo",
    show_default=True,
    help="demo: built-in procedural eyes; real: dataset roots below.",
)
@click.option(
    "--mpiigaze",
    type=click.Path(file_okay=False),
    envvar="GAZEBENCH_MPIIGAZE",
    show_envvar=True,
    help="MPIIGaze root.",
)
@click.option(
    "--unityeyes",
    type=click.Path(file_okay=False),
    envvar="GAZEBENCH_UNITYEYES",
    show_envvar=True,
    help="UnityEyes renders.",
)
@click.option(
    "--utmultiview",
    type=click.Path(file_okay=False),
    envvar="GAZEBENCH_UTMULTIVIEW",
    show_envvar=True,
    help="UT Multiview root.",
)
@work_option
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where rows.jsonl, predictions and the report go "
    "[default results/runs/SUITE-DATA-PROFILE].",
)
@click.option(
    "--seeds", type=click.IntRange(1), help="Repeat the stochastic stages for seeds 0..N-1."
)
@click.option(
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Rows fitted in parallel (joblib processes, or LocalCluster workers with --backend dask).",
)
@click.option(
    "--backend",
    type=click.Choice(["joblib", "dask"]),
    default="joblib",
    show_default=True,
    help="Where the (row, seed) cells run: joblib processes here, or a dask.distributed cluster "
    "(pip install 'gazebench[dask]'; every worker must see --work and --results at the same path).",
)
@click.option(
    "--scheduler",
    help="dask scheduler address (tcp://HOST:8786); default: a LocalCluster of --jobs workers. "
    "Start its workers with `--resources gazebench_cell=1`.",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto | cpu | cuda[:i]: every torch stage (refiner, refining, CNN rows) runs here.",
)
@click.option(
    "--precision",
    type=click.Choice(["auto", "bf16", "fp32"]),
    default=None,
    help="Precision of every torch stage (default: the profile's and each estimator's own).",
)
@click.option(
    "--threads",
    type=click.IntRange(1),
    help="torch threads for the refiner and for each row [default: all cores]. Recorded in "
    "provenance: the count changes float sums, so results differ in the last bits.",
)
@click.option(
    "--row-threads",
    type=click.IntRange(1),
    help="torch threads per (row, seed) cell [default: --threads, under every --backend and "
    "--jobs, so parallel runs make the serial run's rows; --jobs N cells then share the cores]. "
    "Part of a row's cache key like --threads.",
)
@eval_option
@click.option(
    "--protocol",
    type=click.Choice(["transductive", "strict"]),
    default="transductive",
    show_default=True,
    help="transductive: one refiner per seed on every real-unlabelled image, test people's "
    "included (as the paper); strict: person-disjoint folds over the test people, each fold's "
    "refiner fit without that fold's people, predictions pooled over folds.",
)
@click.option(
    "--folds",
    default=3,
    show_default=True,
    type=click.IntRange(2),
    help="--protocol strict: person-disjoint folds of the test people.",
)
@click.option(
    "--rows",
    help="Comma-separated row ids to run, or 'all' [default: the suite's own rows, not those "
    "marked extra, less the profile's [rows] skip]. 'all' adds the extra rows, still less the "
    "skip list; a row named by id always runs ('all,ID' adds a skipped one).",
)
@click.option(
    "--report/--no-report", default=True, show_default=True, help="Write the report after."
)
@click.option(
    "--audit/--no-audit",
    default=True,
    show_default=True,
    help="Check the training stores' label conventions (units, ranges, a sign/swap "
    "cross-check against the test store) before fitting; a likely mistake stops the run.",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="When another run holds --work or --results: wait for it, or stop at once.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@fail_cleanly
def run(
    suite_name,
    profile,
    data_mode,
    mpiigaze,
    unityeyes,
    utmultiview,
    work_dir,
    results_dir,
    seeds,
    jobs,
    backend,
    scheduler,
    device,
    precision,
    threads,
    row_threads,
    eval_split,
    protocol,
    folds,
    rows,
    report,
    audit,
    wait,
    quiet,
) -> None:
    """Reproduce a suite (default: SimGAN's Table 1) end to end. Re-running skips finished work;
    a killed run resumes where it died."""
    from benchmarks.pipeline.run import RunOptions, run_suite
    from benchmarks.pipeline.sources import resolve_roots
    from benchmarks.pipeline.suite import load_profile, load_suite

    suite = load_suite(suite_name)
    prof = load_profile(profile)
    name = prof["profile"]["name"]
    opts = RunOptions(
        data_mode=data_mode,
        work_dir=work_dir,
        results_dir=results_dir
        or Path("results/runs")
        / (
            f"{suite.name}-{data_mode}-{name}{'-dev' * (eval_split == 'dev')}"
            f"{'-strict' * (protocol == 'strict')}"
        ),
        seeds=seeds,
        jobs=jobs,
        device=device,
        precision=precision,
        threads=threads,
        row_threads=row_threads,
        backend=backend,
        scheduler=scheduler,
        eval_split=eval_split,
        protocol=protocol,
        folds=folds,
        roots=resolve_roots(
            {"MPIIGaze": mpiigaze, "UnityEyes": unityeyes, "UT Multiview": utmultiview}
        ),
        only_rows=[r.strip() for r in rows.split(",")] if rows else None,
        progress=not quiet,
        audit=audit,
        wait=wait,
        command=command_line(),
    )
    on_interrupt_kept(
        f"finished stores and the refiner's last checkpoint are kept in {opts.work_dir}, finished "
        f"rows in {opts.results_dir / 'rows.jsonl'}; the same command resumes from there"
    )
    run_suite(suite, prof, opts, log=lambda m: click.echo(m, err=True))
    if report:
        from benchmarks.reporting.report import write_report

        written = write_report(opts.results_dir)
        click.echo(f"report: {written['markdown']}")
