"""Per-person errors of every row (a long CSV and a markdown section of the report), and the paired
comparison of two rows over test people (Table 1's pairs, the leaderboard's Δ vs the control).

A table's mean error pools test images; a reviewer also wants to see whether a method's lead
holds for most test people or comes from a few. Each row's per-sample errors (``preds/*.npz``,
with the test person of every sample) are averaged per person within a seed, then over seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.records.rows import latest_rows, load_errors_by_subject, read_rows
from benchmarks.reporting.stats import paired_subject_test, per_subject_mean


def per_person_errors(results_dir: str | Path, row_order: list[str]) -> pd.DataFrame:
    """Long table: row_id, subject (int), err_mean_deg (float, over that person's test images,
    averaged over seeds), n_seeds. Rows whose predictions lack person ids are left out."""
    by_id: dict[str, list] = {}
    for r in latest_rows(read_rows(results_dir)):
        found = load_errors_by_subject(results_dir, r)
        if found is not None and (found[1] >= 0).all():
            by_id.setdefault(r["row_id"], []).append(found)
    records = []
    for row_id in [i for i in row_order if i in by_id]:
        ids, means = per_subject_mean(by_id[row_id])
        for s, m in zip(ids, means, strict=True):
            records.append(
                {
                    "row_id": row_id,
                    "subject": int(s),
                    "err_mean_deg": float(m),
                    "n_seeds": len(by_id[row_id]),
                }
            )
    return pd.DataFrame.from_records(
        records, columns=["row_id", "subject", "err_mean_deg", "n_seeds"]
    )


def per_person_markdown(long: pd.DataFrame) -> list[str]:
    """Markdown lines: one table row per suite row, one column per test person (degrees)."""
    if long.empty:
        return []
    wide = long.pivot(index="row_id", columns="subject", values="err_mean_deg")
    wide = wide.reindex(list(dict.fromkeys(long["row_id"])))
    people = [int(c) for c in wide.columns]
    lines = [
        "",
        "## Per-person error",
        "",
        "Mean angular error (degrees) per test person, averaged over seeds; also in "
        "the report's `*_per_person.csv`.",
        "",
        "| row | " + " | ".join(f"p{p}" for p in people) + " | worst | best |",
        "|---|" + "---|" * (len(people) + 2),
    ]
    for row_id, vals in wide.iterrows():
        cells = " | ".join("–" if np.isnan(v) else f"{v:.1f}" for v in vals)
        lines.append(f"| {row_id} | {cells} | {np.nanmax(vals):.1f} | {np.nanmin(vals):.1f} |")
    return lines


def paired_tests(results_dir: Path, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Per-person paired comparison (Wilcoxon over test people, seeds averaged) of (a, b) rows;
    pairs whose rows or person ids are missing are left out."""
    rows = latest_rows(read_rows(results_dir))
    out = []
    for a, b in pairs:
        ra = [load_errors_by_subject(results_dir, r) for r in rows if r["row_id"] == a]
        rb = [load_errors_by_subject(results_dir, r) for r in rows if r["row_id"] == b]
        ra, rb = [x for x in ra if x], [x for x in rb if x]
        if not ra or not rb or any((s < 0).any() for _, s in ra + rb):
            continue
        out.append({"a": a, "b": b, **paired_subject_test(ra, rb)})
    return out
