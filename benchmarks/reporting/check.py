"""`bench check`: compare the latest results with a committed baseline (a CI regression gate).

A baseline is a CSV with at least ``row_id`` and ``err_mean_deg`` (optionally a per-row
``tolerance_deg``). A row fails when its latest mean error (averaged over seeds) is worse than the
baseline by more than the tolerance, or when it is missing from the results.

A baseline also says what it is a baseline *of*, in three more columns repeated on every row
(plain columns, so any CSV reader, older gazebench included, still reads the file): ``profile``
(the profile's name), ``data_mode`` (demo / real) and ``config_hash`` (the profile as its file
writes it, plus the eval split: :func:`benchmarks.pipeline.suite.profile_config_hash`). `bench
check` refuses results whose rows say otherwise (exit 2), and `--write-baseline` refuses to
replace a baseline of another profile, or to drop its rows, without ``--force``. A baseline
without these columns (written before them) is checked on its numbers alone.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.records.rows import MEASURED, latest_rows, read_rows
from estimators.base import MissingFileError, UserError
from torchkit.files import write_text_atomic


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


@dataclass(frozen=True)
class BaselineOf:
    """What a baseline (or a set of result rows) is of; the field names are the CSV columns."""

    profile: str | None
    data_mode: str | None
    config_hash: str | None

    def __str__(self) -> str:
        return f"profile {self.profile}, data {self.data_mode}, config {self.config_hash}"

    def differences(self, other: BaselineOf) -> str:
        return "; ".join(
            f"{f.name} {a or 'unrecorded'} vs {b or 'unrecorded'}"
            for f, a, b in zip(fields(self), astuple(self), astuple(other), strict=True)
            if a != b
        )


META_COLUMNS = tuple(f.name for f in fields(BaselineOf))


def read_baseline(path: str | Path) -> pd.DataFrame:
    """The baseline's rows; a UserError (one line, naming the file) for anything unusable."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such baseline file")
    try:
        df = pd.read_csv(path, dtype={c: str for c in ("row_id", *META_COLUMNS)})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise UserError(f"{path}: not a readable CSV ({e})") from None
    missing = [c for c in ("row_id", "err_mean_deg") if c not in df.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    if df["err_mean_deg"].isna().any():
        raise UserError(
            f"{path}: err_mean_deg is empty for row(s) "
            f"{', '.join(df.loc[df['err_mean_deg'].isna(), 'row_id'])}"
        )
    for col in ("err_mean_deg", "tolerance_deg"):
        if col not in df.columns:
            continue
        numbers = pd.to_numeric(df[col], errors="coerce")
        bad = numbers.isna() & df[col].notna()
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise UserError(
                f"{path}: {col} must be a number of degrees, got {df[col].iloc[i]!r} "
                f"(row {df['row_id'].iloc[i]})"
            )
        df[col] = numbers
    dupes = sorted(set(df.loc[df["row_id"].duplicated(), "row_id"]))
    if dupes:
        raise UserError(f"{path}: row_id(s) listed twice: {', '.join(dupes)}")
    return df


def baseline_of(df: pd.DataFrame, path: str | Path) -> BaselineOf | None:
    """What the baseline says it is of (None: a file written before the metadata columns)."""
    have = [c for c in META_COLUMNS if c in df.columns]
    if not have:
        return None
    if len(have) < len(META_COLUMNS):
        lacking = ", ".join(c for c in META_COLUMNS if c not in have)
        raise UserError(f"{path}: has {', '.join(have)} but not {lacking}")
    values = {c: sorted(set(df[c].dropna())) for c in META_COLUMNS}
    if any(len(v) != 1 for v in values.values()):
        mixed = ", ".join(c for c, v in values.items() if len(v) != 1)
        raise UserError(f"{path}: {mixed} must hold one value on every row")
    return BaselineOf(**{c: v[0] for c, v in values.items()})


def results_of(rows: list[dict], where: str | Path) -> BaselineOf:
    """What a results directory's latest rows are of; a UserError when they mix profiles."""
    seen = {
        BaselineOf(r.get("profile"), r.get("data_mode"), r.get("profile_config_hash")) for r in rows
    }
    if len(seen) != 1:
        listed = " | ".join(sorted(str(s) for s in seen))
        raise UserError(f"{where}: the latest rows mix runs of {listed}; check one at a time")
    return seen.pop()


def _latest_means(results_dir: str | Path) -> tuple[dict[str, float], BaselineOf]:
    rows = latest_rows(read_rows(results_dir))
    latest: dict[str, list[float]] = {}
    for r in rows:
        latest.setdefault(r["row_id"], []).append(r["err_mean_deg"])
    of = results_of(rows, results_dir)
    return {k: float(np.mean(v)) for k, v in latest.items()}, of


def check(
    results_dir: str | Path, baseline: str | Path, tolerance_deg: float = 0.5
) -> list[CheckLine]:
    """One CheckLine per baseline row (the baseline's own tolerance_deg wins where given).
    Raises UserError when the baseline is of another profile, data mode or config."""
    base = read_baseline(baseline)
    latest, results = _latest_means(results_dir)
    expected = baseline_of(base, baseline)
    if expected is not None and expected != results:
        raise UserError(
            f"{baseline} is a baseline of another run ({expected.differences(results)} in "
            f"{results_dir}); check against that run's baseline, or re-freeze this one with "
            "--write-baseline --force"
        )
    out = []
    for b in base.itertuples():
        tol = tolerance_deg
        if "tolerance_deg" in base.columns and not pd.isna(b.tolerance_deg):
            tol = float(b.tolerance_deg)
        if b.row_id not in latest:
            out.append(CheckLine(b.row_id, "missing", float(b.err_mean_deg), None, tol))
            continue
        result = latest[b.row_id]
        status = "worse" if result > float(b.err_mean_deg) + tol else "ok"
        out.append(CheckLine(b.row_id, status, float(b.err_mean_deg), result, tol))
    return out


def _refuse_replacing(out: Path, of: BaselineOf, ids: list[str]) -> dict[str, float]:
    """The existing baseline's tolerances by row (kept on re-freeze), or a UserError when
    replacing it would change what it baselines or drop rows (overridden by --force)."""
    old = read_baseline(out)
    old_of = baseline_of(old, out)
    if old_of is None:
        raise UserError(f"{out}: records no profile (an older baseline); pass --force to replace")
    if old_of != of:
        raise UserError(
            f"{out}: a baseline of {old_of}, not of these results ({of}); "
            "pass --force to replace it"
        )
    dropped = [r for r in old["row_id"] if r not in ids]
    if dropped:
        raise UserError(
            f"{out}: these results lack its row(s) {', '.join(dropped)}; pass --force to drop them"
        )
    if "tolerance_deg" not in old.columns:
        return {}
    tolerances = zip(old["row_id"], old["tolerance_deg"], strict=True)
    return {r: float(t) for r, t in tolerances if not pd.isna(t)}


def write_baseline(
    results_dir: str | Path, out: str | Path, tolerance_deg: float, force: bool = False
) -> Path:
    """Freeze the latest results as a baseline CSV (for `bench check --write-baseline`), with
    what they are of. A row the existing baseline has keeps its tolerance_deg."""
    latest, of = _latest_means(results_dir)
    out = Path(out)
    kept: dict[str, float] = {}
    if out.exists() and not force:
        kept = _refuse_replacing(out, of, list(latest))
    df = pd.DataFrame(
        {
            "row_id": list(latest),
            "err_mean_deg": [round(v, 3) for v in latest.values()],
            "tolerance_deg": [kept.get(r, tolerance_deg) for r in latest],
            **{c: getattr(of, c) for c in META_COLUMNS},
        }
    )
    return write_text_atomic(out, df.to_csv(index=False))


# What must match for two runs to be "the same row for row": the cell (its cache key says which
# config, inputs and thread count) and every number it measured; timings are allowed to differ.
SAME_FIELDS = ("stage_key", *MEASURED)


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
