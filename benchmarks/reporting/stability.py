"""The stability table: refined vs synthetic CNN (and kNN) over seeds x torch thread counts.

Reads the result directories that ``bench stability`` filled (one per thread count, each with
rows for ``cnn-synthetic``, ``cnn-refined``, ``knn-synthetic`` and ``knn-refined`` over seeds,
and the refiner's diagnostics per seed) and writes one markdown table with a row per
(seed, threads) run and the pass/fail of the headline's criteria, judged on the split the recipe
was developed on (the development people). The same runs scored on the test people, after the
recipe was frozen, may stand beside them (``beside``): shown, never judged on. Demo numbers only:
the table says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.records.rows import latest_rows, read_rows
from estimators.base import UserError
from torchkit.files import write_text_atomic

MIN_GAIN_PCT_EACH = 20.0  # refined beats synthetic by at least this in every run
MIN_GAIN_PCT_MEAN = 30.0  # ... and by at least this on the mean
MAX_LABEL_RATIO = 1.05  # the frozen probe's error on R(x) within 5 % of its error on x


def stability_runs(results_dirs: dict[int, Path]) -> list[dict[str, Any]]:
    """One dict per (threads, seed) with both CNN errors, the gain, both kNN errors (None where
    the kNN rows were not run) and the refiner's diagnostics."""
    runs = []
    for threads, rdir in sorted(results_dirs.items()):
        if not (rdir / "rows.jsonl").is_file():  # this thread count not run (yet)
            continue
        rows = latest_rows(read_rows(rdir))
        by = {(r["row_id"], r["seed"]): r for r in rows}
        for seed in sorted({r["seed"] for r in rows}):
            syn, ref = by.get(("cnn-synthetic", seed)), by.get(("cnn-refined", seed))
            if syn is None or ref is None:
                continue
            knn_syn, knn_ref = by.get(("knn-synthetic", seed)), by.get(("knn-refined", seed))
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
                    "knn_synthetic_err_deg": knn_syn["err_mean_deg"] if knn_syn else None,
                    "knn_refined_err_deg": knn_ref["err_mean_deg"] if knn_ref else None,
                    "gap_closed": diag.get("realism_gap_closed"),
                    "abs_diff_grey": diag.get("mean_abs_diff_grey"),
                    "label_ratio": diag.get("label_ratio_no_refit"),
                    # an input-lit R: label_ratio is against its relit input; this, the whole map
                    "label_ratio_whole": diag.get("label_ratio_no_refit_vs_synthetic"),
                    "label_ratio_refit": refit / on_x if on_x and refit else None,
                    "selected_step": sel.get("selected_step"),
                    "git_sha": ref["provenance"].get("git_sha", "unknown")[:10],
                    "git_dirty": ref["provenance"].get("git_dirty"),
                    "machine": _machine(ref.get("numerics") or {}),
                    "eval_split": ref.get("eval_split", "test"),
                }
            )
    return runs


def _machine(numerics: dict[str, Any]) -> str | None:
    """The CPU a run's rows came from, e.g. "AMD EPYC, avx512" (its widest vector unit): runs
    of one table may come from several machines (sessions build a table up), and the same seed
    gives other numbers on another vector unit."""
    model = numerics.get("cpu_model")
    if model is None:
        return None
    flags = numerics.get("cpu_flags") or []
    wide = next((f for f in ("avx512", "avx2") if any(x.startswith(f) for x in flags)), None)
    return model if wide is None else f"{model}, {wide}"


def _fmt(v: Any, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def _knn_delta(r: dict[str, Any]) -> float | None:
    a, b = r.get("knn_refined_err_deg"), r.get("knn_synthetic_err_deg")
    return None if a is None or b is None else a - b


def stability_markdown(
    runs: list[dict[str, Any]],
    title: str,
    command: str,
    beside: list[dict[str, Any]] | None = None,
    expected: list[tuple[int, int]] | None = None,
) -> str:
    """The table, its summary and the pass/fail of the four criteria (judged on ``runs``);
    ``beside``: the same (seed, threads) runs scored on another split, shown next to them;
    ``expected``: the (seed, threads) runs asked for, so that those not run yet are named and
    the criteria say they are judged on part of them."""
    if not runs:
        raise UserError("no finished (seed, threads) runs with both CNN rows to tabulate")
    gains = np.array([r["gain_pct"] for r in runs])
    ratios = [r["label_ratio"] for r in runs if r["label_ratio"] is not None]
    deltas = [d for d in map(_knn_delta, runs) if d is not None]
    split = sorted({r["eval_split"] for r in runs})
    other = {(r["seed"], r["threads"]): r for r in beside or []}
    other_split = sorted({r["eval_split"] for r in beside or []})
    head = (
        "| seed | torch threads | synthetic err (deg) | refined err (deg) | gain | kNN refined "
        "- synthetic (deg) | labels: no-refit ratio | (refit ratio) | realism gap closed | "
        "abs(R(x) - x) (grey) | selected step |"
    )
    lit = any(r.get("label_ratio_whole") is not None for r in runs)
    if lit:
        head += " (ratio, light included) |"
    if other:
        head += f" {'+'.join(other_split)}: synthetic / refined (deg), gain |"
    head += " machine |"
    lines = [
        f"# {title}",
        "",
        "Demo domain (procedural eyes), not MPIIGaze. Paper CNN (and kNN) trained on synthetic vs",
        f"on refined images, scored on the demo's `wild` {' + '.join(split)} people. Written by "
        f"`{command}`.",
        "",
        head,
        "|---" * (head.count("|") - 1) + "|",
    ]
    for r in runs:
        line = (
            f"| {r['seed']} | {r['threads']} | {r['synthetic_err_deg']:.2f} | "
            f"{r['refined_err_deg']:.2f} | {r['gain_pct']:+.1f} % | "
            f"{_fmt(_knn_delta(r), '+.2f')} | {_fmt(r['label_ratio'], '.3f')} | "
            f"{_fmt(r.get('label_ratio_refit'), '.3f')} | {_fmt(r['gap_closed'], '.0%')} | "
            f"{_fmt(r['abs_diff_grey'], '.1f')} | {_fmt(r['selected_step'], 'd')} |"
        )
        if lit:
            line += f" {_fmt(r.get('label_ratio_whole'), '.3f')} |"
        if other:
            o = other.get((r["seed"], r["threads"]))
            line += (
                f" {o['synthetic_err_deg']:.2f} / {o['refined_err_deg']:.2f}, "
                f"{o['gain_pct']:+.1f} % |"
                if o
                else " – |"
            )
        lines.append(line + f" {r.get('machine') or '–'} |")
    each = bool((gains >= MIN_GAIN_PCT_EACH).all())
    mean = bool(gains.mean() >= MIN_GAIN_PCT_MEAN)
    labels = len(ratios) == len(runs) and all(x <= MAX_LABEL_RATIO for x in ratios)
    knn_ok = bool(deltas) and len(deltas) == len(runs) and float(np.mean(deltas)) <= 0.0
    have = {(r["seed"], r["threads"]) for r in runs}
    missing = sorted(set(expected or []) - have, key=lambda st: (st[1], st[0]))
    of = f" of {len(have | set(expected or []))}" if missing else ""
    lines += [
        "",
        f"**{len(runs)}{of} runs.** Gain (1 - refined / synthetic error): mean {gains.mean():.1f} %, "
        f"std {gains.std(ddof=1) if len(gains) > 1 else 0.0:.1f} %, min {gains.min():.1f} %, "
        f"max {gains.max():.1f} %."
        + (f" kNN refined - synthetic: mean {np.mean(deltas):+.2f} deg." if deltas else ""),
        "",
        f"- every run gains >= {MIN_GAIN_PCT_EACH:.0f} %: {'yes' if each else '**no**'}",
        f"- mean gain >= {MIN_GAIN_PCT_MEAN:.0f} %: {'yes' if mean else '**no**'}",
        f"- labels kept in every run (frozen probe's error on R(x) within "
        f"{MAX_LABEL_RATIO - 1:.0%} of on x): {'yes' if labels else '**no**'}"
        + (
            "; x is what R refined, the synthetic image relit by the input light, which moves "
            "no edge (the ratio with the light included stands beside)"
            if lit
            else ""
        ),
        f"- kNN refined no worse than kNN synthetic on the mean: {'yes' if knn_ok else '**no**'}",
    ]
    if missing:
        by_threads: dict[int, list[int]] = {}
        for seed, threads in missing:
            by_threads.setdefault(threads, []).append(seed)
        lines += [
            "",
            f"**Not run yet** ({len(missing)} runs; the criteria above are judged on the "
            f"{len(runs)} that were): "
            + "; ".join(
                f"seed{'s' if len(s) > 1 else ''} {', '.join(map(str, s))} on {t} "
                f"thread{'s' if t > 1 else ''}"
                for t, s in sorted(by_threads.items())
            )
            + ".",
        ]
    if other:
        og = np.array([o["gain_pct"] for o in other.values()])
        lines += [
            "",
            f"Beside them, the same runs on the {' + '.join(other_split)} people, scored once "
            f"after the recipe was frozen (shown, not judged on): mean gain {og.mean():.1f} %, "
            f"min {og.min():.1f} %, max {og.max():.1f} %.",
        ]
    lines += ["", f"git {', '.join(sorted({r['git_sha'] for r in runs}))}"]
    return "\n".join(lines) + "\n"


def write_stability(
    results_dirs: dict[int, Path],
    out: Path,
    title: str,
    command: str,
    beside_dirs: dict[int, Path] | None = None,
    seeds: int | None = None,
) -> Path:
    """Write the table to ``out`` atomically (``beside_dirs``: the same runs on another split,
    shown beside; ``seeds``: seeds 0..seeds-1 under every thread count were asked for, those
    missing are named); returns the path."""

    def asked(dirs: dict[int, Path]) -> list[dict[str, Any]]:  # the runs of seeds 0..seeds-1
        return [r for r in stability_runs(dirs) if seeds is None or r["seed"] < seeds]

    beside = asked(beside_dirs) if beside_dirs else None
    expected = None if seeds is None else [(s, t) for t in results_dirs for s in range(seeds)]
    runs = asked(results_dirs)
    text = stability_markdown(runs, title, command, beside, expected)
    return write_text_atomic(out, text)
