"""What every command shares: turning expected failures into one clear line, not a traceback."""

from __future__ import annotations

import functools

import click

from benchmarks.datasets.store import StoreError

# Errors that describe bad input or a bad request; anything else is a bug and keeps its traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (StoreError, FileNotFoundError, ValueError)


def fail_cleanly(fn):
    """Decorator for click commands: expected errors exit 2 with one 'error: ...' line."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EXPECTED_ERRORS as e:
            raise click.ClickException(str(e)) from None

    return wrapper
