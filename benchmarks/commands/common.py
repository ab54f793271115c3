"""What every command shares: turning errors raised on purpose for the user into one clear line.

Only :class:`estimators.base.UserError` (bad files, bad config, unknown names; StoreError is one)
becomes ``error: ...`` and exit status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from estimators.base import UserError

EXIT_BAD_INPUT = 2  # bad input or a bad request (a regression gate's "worse" is 1, see check)


class BadInput(click.ClickException):
    """A one-line 'error: ...' that exits EXIT_BAD_INPUT (ClickException alone exits 1)."""

    exit_code = EXIT_BAD_INPUT


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
        "development set of other people (for developing a recipe without the test people).",
    )(fn)
