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
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from estimators.device import describe_device, resolve_device, use_bf16
from refine import checkpoint as ckpt
from refine import losses
from refine.buffer import HistoryBuffer
from refine.config import RefinerConfig
from refine.images import check_images, to_tensor
from refine.logbook import Logbook, write_json_atomic
from refine.networks import LocalDiscriminator, build_networks

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
        raise ValueError(
            f"{run_dir}: run directory is not empty ({shown}); pass resume=True (--resume) to "
            "continue that run, or choose a new directory"
        )
    if entries:
        cfg_path = run_dir / "config.json"
        if not cfg_path.is_file():
            raise ValueError(f"{run_dir}: cannot resume, config.json is missing")
        old = RefinerConfig.from_dict(json.loads(cfg_path.read_text()))
        diff = sorted(k for k, v in config.to_dict().items() if old.to_dict()[k] != v)
        if diff:
            raise ValueError(
                f"{run_dir}: cannot resume with a different config ({', '.join(diff)})"
            )
        return (run_dir / ckpt.CHECKPOINT).is_file()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "config.json", config.to_dict())
    return False


class _Trainer:
    """The networks, optimisers, buffer and RNG of one run, and its two update rules."""

    def __init__(self, synthetic: np.ndarray, real: np.ndarray, config: RefinerConfig):
        self.synthetic, self.real, self.cfg = synthetic, real, config
        self.device = resolve_device(config.device)
        self.bf16 = use_bf16(self.device, config.precision)
        self.channels_last = self.bf16  # oneDNN/cuDNN fast paths for bf16 want NHWC
        torch.manual_seed(config.seed)
        random.seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.R, self.D = build_networks(config)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.R.to(self.device, memory_format=fmt)
        self.D.to(self.device, memory_format=fmt)
        self.opt_r = self._optimizer(self.R)
        self.opt_d = self._optimizer(self.D)
        self.buffer = HistoryBuffer(config.buffer_size, config.input_hw)

    def _optimizer(self, net: torch.nn.Module) -> torch.optim.Optimizer:
        if self.cfg.optimizer == "adam":
            return torch.optim.Adam(net.parameters(), lr=self.cfg.lr, betas=(0.5, 0.999))
        return torch.optim.SGD(net.parameters(), lr=self.cfg.lr)

    def autocast(self):
        from estimators.device import autocast

        return autocast(self.device, self.bf16)

    def batch(self, images: np.ndarray, k: int) -> torch.Tensor:
        idx = np.sort(self.rng.integers(0, len(images), size=k))  # sorted: memmap locality
        return to_tensor(images[idx], self.cfg.input_hw, self.device, self.channels_last)

    def r_step(self, pretrain: bool) -> dict[str, float]:
        """One R update: pretraining uses self-regularisation only, then adversarial + lambda*L1."""
        x = self.batch(self.synthetic, self.cfg.batch_size)
        self.D.requires_grad_(False)
        with self.autocast():
            y = self.R(x)
            reg = losses.self_regularisation(y, x)
            if pretrain:
                adv = torch.zeros((), device=x.device)
                loss = reg
            else:
                adv = losses.patch_cross_entropy(self.D(y), LocalDiscriminator.REAL)
                loss = adv + self.cfg.lambda_reg * reg
        self.opt_r.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_r.step()
        self.D.requires_grad_(True)
        return {
            "loss_r_adv": float(adv.detach()),
            "loss_r_reg": float(reg.detach()),
            "loss_r": float(loss.detach()),
        }

    def d_step(self) -> dict[str, float]:
        """One D update on b real and b refined images, half of the refined from the buffer."""
        b = self.cfg.batch_size
        n_hist = b // 2 if len(self.buffer) else 0
        with torch.no_grad(), self.autocast():
            current = self.R(self.batch(self.synthetic, b - n_hist)).float()
        real = self.batch(self.real, b)
        if n_hist:
            old = self.buffer.sample(n_hist, self.rng).to(self.device)
            refined = torch.cat([current, old])
        else:
            refined = current
        if self.channels_last:
            refined = refined.contiguous(memory_format=torch.channels_last)
        self.buffer.push(current, self.rng)
        with self.autocast():
            logits_real, logits_ref = self.D(real), self.D(refined)
            loss_real = losses.patch_cross_entropy(logits_real, LocalDiscriminator.REAL)
            loss_ref = losses.patch_cross_entropy(logits_ref, LocalDiscriminator.REFINED)
            loss = loss_real + loss_ref
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {
            "loss_d": float(loss.detach()),
            "d_acc_real": losses.patch_accuracy(logits_real, LocalDiscriminator.REAL),
            "d_acc_refined": losses.patch_accuracy(logits_ref, LocalDiscriminator.REFINED),
        }

    def state(self, step: int, logbook: Logbook, wall_s: float) -> dict[str, Any]:
        return {
            "step": step,
            "refiner": self.R.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_r": self.opt_r.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "buffer": self.buffer.state_dict(),
            "logbook": logbook.state_dict(),
            "rng": ckpt.rng_state(self.rng),
            "wall_s": wall_s,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.R.load_state_dict(state["refiner"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_r.load_state_dict(state["opt_r"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.buffer.load_state_dict(state["buffer"])
        ckpt.set_rng_state(state["rng"], self.rng)


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
    t = _Trainer(synthetic, real, config)
    logbook = Logbook(run_dir)
    step, wall_before = 0, 0.0
    if has_ckpt:
        state = ckpt.load_checkpoint(run_dir)
        t.load(state)
        step, wall_before = int(state["step"]), float(state["wall_s"])
        logbook.load_state_dict(state["logbook"], step)
    write_json_atomic(
        run_dir / "run.json",
        {
            "device": describe_device(t.device),
            "bf16": t.bf16,
            "channels_last": t.channels_last,
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
    bar = _progress_bar(total, step, progress)
    t0, r_images = time.perf_counter(), 0
    while step < total:
        if step < p1:
            out = t.r_step(pretrain=True)
            r_images += config.batch_size
        elif step < p2:
            out = t.d_step()
        else:
            out = {}
            for _ in range(config.kg):
                out = t.r_step(pretrain=False)
            for _ in range(config.kd):
                out.update(t.d_step())
            r_images += config.kg * config.batch_size
        step += 1
        bad = [k for k, v in out.items() if k.startswith("loss") and not abs(v) <= config.max_loss]
        if bad:
            last = (
                ckpt.load_checkpoint(run_dir)["step"]
                if (run_dir / ckpt.CHECKPOINT).is_file()
                else None
            )
            where = (
                f"last good checkpoint (step {last}) kept"
                if last is not None
                else "no checkpoint yet"
            )
            raise RefinerDiverged(
                f"refiner training diverged at step {step}: "
                + ", ".join(f"{k} = {out[k]:.4g}" for k in bad)
                + f" (limit {config.max_loss:g}); {where} in {run_dir}"
            )
        logbook.add(out)
        if step % config.log_every == 0 or step == total:
            logbook.flush(step, wall_before + time.perf_counter() - t0)
            if bar is not None:
                bar.set_postfix({k: f"{v:.3f}" for k, v in logbook.last.items() if k != "step"})
        if step % config.sample_every == 0 or step == total:
            with torch.no_grad(), t.autocast():
                x = to_tensor(synthetic[rows_syn], config.input_hw, t.device, t.channels_last)
                refined = t.R(x)
            from refine.images import to_uint8

            real_s = to_tensor(real[rows_real], config.input_hw, "cpu")
            (run_dir / "samples").mkdir(exist_ok=True)
            sample_grid(
                to_uint8(x),
                to_uint8(refined),
                to_uint8(real_s),
                run_dir / "samples" / f"step_{step:06d}.png",
                title=f"step {step}",
            )
        if step % config.checkpoint_every == 0 or step == total:
            ckpt.save_checkpoint(
                run_dir, t.state(step, logbook, wall_before + time.perf_counter() - t0)
            )
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    train_s = time.perf_counter() - t0
    torch.save(t.R.state_dict(), run_dir / ".refiner.pt.tmp")
    (run_dir / ".refiner.pt.tmp").replace(run_dir / "refiner.pt")
    logbook.plot()
    diag = run_diagnostics(
        t.R.eval(),
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
        "config_hash": config.config_hash(),
    }
    write_json_atomic(run_dir / COMPLETE, summary)
    return summary


def _progress_bar(total: int, done: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc="refiner", unit="step", dynamic_ncols=True)
