"""Result rows: one self-describing JSON object per (suite row, seed), appended to a JSONL file.

Rows are append-only (lm-evaluation-harness style): a re-run appends, never edits. Readers take
the newest row for each (row_id, seed). Per-sample predictions live next to the rows in
``preds/<key>.npz`` so reports can compute confidence intervals and curves without retraining.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from estimators.base import MissingFileError

SCHEMA = "gazebench.result/1"
ROWS_FILE = "rows.jsonl"
# what a row measured: its sizes and its errors (error_summary's keys)
MEASURED = (
    "n_train",
    "n_test",
    "err_mean_deg",
    "err_median_deg",
    "err_std_deg",
    "within_7deg_pct",
)
REQUIRED = (
    "schema",
    "suite",
    "row_id",
    "method",
    "train_source",
    "test_source",
    "seed",
    *MEASURED,
    "fit_s",
    "predict_s",
    "data_mode",
    "provenance",
)


def error_summary(err_deg: np.ndarray) -> dict[str, float]:
    """Mean / median / std of per-sample errors (degrees) and % within 7 degrees."""
    err_deg = np.asarray(err_deg, dtype=np.float64)
    return {
        "err_mean_deg": float(err_deg.mean()),
        "err_median_deg": float(np.median(err_deg)),
        "err_std_deg": float(err_deg.std()),
        "within_7deg_pct": float(100.0 * (err_deg <= 7.0).mean()),
    }


def append_row(results_dir: str | Path, row: dict[str, Any]) -> None:
    """Append one result row (validated) as a single line; a crash cannot leave half a row
    readable because the line is written with one write() call and readers skip bad lines."""
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        raise ValueError(f"result row {row.get('row_id', '?')}: missing {', '.join(missing)}")
    path = Path(results_dir) / ROWS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, sort_keys=False, default=str) + "\n"
    with open(path, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_rows(results_dir: str | Path) -> list[dict[str, Any]]:
    """Every valid row in file order. A torn last line (killed mid-write) is ignored."""
    path = Path(results_dir) / ROWS_FILE
    if not path.is_file():
        raise MissingFileError(f"{path}: no results here (run `bench run` first)")
    rows = []
    with open(path) as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and row.get("schema") == SCHEMA:
                rows.append(row)
    return rows


def latest_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest row for each (row_id, seed), in first-seen order of row ids."""
    newest: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        newest[(row["row_id"], row["seed"])] = row
    return list(newest.values())


def save_predictions(
    path: Path,
    pred_pitchyaw_rad: np.ndarray,
    true_pitchyaw_rad: np.ndarray,
    err_deg: np.ndarray,
    subject: np.ndarray | None = None,
) -> None:
    """Per-sample predictions, labels, errors and test person ids (atomic write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.npz")
    np.savez_compressed(
        tmp,
        pred_pitchyaw_rad=pred_pitchyaw_rad.astype(np.float32),
        true_pitchyaw_rad=true_pitchyaw_rad.astype(np.float32),
        err_deg=err_deg.astype(np.float32),
        subject=np.full(len(err_deg), -1, np.int32)
        if subject is None
        else subject.astype(np.int32),
    )
    os.replace(tmp, path)


def load_errors(results_dir: str | Path, row: dict[str, Any]) -> np.ndarray | None:
    """Per-sample errors (degrees) of a result row, or None if its predictions file is gone."""
    found = load_errors_by_subject(results_dir, row)
    return None if found is None else found[0]


def load_errors_by_subject(
    results_dir: str | Path, row: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray] | None:
    """(err_deg float64 (n,), subject int32 (n,)) of a row; None if its predictions are gone.
    Rows written before person ids were saved get subject -1 throughout."""
    rel = row.get("preds_file")
    path = Path(results_dir) / rel if rel else None
    if path is None or not path.is_file():
        return None
    with np.load(path) as z:
        err = z["err_deg"].astype(np.float64)
        subject = z["subject"] if "subject" in z else np.full(len(err), -1, np.int32)
    return err, subject.astype(np.int32)
