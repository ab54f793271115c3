"""Per-file faults found while reading a big dataset folder: skipped, counted, listed, never silent.

A reader keeps going past a bad file (a truncated .mat, an unreadable JPEG, a json missing a
field, a NaN label) so that one bad file never loses an hour of work. Each fault is one line
``<file>: <problem>``. When the store is written, the lines go to ``<store>.skipped.txt`` next to
the store directory, and the manifest records the count and the report's name, so the loss is
visible in ``bench data show`` and in every result that used the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.datasets.store import StoreError
from torchkit.files import write_text_atomic

#: How many fault lines an error message quotes before saying "and N more".
_QUOTE = 3


@dataclass
class FaultLog:
    """Collects ``<file>: <problem>`` lines for one store being built."""

    lines: list[str] = field(default_factory=list)

    def add(self, where: Path | str, problem: str) -> None:
        """Record that ``where`` (a file, or ``file (sample ...)``) was skipped because ``problem``."""
        self.lines.append(f"{where}: {problem}")

    def extend(self, lines: list[str]) -> None:
        self.lines.extend(lines)

    def __len__(self) -> int:
        return len(self.lines)

    def summary(self) -> str:
        """The first few lines, for an error message."""
        head = "; ".join(self.lines[:_QUOTE])
        more = len(self.lines) - _QUOTE
        return head + (f"; and {more} more" if more > 0 else "")


def report_path(store_path: Path) -> Path:
    """Where the skip report of the store at ``store_path`` lives: ``<store>.skipped.txt``."""
    store_path = Path(store_path)
    return store_path.with_name(f"{store_path.name}.skipped.txt")


def manifest_entry(store_path: Path, faults: FaultLog) -> dict:
    """Top-level manifest keys describing what was skipped (count and report file name)."""
    return {
        "skipped": len(faults),
        "skipped_report": report_path(store_path).name if len(faults) else None,
    }


def write_report(store_path: Path, faults: FaultLog) -> Path | None:
    """Write ``<store>.skipped.txt`` atomically (or remove a stale one when nothing was skipped)."""
    path = report_path(store_path)
    if not len(faults):
        path.unlink(missing_ok=True)
        return None
    return write_text_atomic(path, "\n".join(faults.lines) + "\n")


def require_some(n_kept: int, root: Path, faults: FaultLog, what: str) -> None:
    """Refuse to write an empty store: every file was faulty, so say which and why."""
    if n_kept == 0:
        detail = f" ({len(faults)} skipped: {faults.summary()})" if len(faults) else ""
        raise StoreError(f"{root}: no usable {what} found{detail}")
