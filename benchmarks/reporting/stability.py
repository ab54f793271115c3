"""The stability table: refined vs synthetic CNN over seeds x torch thread counts.

Reads the result directories that ``bench stability`` filled (one per thread count, each with
rows for ``cnn-synthetic`` and ``cnn-refined`` over seeds, and the refiner's diagnostics per
seed) and writes one markdown table with a row per (seed, threads) run and the pass/fail of the
headline's criteria. Demo numbers only: the table says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.reporting.results import latest_rows, read_rows
from estimators.base import UserError
from torchkit.files import write_text_atomic

MIN_GAIN_PCT_EACH = 20.0  # refined beats synthetic by at least this in every run
MIN_GAIN_PCT_MEAN = 30.0  # ... and by at least this on the mean
MAX_LABEL_RATIO = 1.15  # refit-on-R(x) gaze error within 15 % of the error on x


def stability_runs(results_dirs: dict[int, Path]) -> list[dict[str, Any]]:
    """One dict per (threads, seed) with both CNN errors, the gain and the refiner's diagnostics."""
    runs = []
    for threads, rdir in sorted(results_dirs.items()):
        rows = latest_rows(read_rows(rdir))
        by = {(r["row_id"], r["seed"]): r for r in rows}
        for seed in sorted({r["seed"] for r in rows}):
            syn, ref = by.get(("cnn-synthetic", seed)), by.get(("cnn-refined", seed))
            if syn is None or ref is None:
                continue
            diag_path = rdir / "refiner" / f"seed{seed}" / "diagnostics.json"
            diag = json.loads(diag_path.read_text()) if diag_path.is_file() else {}
            sel_path = rdir / "refiner" / f"seed{seed}" / "selection.json"
            sel = json.loads(sel_path.read_text()) if sel_path.is_file() else {}
            on_x = diag.get("gaze_err_deg_on_x")
            refit = diag.get("gaze_err_deg_refit_on_refined")
            runs.append(
                {
                    "seed": seed,
                    "threads": threads,
                    "synthetic_err_deg": syn["err_mean_deg"],
                    "refined_err_deg": ref["err_mean_deg"],
                    "gain_pct": 100.0 * (1.0 - ref["err_mean_deg"] / syn["err_mean_deg"]),
                    "gap_closed": diag.get("realism_gap_closed"),
                    "abs_diff_grey": diag.get("mean_abs_diff_grey"),
                    "label_ratio": refit / on_x if on_x and refit else None,
                    "selected_step": sel.get("selected_step"),
                    "git_sha": ref["provenance"].get("git_sha", "unknown")[:10],
                    "eval_split": ref.get("eval_split", "test"),
                }
            )
    return runs


def _fmt(v: Any, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def stability_markdown(runs: list[dict[str, Any]], title: str, command: str) -> str:
    """The table, its summary and the pass/fail of the three criteria."""
    if not runs:
        raise UserError("no finished (seed, threads) runs with both CNN rows to tabulate")
    gains = np.array([r["gain_pct"] for r in runs])
    ratios = [r["label_ratio"] for r in runs if r["label_ratio"] is not None]
    split = sorted({r["eval_split"] for r in runs})
    lines = [
        f"# {title}",
        "",
        "Demo domain (procedural eyes), not MPIIGaze. Paper CNN trained on synthetic vs on refined",
        f"images, scored on the demo's `wild` {' + '.join(split)} people. Written by `{command}`.",
        "",
        "| seed | torch threads | synthetic err (deg) | refined err (deg) | gain | realism gap "
        "closed | abs(R(x) - x) (grey) | labels: refit / on x | selected step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['seed']} | {r['threads']} | {r['synthetic_err_deg']:.2f} | "
            f"{r['refined_err_deg']:.2f} | {r['gain_pct']:+.1f} % | "
            f"{_fmt(r['gap_closed'], '.0%')} | {_fmt(r['abs_diff_grey'], '.1f')} | "
            f"{_fmt(r['label_ratio'], '.3f')} | {_fmt(r['selected_step'], 'd')} |"
        )
    each = bool((gains >= MIN_GAIN_PCT_EACH).all())
    mean = bool(gains.mean() >= MIN_GAIN_PCT_MEAN)
    labels = len(ratios) == len(runs) and all(x <= MAX_LABEL_RATIO for x in ratios)
    lines += [
        "",
        f"**{len(runs)} runs.** Gain (1 - refined / synthetic error): mean {gains.mean():.1f} %, "
        f"std {gains.std(ddof=1) if len(gains) > 1 else 0.0:.1f} %, min {gains.min():.1f} %, "
        f"max {gains.max():.1f} %.",
        "",
        f"- every run gains >= {MIN_GAIN_PCT_EACH:.0f} %: {'yes' if each else '**no**'}",
        f"- mean gain >= {MIN_GAIN_PCT_MEAN:.0f} %: {'yes' if mean else '**no**'}",
        f"- labels kept in every run (refit on R(x) within {MAX_LABEL_RATIO - 1:.0%} of on x): "
        f"{'yes' if labels else '**no**'}",
        "",
        f"git {', '.join(sorted({r['git_sha'] for r in runs}))}",
    ]
    return "\n".join(lines) + "\n"


def write_stability(results_dirs: dict[int, Path], out: Path, title: str, command: str) -> Path:
    """Write the table to ``out`` atomically; returns the path."""
    text = stability_markdown(stability_runs(results_dirs), title, command)
    return write_text_atomic(out, text)
