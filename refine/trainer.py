"""One SimGAN run's state (R, D, optimisers, buffer, RNG) and its two update rules.

The paper's schedule lives in refine.loop; this holds what a step touches and what a
checkpoint must capture (``state`` / ``load``).
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
import torch

from estimators.base import UserError
from refine import checkpoint as ckpt
from refine import losses
from refine.buffer import HistoryBuffer
from refine.config import RefinerConfig
from refine.images import to_tensor
from refine.logbook import Logbook
from refine.networks import LocalDiscriminator, build_networks
from torchkit.device import resolve_device, use_bf16


class Trainer:
    """The networks, optimisers, buffer and RNG of one run, and its two update rules."""

    def __init__(
        self,
        synthetic: np.ndarray,
        real: np.ndarray,
        config: RefinerConfig,
        synthetic_gaze_pitchyaw_rad: np.ndarray | None = None,
    ):
        self.synthetic, self.real, self.cfg = synthetic, real, config
        self.device = resolve_device(config.device)
        self.bf16 = use_bf16(self.device, config.precision)
        self.channels_last = self.bf16  # oneDNN/cuDNN fast paths for bf16 want NHWC
        torch.manual_seed(config.seed)
        random.seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.R, self.D = build_networks(config)
        self.R.noise_seed = config.seed  # the per-image draws diagnostics share with stores
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.R.to(self.device, memory_format=fmt)
        self.D.to(self.device, memory_format=fmt)
        # a fixed share of the real pool that R and D never see, for label-free selection
        self.real_train_rows, self.real_holdout_rows = split_real(
            len(real), config.holdout_real_fraction, config.seed
        )
        if self.R.input_light is not None:  # the real pool's light moments, before any step
            self.R.input_light.fit_(synthetic, real, config.seed, self.real_train_rows)
        # EMA of R's weights: the adversarial game keeps R moving; the average is where it hovers
        self.R_ema = copy.deepcopy(self.R).requires_grad_(False) if config.ema_decay else None
        self.opt_r = self._optimizer(self.R)
        self.opt_d = self._optimizer(self.D)
        self.buffer = HistoryBuffer(config.buffer_size, config.input_hw)
        self.best: dict[str, Any] | None = None  # {"step", "score", "weights"} of selection
        self.scores: list[dict[str, Any]] = []
        # (N,) float64 sampling probabilities of the synthetic rows, None: uniform
        self.synthetic_p: np.ndarray | None = None
        if config.match_real_gaze:
            from refine.gazematch import gaze_matching_weights

            if synthetic_gaze_pitchyaw_rad is None:
                raise UserError("refiner config: match_real_gaze needs the synthetic gaze labels")
            w = gaze_matching_weights(synthetic, synthetic_gaze_pitchyaw_rad, real, config)
            self.synthetic_p = w / w.sum()
        self.G = None  # refine.consistency's frozen gaze regressor, when gaze_consistency > 0
        if config.gaze_consistency > 0:
            self.G = _fit_consistency_regressor(synthetic, synthetic_gaze_pitchyaw_rad, config)
            self.G.to(self.device)

    def _optimizer(self, net: torch.nn.Module) -> torch.optim.Optimizer:
        if self.cfg.optimizer == "adam":
            return torch.optim.Adam(net.parameters(), lr=self.cfg.lr, betas=(0.5, 0.999))
        return torch.optim.SGD(net.parameters(), lr=self.cfg.lr)

    def clip(self, net: torch.nn.Module) -> None:
        """Clip ``net``'s gradients to a total L2 norm of grad_clip_norm (0: leave them). bf16
        autocast needs no GradScaler, so the gradients are already in their true scale here."""
        if self.cfg.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), self.cfg.grad_clip_norm)

    def autocast(self):
        from torchkit.device import autocast

        return autocast(self.device, self.bf16)

    def batch(self, images: np.ndarray, k: int, rows: np.ndarray | None = None) -> torch.Tensor:
        n = len(images) if rows is None else len(rows)
        if images is self.synthetic and self.synthetic_p is not None:
            idx = self.rng.choice(n, size=k, p=self.synthetic_p)
        else:
            idx = self.rng.integers(0, n, size=k)
        idx = np.sort(idx if rows is None else rows[idx])  # sorted: memmap locality
        x = to_tensor(images[idx], self.cfg.input_hw, self.device, self.channels_last)
        return self.R.relight(x) if images is self.synthetic else x

    def update_ema(self, pretrain: bool) -> None:
        """During pretraining the average is R itself; then it follows R with ema_decay."""
        if self.R_ema is None:
            return
        with torch.no_grad():
            for e, p in zip(self.R_ema.parameters(), self.R.parameters(), strict=True):
                if pretrain:
                    e.copy_(p)
                else:
                    e.lerp_(p, 1.0 - self.cfg.ema_decay)

    @property
    def R_final(self) -> torch.nn.Module:
        """The weights refinement uses when no snapshot was selected: the EMA, else R."""
        return self.R_ema if self.R_ema is not None else self.R

    def r_step(self, pretrain: bool) -> dict[str, float]:
        """One R update: pretraining uses self-regularisation only, then adversarial + lambda*L1."""
        x = self.batch(self.synthetic, self.cfg.batch_size)
        self.D.requires_grad_(False)
        with self.autocast():
            y = self.R(x)
            reg = losses.self_regularisation(y, x, self.cfg.loss_reduction)
            if pretrain:
                adv = torch.zeros((), device=x.device)
                # With summed losses pretraining minimises the main loop's own term, lambda*L1:
                # plain SGD at lr 0.001 on the bare 1925-pixel sum overshoots (measured: |R(x)-x|
                # jumps to ~90 grey levels). Means keep the bare L1 (Adam ignores the scale).
                loss = self.cfg.lambda_reg * reg if self.cfg.loss_reduction == "sum" else reg
            else:
                adv = losses.patch_cross_entropy(
                    self.D(y), LocalDiscriminator.REAL, self.cfg.loss_reduction
                )
                loss = adv + self.cfg.lambda_reg * reg
        gaze = torch.zeros((), device=x.device)
        if self.G is not None and not pretrain:
            from refine.consistency import consistency_loss

            gaze = consistency_loss(self.G, y.float(), x)
            loss = loss + self.cfg.gaze_consistency * gaze
        self.opt_r.zero_grad(set_to_none=True)
        loss.backward()
        self.clip(self.R)
        self.opt_r.step()
        self.update_ema(pretrain)
        self.D.requires_grad_(True)
        return {
            "loss_r_adv": float(adv.detach()),
            "loss_r_reg": float(reg.detach()),
            "loss_r": float(loss.detach()),
            **(
                {"loss_r_gaze": float(gaze.detach())} if self.G is not None and not pretrain else {}
            ),
        }

    def d_step(self) -> dict[str, float]:
        """One D update on b real and b refined images, half of the refined from the buffer."""
        b = self.cfg.batch_size
        n_hist = b // 2 if len(self.buffer) else 0
        with torch.no_grad(), self.autocast():
            current = self.R(self.batch(self.synthetic, b - n_hist)).float()
        real = self.batch(self.real, b, self.real_train_rows)
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
            red = self.cfg.loss_reduction
            loss_real = losses.patch_cross_entropy(logits_real, LocalDiscriminator.REAL, red)
            loss_ref = losses.patch_cross_entropy(logits_ref, LocalDiscriminator.REFINED, red)
            loss = loss_real + loss_ref
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.clip(self.D)
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
            "refiner_ema": None if self.R_ema is None else self.R_ema.state_dict(),
            "best": self.best,
            "scores": self.scores,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.R.load_state_dict(state["refiner"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_r.load_state_dict(state["opt_r"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.buffer.load_state_dict(state["buffer"])
        ckpt.set_rng_state(state["rng"], self.rng)
        if self.R_ema is not None:
            self.R_ema.load_state_dict(state["refiner_ema"])
        self.best, self.scores = state.get("best"), list(state.get("scores", []))


def _fit_consistency_regressor(
    synthetic: np.ndarray, gaze_pitchyaw_rad: np.ndarray | None, config: RefinerConfig
):
    """G for the gaze-consistency term, trained on synthetic rows the label check's probe does
    not train on (refine.labelcheck.probe_rows), at most 8,000 of them, with its own seed."""
    from refine.consistency import ConsistencySpec, fit_gaze_regressor
    from refine.labelcheck import probe_rows

    if gaze_pitchyaw_rad is None:
        raise UserError("refiner config: gaze_consistency needs the synthetic gaze labels")
    free = np.setdiff1d(np.arange(len(synthetic)), probe_rows(len(synthetic), config.seed))
    rng = np.random.default_rng([config.seed, 22])
    rows = np.sort(rng.choice(free, min(8000, len(free)), replace=False))
    spec = ConsistencySpec(steps=config.gaze_consistency_steps, seed=config.seed)
    return fit_gaze_regressor(
        np.asarray(synthetic[rows]), np.asarray(gaze_pitchyaw_rad)[rows], config.input_hw, spec
    )


def split_real(n: int, holdout_fraction: float, seed: int) -> tuple[np.ndarray | None, np.ndarray]:
    """(training rows or None for all, held-out rows) of an n-image real pool; int64, sorted."""
    k = int(round(n * holdout_fraction))
    if k == 0:
        return None, np.arange(0)
    perm = np.random.default_rng([seed, 4]).permutation(n)
    return np.sort(perm[k:]), np.sort(perm[:k])
