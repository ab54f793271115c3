"""`bench check`: the regression gate; reads results only, never retrains."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from benchmarks.commands.common import fail_cleanly
from benchmarks.commands.report import _RESULTS


@click.command("check")
@click.option(
    "--baseline",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Baseline CSV (row_id, err_mean_deg[, tolerance_deg]).",
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
    help="Instead of checking, freeze the latest results into --baseline.",
)
@fail_cleanly
def check_cmd(
    baseline: Path, results_dir: Path, tolerance_deg: float, write_baseline: bool
) -> None:
    """Compare the latest results with a baseline, naming each row that got worse or is missing.

    \b
    Exit status:
      0  every baseline row is within tolerance
      1  a regression: a row is worse than baseline + tolerance, or has no result
      2  bad input: the baseline file is missing or unreadable, or there are no results
    A row's tolerance is the baseline's tolerance_deg column where given, else --tolerance-deg.
    """
    from benchmarks.reporting.check import check
    from benchmarks.reporting.check import write_baseline as freeze

    if write_baseline:
        click.echo(f"wrote {freeze(results_dir, baseline, tolerance_deg)}")
        return
    lines = check(results_dir, baseline, tolerance_deg)
    for line in lines:
        click.echo(str(line))
    bad = [ln.row_id for ln in lines if ln.status != "ok"]
    if bad:
        click.echo(f"check failed: {len(bad)} row(s) worse or missing: {', '.join(bad)}", err=True)
        sys.exit(1)
    click.echo(f"check passed: {len(lines)} row(s) within tolerance of {baseline}")
