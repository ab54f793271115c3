"""`bench select`: choose each classic estimator's defaults on its training source's people."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.commands.common import fail_cleanly, work_option

_STORE = click.Path(file_okay=False, path_type=Path)


@click.command("select")
@click.option(
    "--estimator",
    "estimators",
    multiple=True,
    help="Estimator or target to search (repeatable; default all). 'knn' covers knn (lab) and "
    "knn-synthetic (sim).",
)
@click.option("--profile", default="quick", show_default=True, help="Sizes and data_seed.")
@click.option("--grid", default="full", show_default=True, help="full, or tiny (CI size).")
@click.option("--n", "n_rows", default=3000, show_default=True, type=click.IntRange(2))
@click.option("--folds", "n_folds", default=3, show_default=True, type=click.IntRange(2))
@click.option("--seed", default=0, show_default=True, help="Subset, row split, random_state.")
@click.option("--lab-store", type=_STORE, help="A labelled lab store instead of demo lab.")
@click.option("--synthetic-store", type=_STORE, help="A synthetic store instead of demo sim.")
@work_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/demo/selection"),
    show_default=True,
    help="Where <target>.csv and selection.md go.",
)
@click.option("--quiet", is_flag=True, help="No progress lines.")
@fail_cleanly
def select(
    estimators, profile, grid, n_rows, n_folds, seed, lab_store, synthetic_store, work_dir, out,
    quiet,
) -> None:  # fmt: skip
    """Score each estimator's grid on person-disjoint folds of its training source (demo lab; sim
    for knn-synthetic, by rows), never on wild / test data, and write the chosen configs."""
    from benchmarks.pipeline.suite import data_seed, load_profile
    from benchmarks.selection.grids import pick_targets
    from benchmarks.selection.run import open_training_stores, run_selection

    targets = pick_targets(grid, list(estimators) or None)
    prof = load_profile(profile)
    paths = {"real-lab": lab_store, "synthetic": synthetic_store}
    stores = open_training_stores({t.source for t in targets}, prof, work_dir, paths, not quiet)
    given = lab_store is not None or synthetic_store is not None
    command = " ".join(
        ["bench select", f"--profile {prof['profile']['name']}", f"--grid {grid}",
         f"--n {n_rows}", f"--folds {n_folds}", f"--seed {seed}"]
        + [f"--estimator {e}" for e in estimators]
        + (["--lab-store ... / --synthetic-store ..."] if given else [])
    )  # fmt: skip
    log = None if quiet else (lambda m: click.echo(m, err=True))
    outcomes = run_selection(
        targets, stores, out, n_rows=n_rows, n_folds=n_folds, seed=seed,
        data_seed=None if given else data_seed(prof), command=command, log=log,
    )  # fmt: skip
    for o in outcomes:
        best = o.results[o.chosen]
        click.echo(f"{o.target.name}: {best.params} {best.err_deg:.3f} deg ({o.folds.describe()})")
    click.echo(f"wrote {out / 'selection.md'}")
