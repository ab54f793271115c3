"""The `bench` command line. Commands live in benchmarks/commands/; this file only wires them."""

from __future__ import annotations

import click

from benchmarks.commands.check import check_cmd
from benchmarks.commands.data import data
from benchmarks.commands.perf import perf
from benchmarks.commands.refine import refine
from benchmarks.commands.report import report
from benchmarks.commands.run import run
from benchmarks.commands.select import select
from benchmarks.commands.stability import stability
from benchmarks.commands.turing import turing


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gazebench")
def main() -> None:
    """gazebench: reproduce SimGAN's Table 1 (sim-to-real gaze estimation) end to end.

    Without real datasets everything runs on the built-in demo eye domain; demo numbers are
    labelled as such and are never MPIIGaze results.
    """


main.add_command(run)
main.add_command(report)
main.add_command(check_cmd)
main.add_command(data)
main.add_command(perf)
main.add_command(refine)
main.add_command(stability)
main.add_command(select)
main.add_command(turing)

if __name__ == "__main__":
    main()
