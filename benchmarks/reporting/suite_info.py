"""What a report needs from its suite: title, layout, file stem, row order, paired rows.

`bench run` saves it beside the results (RESULTS/suite.json, from ``Suite.report_info``), so the
report reads the results directory alone and a suite given as a path keeps its order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.records.rows import latest_rows, read_rows
from benchmarks.records.suite_file import read_report_info

PAIRED = [("cnn-synthetic", "cnn-refined"), ("cnn-synthetic-4x", "cnn-refined-4x")]


def report_info(results_dir: Path, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The suite's report settings (title, layout, file stem, row order, pairs): from the
    results dir's suite.json (written by `bench run`); for older results, from the suite file of
    that name, else Table 1's defaults in file order."""
    path = Path(results_dir) / "suite.json"
    if path.is_file():
        info = json.loads(path.read_text())
    else:
        rows = latest_rows(read_rows(results_dir)) if rows is None else rows
        try:
            info = read_report_info(rows[0]["suite"])
        except (ValueError, FileNotFoundError, IndexError):
            ids = list(dict.fromkeys(r["row_id"] for r in rows))
            info = {"report": "table1", "layout": "table1", "row_order": ids}
    info.setdefault("layout", "table1")
    info.setdefault("report", "table1")
    if info["layout"] == "table1" and not info.get("paired"):
        info["paired"] = [list(p) for p in PAIRED]  # Table 1's own pairs, as ever
    return info


def suite_order(results_dir: Path, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Paper rows in the suite file's order, then extras; rows the suite lacks go last."""
    ids = list(report_info(results_dir, rows)["row_order"])
    ids += [r["row_id"] for r in rows if r["row_id"] not in ids]
    return {row_id: i for i, row_id in enumerate(dict.fromkeys(ids))}
