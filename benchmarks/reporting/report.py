"""`bench report`: a suite's report from the results directory alone (rows.jsonl + preds/ +
refiner/ + suite.json).

For Table 1 writes table1.md (the table, % within 7 degrees, provenance), table1.csv,
error_curves.png (fraction of test images within d degrees) and a copy of the refiner's sample
grid; a suite with ``layout = "leaderboard"`` (refiners.toml) gets the refiner leaderboard
(benchmarks/reporting/leaderboard.py) under its own file names. Title, row order and file names
come from the suite (suite.json). Nothing is retrained or re-read from the datasets.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.records.rows import (
    latest_rows,
    load_errors_by_subject,
    read_rows,
)
from benchmarks.reporting.curves import plot_curves
from benchmarks.reporting.leaderboard import leaderboard_columns, render_leaderboard
from benchmarks.reporting.per_person import paired_tests, per_person_errors, per_person_markdown
from benchmarks.reporting.protocol_info import compact, protocol_lines
from benchmarks.reporting.provenance_table import provenance_lines
from benchmarks.reporting.stats import subject_bootstrap_ci
from benchmarks.reporting.suite_info import report_info, suite_order
from estimators.base import UserError

BOOTSTRAP = 1000


def aggregate(results_dir: Path) -> pd.DataFrame:
    """One line per row_id: mean/std over seeds of the latest rows, CI from per-sample errors."""
    rows = latest_rows(read_rows(results_dir))
    by_id: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_id.setdefault(r["row_id"], []).append(r)
    order = suite_order(results_dir, rows)
    records = []
    for row_id in sorted(by_id, key=lambda i: order.get(i, len(order))):
        group = sorted(by_id[row_id], key=lambda r: r["seed"])
        errs = np.array([r["err_mean_deg"] for r in group])
        within = np.array([r["within_7deg_pct"] for r in group])
        runs = [x for x in (load_errors_by_subject(results_dir, r) for r in group) if x]
        lo = hi = np.nan
        ci_unit = "–"
        if runs and all((s >= 0).all() for _, s in runs):
            # a cluster bootstrap over test people, across seeds: people, not images, vary
            lo, hi = subject_bootstrap_ci(runs, n_boot=BOOTSTRAP, seed=0)
            ci_unit = "people"
        elif runs and len({len(e) for e, _ in runs}) == 1:  # people unknown: over images
            e = np.mean([e for e, _ in runs], axis=0)  # per test image, averaged over seeds
            rng = np.random.default_rng(0)
            boots = e[rng.integers(0, len(e), (BOOTSTRAP, len(e)))].mean(1)
            lo, hi = np.percentile(boots, [2.5, 97.5])
            ci_unit = "images"
        numerics = group[0].get("numerics") or {}  # threads, precision, CPU; {} for old rows
        dirty = {r["provenance"].get("git_dirty") for r in group}
        first = group[0]
        records.append(
            {
                "row_id": row_id,
                "label": first["label"],
                "train_source": first["train_source"],
                "train_scale": first.get("train_scale", 1),
                "rs": first["rs"],
                "extra": bool(first.get("extra")),
                "n_seeds": len(group),
                "err_mean_deg": errs.mean(),
                "err_std_deg": errs.std(ddof=1) if len(errs) > 1 else np.nan,
                "ci95_lo_deg": lo,
                "ci95_hi_deg": hi,
                "ci_unit": ci_unit,
                "paper_err_deg": first.get("paper_err_deg"),
                "within_7deg_pct": within.mean(),
                "paper_within7_pct": first.get("paper_within7_pct"),
                "n_train": first["n_train"],
                # rows the estimator fitted (SVR's subsample, the CNN's non-validation rows)
                "n_train_used": first.get("n_train_used", first["n_train"]),
                "n_test": first["n_test"],
                "fit_s": np.mean([r["fit_s"] for r in group]),
                "data_mode": first["data_mode"],
                "profile": first.get("profile"),
                "git_sha": first["provenance"]["git_sha"][:10],
                # uncommitted changes behind any seed's row (None: some row did not say)
                "git_dirty": True if True in dirty else (False if dirty == {False} else None),
                # the command lines that made its seeds' rows, distinct, joined by "; "
                "command": "; ".join(
                    dict.fromkeys(c for r in group if (c := r["provenance"].get("command")))
                )
                or None,
                "config_hash": first["provenance"]["config_hash"],
                "seeds": ",".join(str(r["seed"]) for r in group),
                "device": first["provenance"]["device"],
                "threads": numerics.get("torch_threads", "?"),
                "precision": numerics.get("precision", "numpy"),
                "test_source": first["test_source"],
                "train_dataset": first["train_dataset"],
                # the protocol and what the row used of the target domain (NaN: not recorded)
                "protocol": first.get("protocol", "transductive"),
                "folds": first.get("folds"),
                "refiner_people": compact(first["refiner_people"])
                if "refiner_people" in first
                else None,
                "refiner_sees_test_people": first.get("refiner_sees_test_people"),
                "target_labelled_n": first.get("target_labelled_n"),
                "target_unlabelled_n": first.get("target_unlabelled_n"),
            }
        )
    return pd.DataFrame.from_records(records)


TRAIN_NAMES = {
    "real": {
        "real-lab": "UT Multiview",
        "synthetic": "UnityEyes synthetic",
        "refined": "UnityEyes refined",
    },
    "demo": {"real-lab": "demo lab", "synthetic": "demo sim", "refined": "demo sim, refined"},
}


def _missing(x: Any) -> bool:
    return x is None or bool(pd.isna(x))


def _fmt(x: Any, digits: int = 1) -> str:
    return "–" if _missing(x) else f"{x:.{digits}f}"


def _train_name(r: Any, names: dict[str, str]) -> str:
    """'demo sim, refined 4x' / 'UnityEyes refined': the training data column of a row."""
    scale = f" {r.train_scale}x" if r.train_scale > 1 else ""
    return names.get(r.train_source, r.train_source) + scale


def render_markdown(df: pd.DataFrame, results_dir: Path, figures: dict[str, str]) -> str:
    mode = df["data_mode"].iloc[0]
    demo = mode == "demo"
    title = (
        "# Table 1 on the DEMO domain (procedural eyes, not MPIIGaze)"
        if demo
        else "# Table 1: gaze estimation on MPIIGaze"
    )
    lines = [title, ""]
    if demo:
        lines += [
            "> These are demo-domain numbers: procedural `sim` / `lab` / `wild` eyes standing in",
            "> for UnityEyes / UT Multiview / MPIIGaze. They show the pipeline and the ranking on a",
            "> controlled appearance gap; they are **not** MPIIGaze results. The paper column is the",
            "> paper's MPIIGaze number, shown for the shape of the table, not as a target.",
            "",
        ]
    lines += protocol_lines(latest_rows(read_rows(results_dir)), mode)
    names = TRAIN_NAMES["demo" if demo else "real"]
    lines += [
        "Mean angular error in degrees (lower is better); ours = mean ± std over seeds; "
        "95% CI by a cluster bootstrap over test people across seeds (over test images where "
        "people are unknown); Δ = ours − paper.",
        "",
        "| method | train data | R/S | ours | 95% CI | paper | Δ | seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in df.itertuples():
        train = _train_name(r, names)
        ours = _fmt(r.err_mean_deg, 2) + (
            "" if np.isnan(r.err_std_deg) else f" ± {r.err_std_deg:.2f}"
        )
        delta = "–" if _missing(r.paper_err_deg) else f"{r.err_mean_deg - r.paper_err_deg:+.1f}"
        label = r.label + (" *(extra)*" if r.extra else "")
        lines.append(
            f"| {label} | {train} | {r.rs} | {ours} | {_fmt(r.ci95_lo_deg)}–{_fmt(r.ci95_hi_deg)} "
            f"| {_fmt(r.paper_err_deg)} | {delta} | {r.n_seeds} |"
        )
    tests = paired_tests(results_dir, [tuple(p) for p in report_info(results_dir)["paired"]])
    if tests:
        lines += [
            "",
            "## Refined vs synthetic, paired over test people",
            "",
            "Per-person mean error (averaged over seeds) of the two rows; Wilcoxon signed-rank "
            "test over people, two-sided.",
            "",
            "| rows | people | mean Δ (deg) | people better with refined | p-value |",
            "|---|---|---|---|---|",
        ]
        for t in tests:
            lines.append(
                f"| `{t['b']}` vs `{t['a']}` | {t['n_people']} | {t['mean_diff_deg']:+.2f} | "
                f"{t['people_b_better']} / {t['n_people']} | {t['p_value']:.2g} |"
            )
    lines += [
        "",
        "## Test images within 7°",
        "",
        "| method | train data | ours (%) | paper (%) |",
        "|---|---|---|---|",
    ]
    for r in df.itertuples():
        train = _train_name(r, names)
        lines.append(
            f"| {r.label} | {train} | {r.within_7deg_pct:.1f} | {_fmt(r.paper_within7_pct)} |"
        )
    lines += per_person_markdown(per_person_errors(results_dir, list(df["row_id"])))
    for caption, name in figures.items():
        lines += ["", f"## {caption}", "", f"![{caption}]({name})"]
    lines += provenance_lines(df)
    lines += [
        "",
        f"Data mode: **{mode}**, profile: **{df['profile'].iloc[0]}**, protocol: "
        f"**{', '.join(dict.fromkeys(df['protocol']))}**. Test set: {df['test_source'].iloc[0]}.",
        "",
        "Training data per row:",
        "",
    ]
    lines += [f"- `{r.row_id}`: {r.train_dataset}" for r in df.itertuples()]
    lines += ["", f"Generated by `bench report` from `{results_dir}`.", ""]
    return "\n".join(lines)


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")
    write(tmp)
    tmp.replace(path)


def write_report(results_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write STEM.md, STEM.csv, error_curves.png (+ refiner_samples.png) into out_dir, where
    STEM and the layout come from the suite (table1 for SimGAN's Table 1, refiners for the
    refiner leaderboard)."""
    results_dir = Path(results_dir)
    out_dir = Path(out_dir) if out_dir else results_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    df = aggregate(results_dir)
    if df.empty:
        raise UserError(f"{results_dir}: rows.jsonl holds no result rows")
    info = report_info(results_dir)
    stem = info["report"]
    if info["layout"] == "leaderboard":
        df = leaderboard_columns(df, results_dir, info)
    demo = df["data_mode"].iloc[0] == "demo"
    written = {}
    csv_path = out_dir / f"{stem}.csv"
    _atomic_write(csv_path, lambda p: df.to_csv(p, index=False, float_format="%.4f"))
    written["csv"] = csv_path
    per_person = out_dir / f"{stem}_per_person.csv"
    people = per_person_errors(results_dir, list(df["row_id"]))
    _atomic_write(per_person, lambda p: people.to_csv(p, index=False, float_format="%.4f"))
    written["per_person"] = per_person
    figures = {"Cumulative error curves": "error_curves.png"}
    plot_curves(results_dir, df, out_dir / "error_curves.png", demo)
    written["curves"] = out_dir / "error_curves.png"
    grids = sorted((results_dir / "refiner").glob("seed*/samples.png"))
    if grids:
        dest = out_dir / "refiner_samples.png"
        if grids[0].resolve() != dest.resolve():
            shutil.copyfile(grids[0], dest)
        figures["Refiner samples (synthetic | refined | |refined − synthetic| | real)"] = dest.name
        written["samples"] = dest
    if info["layout"] == "leaderboard":
        text = render_leaderboard(df, results_dir, figures, info)
    else:
        text = render_markdown(df, results_dir, figures)
    md = out_dir / f"{stem}.md"
    _atomic_write(md, lambda p: p.write_text(text))
    written["markdown"] = md
    return written
