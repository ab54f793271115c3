"""The settings sweep of scripts/gpu-check.sh (issue #23), on demo images:
``python -m benchmarks.perf.pilot --sweep OUT_DIR [--device cuda]``.

The settings the paper leaves open (SWEEP_SETTINGS, the one place they are listed), each
trained with the paper networks at batch 512 (SWEEP_RUN). The snapshot scorer of refine.selection
logs the frozen probe's no-refit label ratio and the realism gap closed every 100 adversarial
steps; each setting gets the refiner-run report of ``bench refine summary`` (OUT_DIR/NAME.md),
its last sample grid (NAME-samples.png) and one JSON row (OUT_DIR/sweep.jsonl); OUT_DIR/sweep.md
puts the rows side by side. On CUDA the settings train in parallel processes (their CPU-side
probe, scoring and diagnostics overlap), on CPU one after another; ``--deadline-s`` stops what
is still running and keeps the snapshots it logged.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

# --- the sweep's settings: edit these to change what gpu-check sweeps -----------------------
# (name, RefinerConfig overrides over the paper config); the paper's own first, so a deadline
# cuts the candidates, not the reference. Open in the paper and chosen here on the demo's
# development people: lambda (0.0327 weighs the summed terms as the presets' mean 0.5 does; 0.5
# is the mean-loss reimplementations' value) x gradient clipping (carpedm20 clips at 50).
# The departures of refine.config.LIT_RECIPE (the issue "The refiner keeps the label") in the
# summed losses' scale: gaze consistency 126 = LIT_RECIPE's 1.0 times the 126 patches that the
# adversarial sum adds up where the mean form averages them. Named departures, never the paper's.
LIT_SUM: dict[str, Any] = {
    "refiner_residual": True,
    "input_light": True,
    "input_hw": [36, 60],
    "gaze_consistency": 126.0,
}
SWEEP_SETTINGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("paper", {}),  # RefinerConfig's defaults: lambda 0.0327, no clipping
    ("clip50", {"grad_clip_norm": 50.0}),
    ("lam0.13-clip50", {"lambda_reg": 0.13, "grad_clip_norm": 50.0}),
    ("lam0.5-clip50", {"lambda_reg": 0.5, "grad_clip_norm": 50.0}),
    # a departure, named: R(x) = x + tanh(.) starts at the identity instead of pretraining to it
    ("residual-clip50", {"refiner_residual": True, "grad_clip_norm": 50.0}),
    ("lam0.5-residual-clip50", {"lambda_reg": 0.5, "refiner_residual": True, "grad_clip_norm": 50.0}),
    # the label fixes without the real pool's light, then with it
    ("nolight-lam0.13-clip50", {**LIT_SUM, "input_light": False, "lambda_reg": 0.13, "grad_clip_norm": 50.0}),
    ("lit-lam0.13-clip50", {**LIT_SUM, "lambda_reg": 0.13, "grad_clip_norm": 50.0}),
    ("lit-lam0.0327-clip50", {**LIT_SUM, "grad_clip_norm": 50.0}),
)  # fmt: skip
# what gpu-check sweeps on one GPU in parallel: the reference, the paper's method with a residual
# start, the label fixes without and with the light (the pilot's chosen setting, the last)
GPU_SWEEP = ("paper", "residual-clip50", "nolight-lam0.13-clip50", "lit-lam0.0327-clip50")
# How each setting trains (over the paper config, under its overrides): the paper networks and
# batch, pretraining and main steps shortened to fit gpu-check's stage limit (~100 s on one
# H200 for all of them), a snapshot scored every 100 adversarial steps on held-out real images.
SWEEP_RUN: dict[str, Any] = {
    "batch_size": 512,
    "pretrain_r_steps": 80,
    "pretrain_d_steps": 20,
    "steps": 300,
    "select_every": 100,
    "select_n": 1000,
    "holdout_real_fraction": 0.1,  # D never sees these real images; the scorer does
    "diag_n": 1000,
    "log_every": 20,
    "sample_every": 100,
    "checkpoint_every": 100_000,  # the end-of-run checkpoint only (its buffer is ~200 MB)
}
SWEEP_IMAGES = (16_384, 8_192)  # demo sim (synthetic, labelled) and wild (real) images


def sweep_config(overrides: dict[str, Any], run: dict[str, Any] | None, device: str):
    """A setting's RefinerConfig: the paper's <- SWEEP_RUN <- ``run`` <- the setting's overrides."""
    from refine.config import RefinerConfig

    return RefinerConfig.from_dict({**SWEEP_RUN, **(run or {}), **overrides, "device": device})


def refiner_sweep(
    out_dir: str | Path,
    device: str = "cuda",
    *,
    settings: tuple[tuple[str, dict[str, Any]], ...] = SWEEP_SETTINGS,
    run: dict[str, Any] | None = None,
    images: tuple[int, int] = SWEEP_IMAGES,
    jobs: int | None = None,
    deadline_s: float | None = None,
    work: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Train every setting (see the module doc) and write its report and row into ``out_dir``.

    run: RefinerConfig fields over SWEEP_RUN for every setting (tests shrink the networks with
    it); images: (synthetic, real) demo images rendered; jobs: settings trained at once (default:
    all of them on CUDA, one on CPU); deadline_s: seconds after which settings still training are
    stopped (their logged snapshots kept) and those not started are skipped; work: where the run
    directories go (default: a temporary directory, removed). Returns the rows, one a setting.
    """
    import numpy as np

    from benchmarks.datasets.demo import render_domain

    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for _, overrides in settings:  # a bad setting fails here, before anything is trained
        sweep_config(overrides, run, device)
    jobs = jobs or (len(settings) if device.startswith("cuda") else 1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work) if work is not None else Path(tmp)
        data = work / "images"
        data.mkdir(parents=True, exist_ok=True)
        sim, wild = (
            render_domain("sim", images[0], seed=1),
            render_domain("wild", images[1], seed=2),
        )
        for key in ("images", "gaze_pitchyaw_rad", "head_pitchyaw_rad"):
            np.save(data / f"sim-{key}.npy", sim[key])
        np.save(data / "wild-images.npy", wild["images"])
        print(
            f"sweep: {images[0]} sim + {images[1]} wild images ({time.perf_counter() - t0:.0f} s)"
        )
        deadline = None if deadline_s is None else t0 + deadline_s
        tasks = [
            dict(name=name, overrides=dict(overrides), run=run, device=device, data=str(data),
                 work=str(work), out_dir=str(out_dir),
                 # a process a setting shares the cores; one after another: as the caller set
                 threads=max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None,
                 command=_sweep_command(name, overrides, run, device, images))
            for name, overrides in settings
        ]  # fmt: skip
        if jobs == 1:
            for task in tasks:
                if deadline is not None and time.perf_counter() > deadline:
                    _write_row(task, {"status": "skipped: past the deadline"})
                else:
                    sweep_one(task)
        else:
            _in_parallel(tasks, jobs, deadline)
        rows = [_read_row(task) for task in tasks]
    _write_sweep_files(out_dir, rows, run, device, images, time.perf_counter() - t0)
    return rows


def _sweep_command(name, overrides, run, device, images) -> str:
    """How a setting's run was made, for its report (``bench refine summary --command``): the
    pilot command that reruns this one setting, then what the fields come to."""

    def kv(d, prefix=""):
        return "".join(f" {prefix}{k}={json.dumps(v, separators=(',', ':'))}" for k, v in d.items())

    sets = kv(run or {}, "--set ")
    return (
        f"python -m benchmarks.perf.pilot OUT --sweep --device {device} --only {name} "
        f"--images {images[0]},{images[1]}{sets}   # setting {name}: paper config (RefinerConfig "
        f"defaults) with{kv({**SWEEP_RUN, **(run or {})})}; this setting's overrides:"
        f"{kv(overrides) or ' none'}; demo images: {images[0]} sim (seed 1), {images[1]} wild "
        "(seed 2)"
    )


def sweep_one(task: dict[str, Any]) -> None:
    """Train one setting of the sweep; write its report, sample grid and row (in any process)."""
    import shutil

    import numpy as np
    import torch

    from benchmarks.reporting.refiner_run import verdict, write_refiner_run_report
    from refine.train import RefinerDiverged, train_refiner

    if task["threads"]:
        torch.set_num_threads(task["threads"])
    name, work, out_dir = task["name"], Path(task["work"]), Path(task["out_dir"])
    cfg = sweep_config(task["overrides"], task["run"], task["device"])
    data = Path(task["data"])

    def load(key):
        return np.load(data / f"{key}.npy", mmap_mode="r")

    scores = work / f"{name}.scores.jsonl"
    scores.unlink(missing_ok=True)

    def log_score(row: dict[str, Any]) -> None:
        snap = _snapshot(row, cfg)
        with open(scores, "a") as f:
            f.write(json.dumps(snap) + "\n")
        print(
            f"sweep {name}: adversarial step {snap['adversarial_step']}: label ratio (no refit) "
            f"{_fmt(snap['label_ratio'], 1)}, realism gap closed "
            f"{_fmt(snap['realism_gap_closed'], 100)} %, realism acc {snap['realism_acc']:.3f}",
            flush=True,
        )

    run_dir = work / "runs" / name
    shutil.rmtree(run_dir, ignore_errors=True)
    try:
        summary = train_refiner(
            load("sim-images"), load("wild-images"), cfg, run_dir, progress=False,
            synthetic_gaze_pitchyaw_rad=load("sim-gaze_pitchyaw_rad"),
            synthetic_head_pitchyaw_rad=load("sim-head_pitchyaw_rad"), on_score=log_score,
        )  # fmt: skip
    except RefinerDiverged as e:
        _write_row(task, {"status": "diverged", "error": str(e)})
        return
    except Exception as e:  # one setting's failure must not lose the others' rows
        import traceback

        traceback.print_exc()
        _write_row(task, {"status": "failed", "error": f"{type(e).__name__}: {e}"})
        return
    report = write_refiner_run_report(run_dir, out_dir / f"{name}.md", task["command"])
    grids = sorted((run_dir / "samples").glob("step_*.png"))
    if grids:
        shutil.copyfile(grids[-1], out_dir / f"{name}-samples.png")
    diag = json.loads((run_dir / "diagnostics.json").read_text())
    v = verdict(diag)
    _write_row(
        task,
        {
            "status": "done",
            "wall_s": round(summary["wall_s"], 1),
            "images_per_s": summary["images_per_s"],
            "selected_step": summary["selected_step"],
            # the end-of-run diagnostics (refine.diagnostics, diag_n images a class, the panel
            # with the tiny CNN) of the weights kept: the snapshot selection's pick
            "kept": {
                "realism_gap_closed": v["gap_closed"],
                "label_ratio_no_refit": v["label_ratio"],
                "mean_abs_diff_grey": diag["mean_abs_diff_grey"],
                "labels_kept": v["labels_kept"],
            },
            "report": report.name,
            "samples": f"{name}-samples.png" if grids else None,
        },
    )


def _snapshot(score: dict[str, Any], cfg) -> dict[str, Any]:
    """A snapshot score of refine.selection as a sweep logs it (NaN as null: strict JSON)."""
    row = {
        "step": score["step"],
        "adversarial_step": score["step"] - cfg.pretrain_r_steps - cfg.pretrain_d_steps,
    }
    for key in ("label_ratio", "realism_gap_closed", "realism_acc", "abs_diff_grey"):
        value = score.get(key)
        row[key] = None if value is None or math.isnan(value) else round(float(value), 4)
    return row


def _fmt(value: float | None, scale: float) -> str:
    """A ratio (scale 1: 3 decimals) or a share in % (scale 100: 1 decimal); n/a for None."""
    return "n/a" if value is None else f"{value * scale:.{3 if scale == 1 else 1}f}"


def _write_row(task: dict[str, Any], fields: dict[str, Any]) -> None:
    from torchkit.files import write_json_atomic

    write_json_atomic(Path(task["work"]) / f"{task['name']}.row.json", fields)


def _read_row(task: dict[str, Any]) -> dict[str, Any]:
    """A setting's row: what its process wrote (status, end-of-run figures) and the snapshots
    it logged while training (kept even when it was stopped or diverged)."""
    work, name = Path(task["work"]), task["name"]
    path = work / f"{name}.row.json"
    fields = json.loads(path.read_text()) if path.is_file() else {"status": "no row written"}
    scores = work / f"{name}.scores.jsonl"
    snaps = (
        [json.loads(line) for line in scores.read_text().splitlines()] if scores.is_file() else []
    )
    cfg = sweep_config(task["overrides"], task["run"], task["device"])
    return {
        "name": name,
        "overrides": task["overrides"],
        "config_hash": cfg.config_hash(),
        **fields,
        # every snapshot scored during training; the last one is where plain training ends
        "snapshots": snaps,
    }


def _in_parallel(tasks: list[dict[str, Any]], jobs: int, deadline: float | None) -> None:
    """Run sweep_one for every task, ``jobs`` spawned processes at a time (CUDA does not survive a
    fork); at the deadline the running ones are terminated and the waiting ones skipped."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    waiting, running = list(tasks), []

    def no_row(task, status: str) -> None:  # the process may have written its row meanwhile
        if not (Path(task["work"]) / f"{task['name']}.row.json").is_file():
            _write_row(task, {"status": status})

    while waiting or running:
        for task, proc in [(t, p) for t, p in running if not p.is_alive()]:
            running.remove((task, proc))
            no_row(task, f"failed: its process exited with code {proc.exitcode}")
        if deadline is not None and time.perf_counter() > deadline:
            for task, proc in running:
                print(f"sweep {task['name']}: stopped at the deadline", flush=True)
                proc.terminate()
                proc.join(10)
                no_row(task, "stopped at the deadline")
            for task in waiting:
                _write_row(task, {"status": "skipped: past the deadline"})
            return
        while waiting and len(running) < jobs:
            task = waiting.pop(0)
            proc = ctx.Process(target=sweep_one, args=(task,), name=f"sweep-{task['name']}")
            proc.start()
            running.append((task, proc))
        time.sleep(0.5)


def _write_sweep_files(out_dir: Path, rows, run, device, images, wall_s: float) -> None:
    """sweep.jsonl (one row a setting) and sweep.md (the rows side by side)."""
    from benchmarks.reporting.stability import MAX_LABEL_RATIO
    from refine.config import RefinerConfig
    from torchkit.files import write_text_atomic

    select_max = RefinerConfig().select_max_label_ratio
    write_text_atomic(out_dir / "sweep.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    steps = sorted({s["adversarial_step"] for r in rows for s in r["snapshots"]})
    head = " | ".join(f"adv. step {k}: ratio, gap" for k in steps)
    lines = [
        "# Refiner settings sweep (benchmarks/perf/sweep.py)",
        "",
        f"Device {device}, {wall_s:.0f} s; demo images {images[0]} sim, {images[1]} wild; every "
        f"setting: the paper config with {json.dumps({**SWEEP_RUN, **(run or {})})}.",
        "At each adversarial step: the frozen probe's no-refit label ratio and the realism gap "
        "closed, on the snapshot scorer's held-out images (its quick classifiers). 'kept': the "
        "end-of-run diagnostics of the snapshot the selection kept (its panel adds a tiny CNN). "
        f"The reports call labels kept at a ratio <= {MAX_LABEL_RATIO}; the selection takes "
        f"a snapshot up to {select_max}.",
        "",
        f"| setting | overrides | status | {head} | kept: adv. step, ratio, gap |",
        "|---|---|---|" + "---|" * len(steps) + "---|",
    ]
    for r in rows:
        by_step = {s["adversarial_step"]: s for s in r["snapshots"]}
        cells = [
            f"{_fmt(by_step[k]['label_ratio'], 1)}, {_fmt(by_step[k]['realism_gap_closed'], 100)} %"
            if k in by_step
            else "–"
            for k in steps
        ]
        kept = r.get("kept")
        at = {sn["step"]: sn["adversarial_step"] for sn in r["snapshots"]}.get(
            r.get("selected_step")
        )
        kept_cell = (
            f"{at}, {_fmt(kept['label_ratio_no_refit'], 1)}, "
            f"{_fmt(kept['realism_gap_closed'], 100)} %"
            if kept
            else "–"
        )
        overrides = ", ".join(f"{k}={v}" for k, v in r["overrides"].items()) or "(paper)"
        lines.append(
            f"| {r['name']} | {overrides} | {r['status']} | {' | '.join(cells)} | {kept_cell} |"
        )
    write_text_atomic(out_dir / "sweep.md", "\n".join(lines) + "\n")
