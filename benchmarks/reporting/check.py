"""`bench check`: compare the latest results with a committed baseline (a CI regression gate).

A baseline is a CSV with at least ``row_id`` and ``err_mean_deg`` (optionally a per-row
``tolerance_deg``). A row fails when its latest mean error (averaged over seeds) is worse than the
baseline by more than the tolerance, or when it is missing from the results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.reporting.results import latest_rows, read_rows
from estimators.base import MissingFileError, UserError


@dataclass
class CheckLine:
    row_id: str
    status: str  # "ok" | "worse" | "missing"
    baseline_deg: float
    result_deg: float | None
    tolerance_deg: float

    def __str__(self) -> str:
        if self.status == "missing":
            return f"MISSING {self.row_id}: no result row (baseline {self.baseline_deg:.2f} deg)"
        word = "OK     " if self.status == "ok" else "WORSE  "
        return (
            f"{word}{self.row_id}: {self.result_deg:.2f} deg vs baseline {self.baseline_deg:.2f} "
            f"({self.result_deg - self.baseline_deg:+.2f}, tolerance {self.tolerance_deg:.2f})"
        )


def read_baseline(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such baseline file")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a readable CSV ({e})") from None
    missing = [c for c in ("row_id", "err_mean_deg") if c not in df.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    if df["err_mean_deg"].isna().any():
        raise UserError(
            f"{path}: err_mean_deg is empty for row(s) "
            f"{', '.join(df.loc[df['err_mean_deg'].isna(), 'row_id'])}"
        )
    return df


def check(
    results_dir: str | Path, baseline: str | Path, tolerance_deg: float = 0.5
) -> list[CheckLine]:
    """One CheckLine per baseline row (the baseline's own tolerance_deg wins where given)."""
    base = read_baseline(baseline)
    latest: dict[str, list[float]] = {}
    for r in latest_rows(read_rows(results_dir)):
        latest.setdefault(r["row_id"], []).append(r["err_mean_deg"])
    out = []
    for b in base.itertuples():
        tol = tolerance_deg
        if "tolerance_deg" in base.columns and not pd.isna(b.tolerance_deg):
            tol = float(b.tolerance_deg)
        if b.row_id not in latest:
            out.append(CheckLine(b.row_id, "missing", float(b.err_mean_deg), None, tol))
            continue
        result = float(np.mean(latest[b.row_id]))
        status = "worse" if result > float(b.err_mean_deg) + tol else "ok"
        out.append(CheckLine(b.row_id, status, float(b.err_mean_deg), result, tol))
    return out


def write_baseline(results_dir: str | Path, out: str | Path, tolerance_deg: float) -> Path:
    """Freeze the latest results as a baseline CSV (for `bench check --write-baseline`)."""
    latest: dict[str, list[float]] = {}
    for r in latest_rows(read_rows(results_dir)):
        latest.setdefault(r["row_id"], []).append(r["err_mean_deg"])
    df = pd.DataFrame(
        {
            "row_id": list(latest),
            "err_mean_deg": [round(float(np.mean(v)), 3) for v in latest.values()],
            "tolerance_deg": tolerance_deg,
        }
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}")
    df.to_csv(tmp, index=False)
    tmp.replace(out)
    return out


# What must match for two runs to be "the same row for row": the cell (its cache key says which
# config, inputs and thread count) and every number it measured; timings are allowed to differ.
SAME_FIELDS = (
    "stage_key",
    "n_train",
    "n_test",
    "err_mean_deg",
    "err_median_deg",
    "err_std_deg",
    "within_7deg_pct",
)


def same_rows(results_dir: str | Path, other_dir: str | Path) -> list[str]:
    """Differences between two results directories' latest rows, keyed by (row_id, seed):
    a cell in only one of them, or any SAME_FIELDS value not exactly equal (tolerance 0).
    An empty list means equal row for row."""
    mine = {(r["row_id"], r["seed"]): r for r in latest_rows(read_rows(results_dir))}
    theirs = {(r["row_id"], r["seed"]): r for r in latest_rows(read_rows(other_dir))}
    out = []
    for cell in sorted(mine.keys() | theirs.keys()):
        name = f"{cell[0]} seed {cell[1]}"
        if cell not in mine or cell not in theirs:
            where = results_dir if cell not in mine else other_dir
            out.append(f"{name}: missing from {where}")
            continue
        for field in SAME_FIELDS:
            a, b = mine[cell].get(field), theirs[cell].get(field)
            if a != b:
                out.append(f"{name}: {field} {a!r} != {b!r}")
    return out
