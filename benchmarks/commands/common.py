"""What every command shares: turning errors raised on purpose for the user into one clear line.

Only :class:`estimators.base.UserError` (bad files, bad config, unknown names; StoreError is one)
becomes ``error: ...`` and exit status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools

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
