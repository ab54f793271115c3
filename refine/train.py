"""A SimGAN refiner run: its directory, resume, and what the end of a run writes.

The steps themselves (pretrain R, pretrain D, then kg R : kd D updates per step) are
:class:`refine.loop.Loop`; this module sets a loop up, fresh or from a checkpoint, runs it
and writes the results.

Run directory (everything written atomically)::

    config.json           the resolved RefinerConfig (RefinerConfig.from_dict reads it back)
    run.json              device, precision, torch version, input shapes
    checkpoint.pt         R, D, both optimisers, buffer, step, loss accumulators, RNG states
    losses.csv / .png     one row per log_every steps: means over the interval
    samples/step_XXXXXX.png   synthetic | refined | |refined - synthetic| | real
    refiner.pt            R's weights alone (what refine.apply loads), written at the end
    selection.json        every snapshot's score and the one kept (when select_every > 0)
    diagnostics.json      realism and label preservation (refine.diagnostics)
    complete.json         the summary; its presence marks the run finished

A killed run continues from its last checkpoint with ``resume=True`` and, on CPU with the same
torch thread count (run.json records it; reduction order depends on it), produces the same
weights and losses.csv rows as an uninterrupted run (tests/test_refine_train.py).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from estimators.base import UserError
from refine import checkpoint as ckpt
from refine.config import RefinerConfig
from refine.images import check_images
from refine.logbook import Logbook
from refine.loop import Loop, RefinerDiverged
from refine.selection import make_selection_set
from refine.trainer import Trainer
from torchkit.device import describe_device, numerics
from torchkit.files import write_json_atomic

COMPLETE = "complete.json"
__all__ = ["COMPLETE", "RefinerDiverged", "is_complete", "train_refiner"]


def is_complete(run_dir: str | Path) -> bool:
    """True when ``run_dir`` holds a finished training run."""
    return (Path(run_dir) / COMPLETE).is_file()


def _prepare_run_dir(run_dir: Path, config: RefinerConfig, resume: bool) -> bool:
    """Create or check the run directory; return True when a checkpoint is to be loaded."""
    entries = sorted(p.name for p in run_dir.iterdir()) if run_dir.is_dir() else []
    if entries and not resume:
        shown = ", ".join(entries[:4]) + (", ..." if len(entries) > 4 else "")
        raise UserError(
            f"{run_dir}: run directory is not empty ({shown}); pass resume=True (--resume) to "
            "continue that run, or choose a new directory"
        )
    if entries:
        cfg_path = run_dir / "config.json"
        if not cfg_path.is_file():
            raise UserError(f"{run_dir}: cannot resume, config.json is missing")
        old = RefinerConfig.from_dict(json.loads(cfg_path.read_text()))
        diff = sorted(k for k, v in config.to_dict().items() if old.to_dict()[k] != v)
        if diff:
            raise UserError(f"{run_dir}: cannot resume with a different config ({', '.join(diff)})")
        return (run_dir / ckpt.CHECKPOINT).is_file()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "config.json", config.to_dict())
    return False


def train_refiner(
    synthetic: np.ndarray,
    real: np.ndarray,
    config: RefinerConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    synthetic_gaze_pitchyaw_rad: np.ndarray | None = None,
    synthetic_head_pitchyaw_rad: np.ndarray | None = None,
    on_score: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train a SimGAN refiner on (N, H, W) uint8 ``synthetic`` and unlabeled ``real`` images.

    Arrays may be memory maps: only sampled batches are read. The optional synthetic labels
    (N, 2) float32 radians enable the gaze part of the diagnostics. ``on_score``, when given, is
    called with each snapshot's score row ({'step', 'realism_acc', ...}; select_every > 0) as
    soon as it is logged, so a caller can keep the trajectory of a run that is killed later.
    Returns the summary (also in
    run_dir/complete.json): steps, final_losses, wall_s, images_per_s, diagnostics path.
    Raises UserError for bad input or a non-empty run_dir without ``resume``, and
    RefinerDiverged when a loss goes NaN/inf or above ``config.max_loss``.
    """
    labels = (synthetic_gaze_pitchyaw_rad, synthetic_head_pitchyaw_rad)
    check_images(synthetic, "synthetic images")
    check_images(real, "real images")
    run_dir = Path(run_dir)
    has_ckpt = _prepare_run_dir(run_dir, config, resume)
    if resume and is_complete(run_dir):
        return json.loads((run_dir / COMPLETE).read_text())
    loop = _start(synthetic, real, config, run_dir, has_ckpt, synthetic_gaze_pitchyaw_rad)
    _write_run_info(loop)
    if config.select_every:
        holdout = real[loop.t.real_holdout_rows]
        loop.sel = make_selection_set(
            synthetic, holdout, config.input_hw, config.select_n, config.seed, *labels,
            probe_steps=config.probe_steps,
        )  # fmt: skip
    loop.bar = _progress_bar(config.total_steps, loop.step, progress)
    loop.on_score = on_score
    try:
        loop.run()
    finally:
        if loop.bar is not None:
            loop.bar.close()
    train_s = time.perf_counter() - loop.t0
    return _finish(loop, train_s, labels)


def _start(
    synthetic: np.ndarray,
    real: np.ndarray,
    config: RefinerConfig,
    run_dir: Path,
    has_ckpt: bool,
    synthetic_gaze_pitchyaw_rad: np.ndarray | None = None,
) -> Loop:
    """A fresh run's loop, or one restored from run_dir's checkpoint (step, clock, losses, RNG)."""
    trainer = Trainer(synthetic, real, config, synthetic_gaze_pitchyaw_rad)
    loop = Loop(trainer, Logbook(run_dir), config, run_dir, synthetic, real)
    if has_ckpt:
        state = ckpt.load_checkpoint(run_dir)
        loop.t.load(state)
        loop.step, loop.wall_before = int(state["step"]), float(state["wall_s"])
        loop.last_ckpt = loop.step
        loop.logbook.load_state_dict(state["logbook"], loop.step)
    return loop


def _write_run_info(loop: Loop) -> None:
    """run.json: where and how this process trains (a resume rewrites it)."""
    t = loop.t
    write_json_atomic(
        loop.run_dir / "run.json",
        {
            "device": describe_device(t.device),
            "bf16": t.bf16,
            "channels_last": t.channels_last,
            "numerics": numerics(t.device, t.bf16),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "n_synthetic": len(loop.synthetic),
            "n_real": len(loop.real),
        },
    )


def _final_refiner(loop: Loop) -> torch.nn.Module:
    """The weights refine.apply will load (refiner.pt; selection.json when a snapshot won)."""
    t, run_dir = loop.t, loop.run_dir
    final = t.R_final
    if t.best is not None:  # the selected snapshot, not wherever the game stood at the end
        final.load_state_dict(t.best["weights"])
        write_json_atomic(
            run_dir / "selection.json",
            {"selected_step": t.best["step"], "selected": t.best["score"], "scores": t.scores},
        )
    tmp = run_dir / f".refiner.pt.tmp-{os.getpid()}"  # unique: never another writer's file
    torch.save(final.state_dict(), tmp)
    tmp.replace(run_dir / "refiner.pt")
    return final


def _finish(loop: Loop, train_s: float, labels: tuple) -> dict[str, Any]:
    """Write refiner.pt, losses.png, diagnostics.json and last complete.json; return the summary."""
    from refine.diagnostics import run_diagnostics

    t, run_dir, config = loop.t, loop.run_dir, loop.config
    final = _final_refiner(loop)
    loop.logbook.plot()
    diag = run_diagnostics(
        final.eval(), loop.synthetic, loop.real, config, device=t.device,
        gaze_pitchyaw_rad=labels[0], head_pitchyaw_rad=labels[1],
    )  # fmt: skip
    write_json_atomic(run_dir / "diagnostics.json", diag)
    summary = {
        "steps": config.total_steps,
        "final_losses": loop.logbook.last,
        "wall_s": loop.wall_s,
        "images_per_s": loop.r_images / train_s if train_s > 0 and loop.r_images else None,
        "diagnostics": str(run_dir / "diagnostics.json"),
        "device": describe_device(t.device),
        "bf16": t.bf16,
        "numerics": numerics(t.device, t.bf16),
        "weights": "selected" if t.best else ("ema" if t.R_ema is not None else "last"),
        "selected_step": t.best["step"] if t.best else None,
        "config_hash": config.config_hash(),
    }
    write_json_atomic(run_dir / COMPLETE, summary)
    return summary


def _progress_bar(total: int, done: int, enabled: bool):
    if not enabled:
        return None
    from torchkit.progress import progress_bar

    return progress_bar(total=total, initial=done, desc="refiner", unit="step")
