"""One SimGAN run's state (R, D, optimisers, buffer, RNG) and its two update rules.

The paper's schedule lives in refine.train; this holds what a step touches and what a
checkpoint must capture (``state`` / ``load``).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

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
        from torchkit.device import autocast

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
