"""losses.csv for a run: means of every logged quantity over each log interval.

The running sums are part of the checkpoint and, on resume, rows after the checkpoint's step
are dropped, so a resumed run's CSV matches an uninterrupted one (apart from ``wall_s``).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

COLUMNS = (
    "step", "loss_r", "loss_r_adv", "loss_r_reg", "loss_d", "d_acc_real", "d_acc_refined",
    "loss_r_gaze",  # the gaze-consistency term (refine.consistency); blank when it is off
)  # fmt: skip
FILE = "losses.csv"


class Logbook:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / FILE
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.last: dict[str, float] = {}

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
            self.counts[k] = self.counts.get(k, 0) + 1

    def flush(self, step: int, wall_s: float) -> None:
        """Append one row of interval means (blank where a quantity was not measured)."""
        row = {"step": step}
        row.update({k: self.sums[k] / self.counts[k] for k in self.sums})
        self.last = dict(row)
        new = not self.path.is_file()
        with open(self.path, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow([*COLUMNS, "wall_s"])
            w.writerow([_fmt(row.get(c)) for c in COLUMNS] + [f"{wall_s:.2f}"])
        self.sums.clear()
        self.counts.clear()

    def rows(self) -> list[dict[str, float]]:
        if not self.path.is_file():
            return []
        with open(self.path, newline="") as f:
            return [
                {k: float(v) if v else math.nan for k, v in r.items()} for r in csv.DictReader(f)
            ]

    def state_dict(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "counts": dict(self.counts), "last": dict(self.last)}

    def load_state_dict(self, state: dict[str, Any], step: int) -> None:
        """Restore the running sums and drop CSV rows written after ``step`` (a killed run)."""
        self.sums, self.counts = dict(state["sums"]), dict(state["counts"])
        self.last = dict(state["last"])
        if self.path.is_file():
            with open(self.path, newline="") as f:
                lines = list(csv.reader(f))
            keep = [lines[0]] + [r for r in lines[1:] if r and int(r[0]) <= step]
            tmp = self.path.with_name(f".{FILE}.tmp-{os.getpid()}")
            with open(tmp, "w", newline="") as f:
                csv.writer(f).writerows(keep)
            os.replace(tmp, self.path)

    def plot(self) -> Path | None:
        from refine.plots import loss_curves

        rows = self.rows()
        return loss_curves(rows, self.path.with_suffix(".png")) if rows else None


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    return str(v) if isinstance(v, int) else f"{v:.6g}"
