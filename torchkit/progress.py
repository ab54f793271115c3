"""Progress bars that stay one line in a terminal and do not flood a log; no torch.

:func:`progress_bar` is the one way every stage (renders, dataset readers, the refiner, refining,
CNN epochs, the rows of a run) shows progress:

- **a terminal** (stderr is a TTY and ``CI`` is not set): a tqdm bar, one line redrawn in place;
- **a notebook**: tqdm's notebook widget (``tqdm.auto``);
- **anything else** (stderr redirected to a file or a pipe, a CI runner, which sets ``CI=true``):
  a redrawn bar would land there as one line per refresh, hundreds per stage, so the bar prints
  plain lines instead: one at each quarter of the way with the time spent and an estimate of
  the time left, and one at the end (:data:`LOG_LINES` at most). A transient bar (``leave=False``,
  e.g. a CNN's epochs inside a row, whose result has its own log line) prints nothing there.

``CI`` is read from the environment as every CI runner sets it, not as a gazebench setting.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

LOG_LINES = 4  # lines per bar in a log: at 25, 50 and 75 % and at the end


def interactive(stream: Any = None) -> bool:
    """Whether ``stream`` (default: stderr, where bars go) is a terminal a bar can redraw, and
    not a CI runner's log (``CI`` set to anything but empty, 0 or false)."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _in_notebook() -> bool:
    return "ipykernel" in sys.modules and not interactive()


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    initial: int = 0,
    enabled: bool = True,
    leave: bool = True,
    **tqdm_options: Any,
) -> Any:
    """A tqdm-like bar (``update``, ``set_postfix``, ``close``, iteration, ``with``) that fits
    where it is shown (module doc). ``enabled=False``: a silent one. ``tqdm_options`` reach tqdm
    only (a terminal or a notebook)."""
    if iterable is not None and total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if not enabled:
        from tqdm import tqdm

        return tqdm(iterable, total=total, disable=True)
    if interactive() or _in_notebook():
        from tqdm.auto import tqdm

        options = {"dynamic_ncols": True, **tqdm_options}
        return tqdm(
            iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave, **options
        )
    return LogProgress(
        iterable, total=total, desc=desc, unit=unit, initial=initial, quiet=not leave
    )


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


class LogProgress:
    """A bar for logs: a line at each quarter of ``total`` and one at :meth:`close` (none when
    ``quiet``, none when left by an exception in a ``with`` block: the error says the rest)."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        quiet: bool = False,
        stream: Any = None,
    ) -> None:
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n = self.start = int(initial)
        self.quiet = quiet
        self.stream = stream
        self.postfix = ""
        self.closed = False
        self.t0 = time.perf_counter()
        self._quarter = self._quarter_of(self.n)  # the last quarter a line was printed for
        self.lines_printed = 0

    def _quarter_of(self, n: int) -> int:
        if not self.total:
            return 0
        return min(LOG_LINES - 1, (LOG_LINES * n) // self.total)

    def _print(self, text: str) -> None:
        if self.quiet:
            return
        stream = self.stream if self.stream is not None else sys.stderr
        print(f"{self.desc}: {text}{self.postfix}", file=stream, flush=True)
        self.lines_printed += 1

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        quarter = self._quarter_of(self.n)
        if quarter > self._quarter and self.n < (self.total or 0):
            self._quarter = quarter
            spent = time.perf_counter() - self.t0
            done = self.n - self.start
            left = spent / done * (self.total - self.n) if done > 0 else None
            eta = f", ~{_clock(left)} left" if left is not None else ""
            self._print(
                f"{100 * self.n // self.total}% ({self.n:,}/{self.total:,} {self.unit}, "
                f"{_clock(spent)} spent{eta})"
            )

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kw) -> None:
        items = {**(ordered_dict or {}), **kw}
        shown = ", ".join(f"{k}={v}" for k, v in items.items() if v is not None)
        self.postfix = f" [{shown}]" if shown else ""

    def set_description(self, desc: str = "", refresh: bool = True) -> None:
        self.desc = desc

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        spent = _clock(time.perf_counter() - self.t0)
        of = f"/{self.total:,}" if self.total and self.n < self.total else ""
        self._print(f"done, {self.n:,}{of} {self.unit} in {spent}")

    def __iter__(self) -> Iterator:
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.closed = True  # an error or Ctrl-C: its own message says what happened
