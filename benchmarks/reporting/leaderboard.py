"""The refiner leaderboard: fixed estimators trained on each refiner's output, side by side.

Reads only the results directory: rows.jsonl + preds/ (errors per test image and person) and
refiners/NAME/seedS/{fit.json, diagnostics.json} (written by `bench run` for every refiner).
Each row gets, next to its error, the paired comparison with the row of the same estimator on the
suite's control refiner (``baseline``, identity): Δ = row − control, per test person averaged
over seeds, Wilcoxon signed-rank over people. Realism and label preservation are SimGAN's
diagnostics (refine/diagnostics.py) applied to every refiner's output alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.records.rows import latest_rows, read_rows
from benchmarks.reporting.per_person import paired_tests


def _refiner_summary(results_dir: Path, name: str) -> dict[str, float]:
    """Means over seeds of a refiner's fit time and diagnostics (nan where absent)."""
    keys = {
        "realism_acc": "realism_acc_real_vs_refined",
        "realism_acc_synthetic": "realism_acc_real_vs_synthetic",
        "realism_gap_closed": "realism_gap_closed",
        "gaze_err_refit_deg": "gaze_err_deg_refit_on_refined",
        "label_ratio_no_refit": "label_ratio_no_refit",
        "gaze_err_on_refined_deg": "gaze_err_deg_on_refined",
        "mean_abs_diff_grey": "mean_abs_diff_grey",
    }
    vals: dict[str, list[float]] = {k: [] for k in [*keys, "refiner_fit_s"]}
    for seed_dir in sorted((results_dir / "refiners" / name).glob("seed*")):
        diag = seed_dir / "diagnostics.json"
        if diag.is_file():
            d = json.loads(diag.read_text())
            for out, key in keys.items():
                if isinstance(d.get(key), (int, float)):
                    vals[out].append(float(d[key]))
        fit = seed_dir / "fit.json"
        if fit.is_file() and isinstance(json.loads(fit.read_text()).get("fit_s"), (int, float)):
            vals["refiner_fit_s"].append(float(json.loads(fit.read_text())["fit_s"]))
    return {k: float(np.mean(v)) if v else np.nan for k, v in vals.items()}


def leaderboard_columns(df: pd.DataFrame, results_dir: Path, info: dict[str, Any]) -> pd.DataFrame:
    """``aggregate``'s table plus refiner, estimator, Δ vs the control row (paired over people)
    and the refiner's realism, label preservation and fit time (degrees, seconds)."""
    rows = latest_rows(read_rows(results_dir))
    refiner = {r["row_id"]: r.get("refiner") or "-" for r in rows}
    method = {r["row_id"]: r["method"] for r in rows}
    df = df.copy()
    df.insert(1, "refiner", [refiner[i] for i in df["row_id"]])
    df.insert(2, "estimator", [method[i] for i in df["row_id"]])
    control: dict[str, str] = {}  # estimator -> its first row on the control refiner
    for i, m, f in zip(df["row_id"], df["estimator"], df["refiner"], strict=True):
        if f == info.get("baseline", "identity"):
            control.setdefault(m, i)
    pairs = [(control[m], i) for i, m in zip(df["row_id"], df["estimator"], strict=True)
             if m in control and control[m] != i]  # fmt: skip
    tests = {t["b"]: t for t in paired_tests(results_dir, pairs)}
    for col, key in [("delta_vs_baseline_deg", "mean_diff_deg"), ("p_value", "p_value"),
                     ("people_better", "people_b_better"), ("n_people", "n_people")]:  # fmt: skip
        df[col] = [tests[i][key] if i in tests else np.nan for i in df["row_id"]]
    summaries = {name: _refiner_summary(results_dir, name) for name in set(df["refiner"])}
    for col in next(iter(summaries.values())):
        df[col] = [summaries[f][col] for f in df["refiner"]]
    return df


def _f(x: Any, fmt: str) -> str:
    return "–" if x is None or pd.isna(x) else format(x, fmt)


def render_leaderboard(
    df: pd.DataFrame, results_dir: Path, figures: dict[str, str], info: dict[str, Any]
) -> str:
    """The leaderboard's markdown: one table, the columns explained under it."""
    mode = df["data_mode"].iloc[0]
    base = info.get("baseline", "identity")
    lines = [f"# {info.get('title', 'Refiner leaderboard')}", ""]
    if mode == "demo":
        lines += ["> DEMO domain (procedural eyes standing in for UnityEyes → MPIIGaze): these",
                  "> numbers rank refiners on a controlled appearance gap; they are not MPIIGaze",
                  "> results.", ""]  # fmt: skip
    from benchmarks.reporting.protocol_info import protocol_lines

    lines += protocol_lines(latest_rows(read_rows(results_dir)), mode)
    lines += [
        "| refiner | estimator | error (deg) | 95% CI | Δ vs "
        f"{base} | p | people better | realism acc | gap closed | labels: no-refit ratio | "
        "gaze err refit | Δ grey | fit s | seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in df.itertuples():
        err = _f(r.err_mean_deg, ".2f") + (
            "" if pd.isna(r.err_std_deg) else f" ± {r.err_std_deg:.2f}"
        )
        better = "–" if pd.isna(r.n_people) else f"{int(r.people_better)} / {int(r.n_people)}"
        lines.append(
            f"| {r.refiner} | {r.estimator} | {err} | {_f(r.ci95_lo_deg, '.1f')}–"
            f"{_f(r.ci95_hi_deg, '.1f')} | {_f(r.delta_vs_baseline_deg, '+.2f')} "
            f"| {_f(r.p_value, '.2g')} | {better} | {_f(r.realism_acc, '.3f')} "
            f"| {_f(r.realism_gap_closed, '.2f')} | {_f(r.label_ratio_no_refit, '.3f')} "
            f"| {_f(r.gaze_err_refit_deg, '.2f')} "
            f"| {_f(r.mean_abs_diff_grey, '.1f')} | {_f(r.refiner_fit_s, '.1f')} | {r.n_seeds} |"
        )
    lines += [
        "",
        "- **error**: mean angular error on the test people, mean ± std over seeds; **95% CI**: "
        f"cluster bootstrap over test {df['ci_unit'].iloc[0]} across seeds.",
        f"- **Δ vs {base}**: this row − the same estimator trained on the `{base}` refiner's "
        "output (the synthetic images), per test person averaged over seeds (negative = "
        "refining helped); **p**: two-sided Wilcoxon signed-rank over people; **people "
        "better**: people whose error fell.",
        "- **realism acc**: held-out accuracy of a classifier panel telling real from refined "
        "images (0.5 = indistinguishable); **gap closed**: share of the real-vs-synthetic gap it "
        "removes (1 = as real as real).",
        "- **labels: no-refit ratio**: a frozen, tone-invariant gaze probe trained on synthetic "
        "images, its error on refined images / on the same images unrefined (1 = the gaze is "
        "where the label says; tone-only refiners score about 1, a moved iris well above).",
        "- **gaze err refit**: ridge regressor's gaze error (deg) refit on refined images (some "
        "gaze is still there when it stays low; a refit re-learns a systematic move, so it cannot "
        "see one); **Δ grey**: mean |R(x) − x| in grey levels.",
        "- **fit s**: the refiner's fit (SimGAN: training) time, mean over seeds.",
    ]
    for caption, name in figures.items():
        lines += ["", f"## {caption}", "", f"![{caption}]({name})"]
    lines += ["", f"Data mode: **{mode}**, profile: **{df['profile'].iloc[0]}**. "
              f"Test set: {df['test_source'].iloc[0]}.", "", "Training data per row:", ""]  # fmt: skip
    lines += [f"- `{r.row_id}`: {r.train_dataset}" for r in df.itertuples()]
    from benchmarks.reporting.provenance_table import made_by_lines

    lines += made_by_lines(df)
    lines += ["", f"Generated by `bench report` from `{results_dir}`.", ""]
    return "\n".join(lines)
