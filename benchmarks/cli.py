"""The `bench` command line. Commands live in benchmarks/commands/; this file only wires them."""

from __future__ import annotations

import click

from benchmarks.commands.check import check_cmd
from benchmarks.commands.common import interrupted, remember_argv
from benchmarks.commands.data import data
from benchmarks.commands.perf import perf
from benchmarks.commands.pilot import pilot
from benchmarks.commands.refine import refine
from benchmarks.commands.report import report
from benchmarks.commands.run import run
from benchmarks.commands.select import select
from benchmarks.commands.stability import stability
from benchmarks.commands.turing import turing


class BenchGroup(click.Group):
    """The root command: remembers the command line (result rows record it) and turns Ctrl-C
    into one line saying what was kept and exit 130, not click's 'Aborted!' and exit 1."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        argv = list(args)
        ctx = super().make_context(info_name, list(argv), parent=parent, **extra)
        remember_argv(ctx, argv)
        return ctx

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            interrupted(ctx)


@click.group(cls=BenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
main.add_command(pilot)
main.add_command(select)
main.add_command(turing)

if __name__ == "__main__":
    main()
