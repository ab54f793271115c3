"""What every command shares: turning errors raised on purpose for the user into one clear line,
Ctrl-C into one line and exit 130, and the command line as given.

Only :class:`estimators.base.UserError` (bad files, bad config, unknown names; StoreError is one)
becomes ``error: ...`` and exit status 2. Anything else is a bug and keeps its traceback. Ctrl-C
anywhere becomes ``interrupted: <what was kept>`` and exit status 130 (benchmarks/cli.py; a
command says what it keeps with :func:`on_interrupt_kept`).
"""

from __future__ import annotations

import functools
import shlex
import sys
from pathlib import Path

import click

from estimators.base import UserError

EXIT_BAD_INPUT = 2  # bad input or a bad request (a regression gate's "worse" is 1, see check)
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it
_ARGV = "gazebench.argv"  # ctx.meta: the command line's arguments, as given
_KEPT = "gazebench.kept"  # ctx.meta: what an interrupted command keeps, said in its one line
KEPT_DEFAULT = (
    "what finished before Ctrl-C is kept and nothing half-written is (outputs are written "
    "atomically); run the same command again to continue"
)


class BadInput(click.ClickException):
    """A one-line 'error: ...' that exits EXIT_BAD_INPUT (ClickException alone exits 1)."""

    exit_code = EXIT_BAD_INPUT


def remember_argv(ctx: click.Context, args: list[str]) -> None:
    """Record the command line's arguments (the root command calls this) for command_line()."""
    ctx.meta[_ARGV] = list(args)


def command_line() -> str:
    """The command line that is running, e.g. ``bench run table1 --profile smoke``, quoted so
    that a shell runs it again."""
    ctx = click.get_current_context(silent=True)
    argv = ctx.meta.get(_ARGV) if ctx is not None else None
    if argv is None:
        argv = sys.argv[1:]
    return shlex.join(["bench", *argv])


def on_interrupt_kept(text: str) -> None:
    """Say what the running command keeps when Ctrl-C stops it (its one line on exit 130)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_KEPT] = text


def interrupted(ctx: click.Context) -> None:
    """Ctrl-C: one line saying what was kept, then exit EXIT_INTERRUPTED (the root command calls
    this instead of click's 'Aborted!' and exit 1)."""
    if sys.stderr.isatty():
        click.echo("", err=True)  # end a progress bar's line first
    click.echo(f"interrupted: {ctx.meta.get(_KEPT, KEPT_DEFAULT)}", err=True)
    ctx.exit(EXIT_INTERRUPTED)


def fail_cleanly(fn):
    """Decorator for click commands: a UserError exits 2 with one 'error: ...' line."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise BadInput(str(e)) from None

    return wrapper


def out_dir_option(help_text: str):
    """--out DIR (required): the directory a command writes; ``help_text`` says what lands there."""
    return click.option(
        "--out",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=help_text,
    )


def work_option(fn):
    """--work: the cache of stores and refiner runs (shared by run and stability)."""
    return click.option(
        "--work",
        "work_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("work"),
        envvar="GAZEBENCH_WORK",  # click reads it, so a bad value is click's one-line error
        show_envvar=True,
        show_default=True,
        help="Cache for stores and refiner runs.",
    )(fn)


def eval_option(fn):
    """--eval test|dev: the demo's test people, or its labelled development people."""
    return click.option(
        "--eval",
        "eval_split",
        type=click.Choice(["test", "dev"]),
        default="test",
        show_default=True,
        help="demo only: score on the test people (final numbers), or on a labelled "
        "development set of other people (for developing a recipe without the test people). "
        "Both score the same fitted models: a run with the other split on the same --work loads "
        "them, it does not retrain.",
    )(fn)
