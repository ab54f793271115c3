"""One `bench run` at a time per work directory (and per results directory).

Two runs on one ``--work`` used to race: the second crashed on the first's half-written
``.NAME.partial`` store, or both trained the same refiner directory (every ``losses.csv`` line
twice). Every stage's resume logic (partial stores, refiner checkpoints) assumes it is the only
writer, so :func:`dir_lock` makes that true: an exclusive ``fcntl.flock`` on ``DIR/.lock``, held
for the whole run. A second run waits for it (one log line naming the holder) or, with
``wait=False``, stops with one line. The kernel drops the lock when its process dies, however it
dies, so a killed run never leaves a stale lock behind; the next run then resumes what it left.

The lock is re-entrant within a process (`bench stability` runs several suites on one work dir),
and never deleted (a waiter holds the old file open; deleting it would let a third run in).
flock works between processes of one machine; on a network filesystem it may not (NFS, some
cluster filesystems): do not share one ``--work`` between machines' drivers.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from estimators.base import UserError

LOCK_NAME = ".lock"
_HELD: dict[Path, int] = {}  # lock file -> how many dir_lock blocks of this process hold it


def _holder(fd: int) -> str:
    """Who holds the lock, as the holder wrote it (best effort: it may be mid-write)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')} ({info.get('command')})"


@contextlib.contextmanager
def dir_lock(
    directory: Path, what: str, log: Callable[[str], None], wait: bool = True
) -> Iterator[None]:
    """Hold ``directory/.lock`` exclusively for the block (``what``: "work", "results": the
    option it came from, for messages). Creates the directory."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory.resolve() / LOCK_NAME
        if path in _HELD:
            _HELD[path] += 1
            try:
                yield
            finally:
                _HELD[path] -= 1
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise UserError(
            f"--{what} {directory}: cannot create or write it ({e.strerror or e})"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise UserError(
                    f"--{what} {directory} is in use by {holder}; wait for it to finish "
                    "(drop --no-wait) or use another directory"
                ) from None
            log(f"--{what} {directory} is in use by {holder}; waiting for it to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        me = {
            "pid": os.getpid(),
            "host": platform.node(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(["bench", *sys.argv[1:]])[:300],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        _HELD[path] = 1
        try:
            yield
        finally:
            del _HELD[path]
    finally:
        os.close(fd)  # closing the last descriptor releases the flock
