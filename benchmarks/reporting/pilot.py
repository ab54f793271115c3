"""The refiner pilot report (``bench pilot``): does a refiner profile keep the label, close the
realism gap and help the gaze CNN, on the demo's development people?

Reads the result directory a ``bench pilot`` run filled (rows ``cnn-synthetic`` and
``cnn-refined`` per seed, the refiner's diagnostics per seed) and writes one markdown report: the
refiner's settings beside the paper profile's (what the pilot scales), one row per seed, and the
pilot's three criteria, judged on the development people only (no test label is read). Demo
numbers only: the report says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.reporting.stability import stability_runs
from torchkit.files import write_text_atomic

MAX_LABEL_RATIO = 1.10  # the frozen probe's error on R(x) within 10 % of its error on x
MIN_GAP_CLOSED = 0.20  # the held-out classifiers' real-vs-synthetic gap R closes, at least

# The RefinerConfig fields a pilot report lists, in this order (the rest: config.json)
SHOWN = (
    "loss_reduction", "optimizer", "lr", "lambda_reg", "grad_clip_norm", "refiner_width",
    "refiner_blocks", "refiner_residual", "disc_widths", "input_hw", "batch_size",
    "pretrain_r_steps", "pretrain_d_steps", "steps", "kg", "kd", "buffer_size", "select_every",
    "ema_decay", "input_light", "gaze_consistency", "precision",
)  # fmt: skip

# the fields a CPU pilot shrinks to fit (sizes and schedule), as against the method's settings
_SCALE = frozenset(
    {"batch_size", "pretrain_r_steps", "pretrain_d_steps", "steps", "buffer_size", "precision"}
)


def pilot_runs(results_dir: Path, threads: int) -> list[dict[str, Any]]:
    """One dict per seed (see stability_runs) plus the refiner's wall time and config hash."""
    runs = stability_runs({threads: results_dir})
    for r in runs:
        done = results_dir / "refiner" / f"seed{r['seed']}" / "complete.json"
        c = json.loads(done.read_text()) if done.is_file() else {}
        r["refiner_wall_s"], r["refiner_config_hash"] = c.get("wall_s"), c.get("config_hash")
        numerics = c.get("numerics") or {}  # as the run resolved them: e.g. cpu, fp32
        r["device"], r["precision"] = numerics.get("device"), numerics.get("precision")
    return runs


def _cell(v: Any) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list | tuple) else str(v)


def pilot_markdown(
    runs: list[dict[str, Any]],
    title: str,
    command: str,
    settings: dict[str, Any],
    paper: dict[str, Any],
    named: list[str],
) -> str:
    """The report's text; settings / paper: the pilot's and the paper profile's resolved
    RefinerConfig dicts; named: the departures from the paper's method the pilot switches on."""
    lines = [
        f"# {title}",
        "",
        "> DEMO domain (procedural eyes standing in for UnityEyes -> MPIIGaze), development",
        "> people only: these numbers test a refiner recipe; they are not MPIIGaze results.",
        "",
        "Made by:",
        "",
        "```",
        command,
        "```",
        "",
        "Departures from the paper's method: "
        + ("; ".join(named) if named else "none (the paper's method, at the sizes below)")
        + ".",
        "",
        "| setting | this pilot | paper profile |",
        "|---|---|---|",
    ]
    for key in SHOWN:
        a, b = settings.get(key), paper.get(key)
        mark = "" if a == b else " (scaled)" if key in _SCALE else " **(changed)**"
        lines.append(f"| {key} | {_cell(a)}{mark} | {_cell(b)} |")
    lines += [
        "",
        "| seed | threads | CNN synthetic (deg) | CNN refined (deg) | gain | labels: no-refit "
        "ratio | realism gap closed | abs(R(x) - x) (grey) | refiner s | machine |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['seed']} | {r['threads']} | {r['synthetic_err_deg']:.2f} | "
            f"{r['refined_err_deg']:.2f} | {r['gain_pct']:+.1f} % | {_f(r['label_ratio'], '.3f')}"
            f" | {_f(r['gap_closed'], '.0%')} | {_f(r['abs_diff_grey'], '.1f')} | "
            f"{_f(r['refiner_wall_s'], '.0f')} | {r.get('machine') or '–'} |"
        )
    ratios = [r["label_ratio"] for r in runs]
    gaps = [r["gap_closed"] for r in runs]
    labels = all(x is not None and x <= MAX_LABEL_RATIO for x in ratios)
    realism = all(g is not None and g >= MIN_GAP_CLOSED for g in gaps)
    better = all(r["refined_err_deg"] < r["synthetic_err_deg"] for r in runs)
    yes = {True: "yes", False: "**no**"}
    lines += [
        "",
        f"Criteria, every seed ({len(runs)}), development people:",
        "",
        f"- labels kept: the frozen synthetic-trained probe's error on R(x) within "
        f"{MAX_LABEL_RATIO - 1:.0%} of its error on x (no-refit ratio <= {MAX_LABEL_RATIO}): "
        f"{yes[labels]}",
        f"- realism: the refined images close >= {MIN_GAP_CLOSED:.0%} of the held-out "
        f"classifiers' real-vs-synthetic gap: {yes[realism]}",
        f"- the CNN trained on R's images beats the CNN trained on the synthetic ones: "
        f"{yes[better]}",
        "",
        "Provenance: git "
        + ", ".join(
            sorted({f"{r['git_sha']}{' (dirty)' if r.get('git_dirty') else ''}" for r in runs})
        )
        + "; refiner config "
        + ", ".join(sorted({(r.get("refiner_config_hash") or "–")[:19] for r in runs}))
        + "; data: demo sim -> wild; device "
        + ", ".join(sorted({str(r.get("device") or settings.get("device")) for r in runs}))
        + ", precision "
        + ", ".join(sorted({str(r.get("precision") or settings.get("precision")) for r in runs}))
        + f", torch threads {', '.join(sorted({str(r['threads']) for r in runs}))}; per-seed "
        "rows, refiner diagnostics and sample grids beside this file.",
    ]
    return "\n".join(lines) + "\n"


def _f(v: Any, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def write_pilot(
    results_dir: Path,
    threads: int,
    out: Path,
    title: str,
    command: str,
    settings: dict[str, Any],
    paper: dict[str, Any],
    named: list[str],
) -> Path:
    """Write the report to ``out`` atomically; returns the path."""
    runs = pilot_runs(results_dir, threads)
    return write_text_atomic(out, pilot_markdown(runs, title, command, settings, paper, named))
