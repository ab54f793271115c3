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
    """Did the realism gap close, and did labels survive (the frozen probe's error on R(x) within
    MAX_LABEL_RATIO of its error on x; runs from before the probe: the ridge refit's ratio)?"""
    ratio = diag.get("label_ratio_no_refit")
    if ratio is None:
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
    keys = (
        "loss_reduction", "optimizer", "lr", "grad_clip_norm", "lambda_reg", "batch_size",
        "refiner_width", "refiner_blocks", "pretrain_r_steps", "pretrain_d_steps", "steps",
        "buffer_size",
    )  # fmt: skip
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
        _label_line(diag, v),
        f"- (refit, which cannot see a systematic move: ridge on synthetic x, error on x "
        f"{diag['gaze_err_deg_on_x']:.2f}°, refit on R(x) "
        f"{diag['gaze_err_deg_refit_on_refined']:.2f}°)",
        "",
        *_selection_lines(run_dir),
    ]
    return "\n".join(lines)


def _label_line(diag: dict[str, Any], v: dict[str, Any]) -> str:
    kept = f"ratio {v['label_ratio']:.3f}; kept if ≤ {MAX_LABEL_RATIO}) — " + (
        "kept" if v["labels_kept"] else "NOT kept"
    )
    if diag.get("label_ratio_no_refit") is None:
        return f"- labels (no frozen probe in this run; ridge refit {kept}"
    return (
        f"- labels: frozen tone-invariant gaze probe, error on x "
        f"{diag['probe_err_deg_on_x']:.2f}°, on R(x) {diag['probe_err_deg_on_refined']:.2f}° "
        f"(no refit: {kept}"
    )


def _selection_lines(run_dir: Path) -> list[str]:
    """The snapshot scores logged during training (selection.json), when the run scored any."""
    path = run_dir / "selection.json"
    if not path.is_file():
        return []
    sel = json.loads(path.read_text())
    lines = [
        "## During training (snapshot scores on held-out real images)",
        "",
        "| step | realism acc (0.5 best) | realism gap closed | labels: no-refit ratio "
        "| abs(R(x) − x) (grey) |",
        "|---|---|---|---|---|",
    ]
    for sc in sel.get("scores", []):
        gap = sc.get("realism_gap_closed")  # absent from runs made before it was logged
        lines.append(
            f"| {sc['step']} | {sc['realism_acc']:.3f} | "
            f"{'–' if gap is None else f'{100 * gap:.1f} %'} | {sc['label_ratio']:.3f} | "
            f"{sc['abs_diff_grey']:.1f} |"
        )
    return [*lines, "", f"Kept: step {sel.get('selected_step')}.", ""]


def write_refiner_run_report(run_dir: str | Path, out: str | Path, command: str | None) -> Path:
    out = Path(out)
    write_text_atomic(out, refiner_run_markdown(run_dir, command))
    return out
