"""A refiner run's short report: what ran, how the losses moved, and whether it worked.

Reads the files `bench refine train` leaves in a run directory (config.json, run.json,
complete.json, losses.csv, diagnostics.json) and writes markdown; nothing is recomputed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from benchmarks.reporting.stability import MAX_LABEL_RATIO
from estimators.base import MissingFileError
from torchkit.files import write_text_atomic


def _json(run_dir: Path, name: str) -> dict[str, Any]:
    path = run_dir / name
    if not path.is_file():
        raise MissingFileError(f"{path}: missing (is {run_dir} a finished refiner run?)")
    return json.loads(path.read_text())


def _loss_rows(run_dir: Path) -> list[dict[str, str]]:
    path = run_dir / "losses.csv"
    if not path.is_file():
        raise MissingFileError(f"{path}: missing (is {run_dir} a finished refiner run?)")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def verdict(diag: dict[str, Any]) -> dict[str, Any]:
    """Did the realism gap close, and did labels survive (synthetic-label ridge refit on R(x)
    within 15 % of its error on x)?"""
    ratio = diag["gaze_err_deg_refit_on_refined"] / diag["gaze_err_deg_on_x"]
    return {
        "gap_closed": diag["realism_gap_closed"],
        "label_ratio": ratio,
        "gap_closes": diag["realism_gap_closed"] > 0.0,
        "labels_kept": ratio <= MAX_LABEL_RATIO,
    }


def _trajectory(rows: list[dict[str, str]], n: int = 8) -> list[str]:
    picks = (
        rows if len(rows) <= n else [rows[round(i * (len(rows) - 1) / (n - 1))] for i in range(n)]
    )
    cols = ("step", "loss_r_adv", "loss_r_reg", "loss_d", "d_acc_real", "d_acc_refined")
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in picks:
        out.append("| " + " | ".join((r.get(c) or "–")[:8] for c in cols) + " |")
    return out


def refiner_run_markdown(run_dir: str | Path, command: str | None = None) -> str:
    """Markdown report of one finished refiner run (``command``: how it was made, if given)."""
    run_dir = Path(run_dir)
    from refine.config import RefinerConfig

    # read back as the trainer does, so fields older runs lack show the behaviour they had
    cfg = RefinerConfig.from_dict(_json(run_dir, "config.json")).to_dict()
    run = _json(run_dir, "run.json")
    done, diag = _json(run_dir, "complete.json"), _json(run_dir, "diagnostics.json")
    v = verdict(diag)
    keys = ("loss_reduction", "optimizer", "lr", "lambda_reg", "batch_size", "refiner_width")
    keys += ("refiner_blocks", "pretrain_r_steps", "pretrain_d_steps", "steps", "buffer_size")
    lines = [f"# Refiner run `{run_dir.name}`", ""]
    if command:
        lines += ["Made by:", "", "```", command, "```", ""]
    lines += [
        "| setting | value |",
        "|---|---|",
        *(f"| {k} | {cfg.get(k)} |" for k in keys),
        f"| numerics | {json.dumps(run.get('numerics', {}), sort_keys=True)} |",
        f"| wall time | {done['wall_s']:.0f} s ({done['steps']} steps) |",
        f"| config hash | {done.get('config_hash', '?')} |",
        "",
        "## Losses (interval means; sums or means per loss_reduction)",
        "",
        *_trajectory(_loss_rows(run_dir)),
        "",
        "## Did it work (held-out classifiers; 0.5 = indistinguishable)",
        "",
        f"- realism: real vs synthetic {diag['realism_acc_real_vs_synthetic']:.3f}, "
        f"real vs refined {diag['realism_acc_real_vs_refined']:.3f}: gap closed "
        f"{100 * v['gap_closed']:.1f} % — {'closes' if v['gap_closes'] else 'does NOT close'}",
        f"- |R(x) − x|: {diag['mean_abs_diff_grey']:.1f} grey levels",
        f"- labels: ridge on synthetic x, error on x {diag['gaze_err_deg_on_x']:.2f}°, refit on "
        f"R(x) {diag['gaze_err_deg_refit_on_refined']:.2f}° (ratio {v['label_ratio']:.3f}; kept "
        f"if ≤ {MAX_LABEL_RATIO}) — {'kept' if v['labels_kept'] else 'NOT kept'}",
        "",
    ]
    return "\n".join(lines)


def write_refiner_run_report(run_dir: str | Path, out: str | Path, command: str | None) -> Path:
    out = Path(out)
    write_text_atomic(out, refiner_run_markdown(run_dir, command))
    return out
