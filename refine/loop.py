"""The step loop of one SimGAN run: the schedule, the divergence guard and the periodic outputs.

refine.train sets a :class:`Loop` up (fresh or from a checkpoint) and calls :meth:`Loop.run`.
One step is one global iteration (refine.config): R pretraining, then D pretraining, then kg R
updates and kd D updates. After each step, in this order: the divergence check, the losses.csv
row (every log_every steps), the sample grid (every sample_every), the snapshot selection
(every select_every adversarial steps) and the checkpoint (every checkpoint_every); each of them
also at the last step. The order is part of bit-identical resume: keep it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from refine import checkpoint as ckpt
from refine.config import RefinerConfig
from refine.images import to_tensor, to_uint8
from refine.logbook import Logbook
from refine.selection import better, score_snapshot
from refine.trainer import Trainer

N_SAMPLES = 8  # rows of each sample grid


class RefinerDiverged(RuntimeError):
    """A loss went NaN/inf or above config.max_loss; the last good checkpoint is kept."""


def sample_rows(n_synthetic: int, n_real: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed (sorted int64) rows every sample grid shows, from an RNG apart from training's."""
    rng = np.random.default_rng([seed, 1])
    rows_syn = np.sort(rng.choice(n_synthetic, min(N_SAMPLES, n_synthetic), False))
    rows_real = np.sort(rng.choice(n_real, min(N_SAMPLES, n_real), False))
    return rows_syn, rows_real


@dataclass
class Loop:
    """What the step loop reads and advances; ``step`` counts finished global steps."""

    t: Trainer
    logbook: Logbook
    config: RefinerConfig
    run_dir: Path
    synthetic: np.ndarray  # (N, H, W) uint8, only the sample rows are read here
    real: np.ndarray  # (M, H, W) uint8
    sel: Any = None  # refine.selection's scoring set, None when selection is off
    step: int = 0
    wall_before: float = 0.0  # seconds trained before a resume (from the checkpoint)
    last_ckpt: int | None = None
    r_images: int = 0  # refiner training images seen by this process (for images_per_s)
    t0: float = field(default_factory=time.perf_counter)
    bar: Any = None  # a tqdm bar or None
    on_score: Any = None  # called with each snapshot's score row as it is logged, or None
    grid_rows: tuple[np.ndarray, np.ndarray] = field(init=False)  # the sample grids' rows

    def __post_init__(self) -> None:
        self.grid_rows = sample_rows(len(self.synthetic), len(self.real), self.config.seed)

    @property
    def wall_s(self) -> float:
        """Seconds of training so far, over every process that worked on this run."""
        return self.wall_before + time.perf_counter() - self.t0

    def run(self) -> None:
        """Step until config.total_steps; raises RefinerDiverged (checkpoint kept) on a bad loss."""
        self.t0 = time.perf_counter()
        total = self.config.total_steps
        while self.step < total:
            outs = self._one_step()
            self.step += 1
            self._check_losses(outs)
            for out in outs:
                self.logbook.add(out)
            self._periodic_outputs(self.step == total)
            if self.bar is not None:
                self.bar.update(1)

    def _one_step(self) -> list[dict[str, float]]:
        """One global step of the schedule; returns each update's losses."""
        cfg, t = self.config, self.t
        if self.step < cfg.pretrain_r_steps:
            self.r_images += cfg.batch_size
            return [t.r_step(pretrain=True)]
        if self.step < cfg.pretrain_r_steps + cfg.pretrain_d_steps:
            return [t.d_step()]
        outs = [t.r_step(pretrain=False) for _ in range(cfg.kg)]
        outs += [t.d_step() for _ in range(cfg.kd)]
        self.r_images += cfg.kg * cfg.batch_size
        return outs

    def _check_losses(self, outs: list[dict[str, float]]) -> None:
        limit = self.config.max_loss
        # `not abs(v) <= limit` is also true for NaN
        bad = {
            k: v for o in outs for k, v in o.items() if k.startswith("loss") and not abs(v) <= limit
        }
        if not bad:
            return
        where = (
            f"last good checkpoint (step {self.last_ckpt}) kept"
            if self.last_ckpt is not None
            else "no checkpoint yet"
        )
        raise RefinerDiverged(
            f"refiner training diverged at step {self.step}: "
            + ", ".join(f"{k} = {v:.4g}" for k, v in bad.items())
            + f" (limit {limit:g}); {where} in {self.run_dir}"
        )

    def _periodic_outputs(self, last: bool) -> None:
        cfg, step = self.config, self.step
        if step % cfg.log_every == 0 or last:
            self.logbook.flush(step, self.wall_s)
            if self.bar is not None:
                shown = {k: f"{v:.3f}" for k, v in self.logbook.last.items() if k != "step"}
                self.bar.set_postfix(shown)
        if step % cfg.sample_every == 0 or last:
            self._sample_grid()
        adversarial = step - cfg.pretrain_r_steps - cfg.pretrain_d_steps
        if (
            self.sel is not None
            and adversarial > 0
            and (adversarial % cfg.select_every == 0 or last)
        ):
            self._select()
        if step % cfg.checkpoint_every == 0 or last:
            ckpt.save_checkpoint(self.run_dir, self.t.state(step, self.logbook, self.wall_s))
            self.last_ckpt = step

    def _sample_grid(self) -> None:
        """samples/step_XXXXXX.png: synthetic | refined | |refined - synthetic| | real."""
        from refine.plots import sample_grid

        t, hw = self.t, self.config.input_hw
        rows_syn, rows_real = self.grid_rows
        with torch.no_grad(), t.autocast():
            x = to_tensor(self.synthetic[rows_syn], hw, t.device, t.channels_last)
            refined = t.R(t.R.relight(x))
        real_s = to_tensor(self.real[rows_real], hw, "cpu")
        (self.run_dir / "samples").mkdir(exist_ok=True)
        path = self.run_dir / "samples" / f"step_{self.step:06d}.png"
        sample_grid(
            to_uint8(x), to_uint8(refined), to_uint8(real_s), path, title=f"step {self.step}"
        )

    def _select(self) -> None:
        """Score the current snapshot (the EMA when there is one) and keep it if it is the best."""
        t, cfg = self.t, self.config
        net = t.R_final
        score = score_snapshot(net, self.sel, t.device, t.bf16, cfg.seed)
        t.scores.append({"step": self.step, **score})
        if self.on_score is not None:
            self.on_score(t.scores[-1])
        best = t.best["score"] if t.best else None
        if better(score, best, cfg.select_max_label_ratio):
            weights = {k: v.detach().clone().cpu() for k, v in net.state_dict().items()}
            t.best = {"step": self.step, "score": score, "weights": weights}
