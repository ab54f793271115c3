"""The SimGAN training loop: pretrain R, pretrain D, then kg R updates : kd D updates per step.

Run directory (everything written atomically)::

    config.json           the resolved RefinerConfig (RefinerConfig.from_dict reads it back)
    run.json              device, precision, torch version, input shapes
    checkpoint.pt         R, D, both optimisers, buffer, step, loss accumulators, RNG states
    losses.csv / .png     one row per log_every steps: means over the interval
    samples/step_XXXXXX.png   synthetic | refined | |refined - synthetic| | real
    refiner.pt            R's weights alone (what refine.apply loads), written at the end
    diagnostics.json      realism and label preservation (refine.diagnostics)
    complete.json         the summary; its presence marks the run finished

A killed run continues from its last checkpoint with ``resume=True`` and, on CPU with the same
torch thread count (run.json records it; reduction order depends on it), produces the same
weights and losses.csv rows as an uninterrupted run (tests/test_refine_train.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from estimators.base import UserError
from refine import checkpoint as ckpt
from refine.config import RefinerConfig
from refine.images import check_images, to_tensor, to_uint8
from refine.logbook import Logbook
from refine.selection import better, make_selection_set, score_snapshot
from refine.trainer import Trainer
from torchkit.device import describe_device, numerics
from torchkit.files import write_json_atomic

COMPLETE = "complete.json"
N_SAMPLES = 8  # rows of each sample grid


class RefinerDiverged(RuntimeError):
    """A loss went NaN/inf or above config.max_loss; the last good checkpoint is kept."""


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
) -> dict[str, Any]:
    """Train a SimGAN refiner on (N, H, W) uint8 ``synthetic`` and unlabeled ``real`` images.

    Arrays may be memory maps: only sampled batches are read. The optional synthetic labels
    (N, 2) float32 radians enable the gaze part of the diagnostics. Returns the summary (also in
    run_dir/complete.json): steps, final_losses, wall_s, images_per_s, diagnostics path.
    Raises ValueError for bad input or a non-empty run_dir without ``resume``, and
    RefinerDiverged when a loss goes NaN/inf or above ``config.max_loss``.
    """
    from refine.diagnostics import run_diagnostics
    from refine.plots import sample_grid

    check_images(synthetic, "synthetic images")
    check_images(real, "real images")
    run_dir = Path(run_dir)
    has_ckpt = _prepare_run_dir(run_dir, config, resume)
    if resume and is_complete(run_dir):
        return json.loads((run_dir / COMPLETE).read_text())
    t = Trainer(synthetic, real, config)
    logbook = Logbook(run_dir)
    step, wall_before, last_ckpt = 0, 0.0, None
    if has_ckpt:
        state = ckpt.load_checkpoint(run_dir)
        t.load(state)
        step, wall_before = int(state["step"]), float(state["wall_s"])
        last_ckpt = step
        logbook.load_state_dict(state["logbook"], step)
    write_json_atomic(
        run_dir / "run.json",
        {
            "device": describe_device(t.device),
            "bf16": t.bf16,
            "channels_last": t.channels_last,
            "numerics": numerics(t.device, t.bf16),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "n_synthetic": len(synthetic),
            "n_real": len(real),
        },
    )
    rng_samples = np.random.default_rng([config.seed, 1])  # fixed rows, apart from training RNG
    rows_syn = np.sort(rng_samples.choice(len(synthetic), min(N_SAMPLES, len(synthetic)), False))
    rows_real = np.sort(rng_samples.choice(len(real), min(N_SAMPLES, len(real)), False))
    p1, p2 = config.pretrain_r_steps, config.pretrain_r_steps + config.pretrain_d_steps
    total = config.total_steps
    sel = None
    if config.select_every:
        sel = make_selection_set(
            synthetic, real[t.real_holdout_rows], config.input_hw, config.select_n, config.seed,
            synthetic_gaze_pitchyaw_rad, synthetic_head_pitchyaw_rad,
        )  # fmt: skip
    bar = _progress_bar(total, step, progress)
    t0, r_images = time.perf_counter(), 0
    while step < total:
        if step < p1:
            outs = [t.r_step(pretrain=True)]
            r_images += config.batch_size
        elif step < p2:
            outs = [t.d_step()]
        else:
            outs = [t.r_step(pretrain=False) for _ in range(config.kg)]
            outs += [t.d_step() for _ in range(config.kd)]
            r_images += config.kg * config.batch_size
        step += 1
        bad = {
            k: v
            for out in outs
            for k, v in out.items()
            if k.startswith("loss") and not abs(v) <= config.max_loss  # catches NaN too
        }
        if bad:
            if bar is not None:
                bar.close()
            where = (
                f"last good checkpoint (step {last_ckpt}) kept"
                if last_ckpt is not None
                else "no checkpoint yet"
            )
            raise RefinerDiverged(
                f"refiner training diverged at step {step}: "
                + ", ".join(f"{k} = {v:.4g}" for k, v in bad.items())
                + f" (limit {config.max_loss:g}); {where} in {run_dir}"
            )
        for out in outs:
            logbook.add(out)
        if step % config.log_every == 0 or step == total:
            logbook.flush(step, wall_before + time.perf_counter() - t0)
            if bar is not None:
                bar.set_postfix({k: f"{v:.3f}" for k, v in logbook.last.items() if k != "step"})
        if step % config.sample_every == 0 or step == total:
            with torch.no_grad(), t.autocast():
                x = to_tensor(synthetic[rows_syn], config.input_hw, t.device, t.channels_last)
                refined = t.R(x)
            real_s = to_tensor(real[rows_real], config.input_hw, "cpu")
            (run_dir / "samples").mkdir(exist_ok=True)
            sample_grid(
                to_uint8(x),
                to_uint8(refined),
                to_uint8(real_s),
                run_dir / "samples" / f"step_{step:06d}.png",
                title=f"step {step}",
            )
        if (
            sel is not None
            and step > p2
            and ((step - p2) % config.select_every == 0 or step == total)
        ):
            _select(t, sel, step, config)
        if step % config.checkpoint_every == 0 or step == total:
            ckpt.save_checkpoint(
                run_dir, t.state(step, logbook, wall_before + time.perf_counter() - t0)
            )
            last_ckpt = step
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    train_s = time.perf_counter() - t0
    final = t.R_final
    if t.best is not None:  # the selected snapshot, not wherever the game stood at the end
        final.load_state_dict(t.best["weights"])
        write_json_atomic(
            run_dir / "selection.json",
            {"selected_step": t.best["step"], "selected": t.best["score"], "scores": t.scores},
        )
    torch.save(final.state_dict(), run_dir / ".refiner.pt.tmp")
    (run_dir / ".refiner.pt.tmp").replace(run_dir / "refiner.pt")
    logbook.plot()
    diag = run_diagnostics(
        final.eval(),
        synthetic,
        real,
        config,
        device=t.device,
        gaze_pitchyaw_rad=synthetic_gaze_pitchyaw_rad,
        head_pitchyaw_rad=synthetic_head_pitchyaw_rad,
    )
    write_json_atomic(run_dir / "diagnostics.json", diag)
    summary = {
        "steps": total,
        "final_losses": logbook.last,
        "wall_s": wall_before + time.perf_counter() - t0,
        "images_per_s": r_images / train_s if train_s > 0 and r_images else None,
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


def _select(t: Trainer, sel, step: int, config: RefinerConfig) -> None:
    """Score the current snapshot (the EMA when there is one) and keep it if it is the best."""
    net = t.R_final
    score = score_snapshot(net, sel, t.device, t.bf16, config.seed)
    t.scores.append({"step": step, **score})
    best = t.best["score"] if t.best else None
    if better(score, best, config.select_max_label_ratio):
        weights = {k: v.detach().clone().cpu() for k, v in net.state_dict().items()}
        t.best = {"step": step, "score": score, "weights": weights}


def _progress_bar(total: int, done: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc="refiner", unit="step", dynamic_ncols=True)
