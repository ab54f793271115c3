"""`bench check`: the regression gate; reads results only, never retrains."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from benchmarks.commands.common import fail_cleanly
from benchmarks.commands.report import _RESULTS
from estimators.base import UserError


@click.command("check")
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Baseline CSV (row_id, err_mean_deg[, tolerance_deg], profile, data_mode, config_hash).",
)
@click.option(
    "--same-as",
    type=click.Path(file_okay=False, path_type=Path),
    help="Instead of a baseline: another results directory whose latest rows must equal these "
    "row for row (same cells, same cache keys, identical numbers; e.g. serial vs dask).",
)
@_RESULTS
@click.option(
    "--tolerance-deg",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0),
    help="Allowed increase of a row's mean error (a baseline's tolerance_deg column wins).",
)
@click.option(
    "--write-baseline",
    is_flag=True,
    help="Instead of checking, freeze the latest results into --baseline (with their profile, "
    "data mode and config hash; rows it already has keep their tolerance_deg).",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --write-baseline: replace a baseline of another profile or config, or drop rows "
    "these results lack.",
)
@fail_cleanly
def check_cmd(
    baseline: Path | None,
    same_as: Path | None,
    results_dir: Path,
    tolerance_deg: float,
    write_baseline: bool,
    force: bool,
) -> None:
    """Compare the latest results with a baseline, naming each row that got worse or is missing.

    \b
    Exit status:
      0  every baseline row is within tolerance (--same-as: every row is equal)
      1  a regression: a row is worse than baseline + tolerance, or has no result
         (--same-as: a cell is missing from one side, or a number differs at all)
      2  bad input: the baseline file is missing or unreadable, holds a non-number, is a
         baseline of another profile, data mode or config than the results, or there are no
         results; --write-baseline over another profile's baseline without --force
    A row's tolerance is the baseline's tolerance_deg column where given, else --tolerance-deg.
    """
    from benchmarks.reporting.check import check, same_rows
    from benchmarks.reporting.check import write_baseline as freeze

    if (baseline is None) == (same_as is None):
        raise UserError("give exactly one of --baseline CSV and --same-as RESULTS_DIR")
    if same_as is not None:
        diffs = same_rows(results_dir, same_as)
        for line in diffs:
            click.echo(f"DIFFERS {line}")
        if diffs:
            click.echo(f"check failed: {len(diffs)} difference(s) from {same_as}", err=True)
            sys.exit(1)
        click.echo(f"check passed: {results_dir} equals {same_as} row for row")
        return
    if write_baseline:
        click.echo(f"wrote {freeze(results_dir, baseline, tolerance_deg, force)}")
        return
    lines = check(results_dir, baseline, tolerance_deg)
    for line in lines:
        click.echo(str(line))
    bad = [ln.row_id for ln in lines if ln.status != "ok"]
    if bad:
        click.echo(f"check failed: {len(bad)} row(s) worse or missing: {', '.join(bad)}", err=True)
        sys.exit(1)
    click.echo(f"check passed: {len(lines)} row(s) within tolerance of {baseline}")
