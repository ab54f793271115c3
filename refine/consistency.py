"""Gaze consistency (a departure from the paper): a frozen gaze regressor G, trained on synthetic
images and their synthetic labels only, and a refiner loss ``|G(R(x)) - G(x)|^2`` that makes R
pay for moving what G reads as the gaze.

Why: the local discriminator can tell synthetic from real eyes by where they look (the synthetic
gaze range is wider than the real one), so the adversarial term pays R to pull the iris toward
the centre, and the L1 self-regularisation is too weak a price for a 1-2 px move (it costs a few
pixels' worth of grey levels). G prices the move directly. G must not price tone: it is trained
with the label check's photometric augmentation (refine.probe.augment_tone) on per-image
standardised, lightly blurred inputs, so a darker, noisier or blurrier R(x) reads like x.

G is *not* the label check's probe (refine.labelcheck): it has its own seed, its own training rows
(the probe's rows are left out), and another input normalisation (a differentiable
standardisation, where the probe ranks grey levels). So the check that judges a recipe is not the
loss that trained it. No real image or label is read here.

Tensors: (B, 1, H, W) float in [-1, 1] at the refiner's input size; G's outputs are the gaze
pitch/yaw standardised over its training labels (unitless).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from refine.images import to_tensor
from refine.probe import _Net, augment_tone

_CACHE: dict[str, GazeRegressor] = {}


@dataclass(frozen=True)
class ConsistencySpec:
    """How G is trained: steps x batch_size augmented synthetic images."""

    steps: int = 600
    batch_size: int = 64
    lr: float = 2e-3
    width: int = 16
    blur_px: float = 1.0  # fixed Gaussian low-pass of the standardised input (ignores noise)
    seed: int = 0


def _gauss_kernel(sigma_px: float) -> torch.Tensor:
    r = max(1, int(round(3 * sigma_px)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma_px) ** 2)
    return (k / k.sum()).reshape(1, 1, 1, -1)


class GazeRegressor(torch.nn.Module):
    """G: (B, 1, H, W) in [-1, 1] -> (B, 2) standardised gaze; differentiable in its input."""

    def __init__(self, spec: ConsistencySpec):
        super().__init__()
        self.spec = spec
        self.net = _Net(spec.width, 0, 2)
        self.register_buffer("kernel", _gauss_kernel(spec.blur_px), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = x.std(dim=(2, 3), keepdim=True)
        z = (x - mean) / (std + 1e-3)  # gain and offset invariant
        k = self.kernel.to(z.device)
        r = k.shape[-1] // 2
        z = F.conv2d(F.pad(z, (r, r, 0, 0), mode="replicate"), k)
        z = F.conv2d(F.pad(z, (0, 0, r, r), mode="replicate"), k.transpose(2, 3))
        return self.net(z, z.new_zeros((len(z), 0)))


def fit_gaze_regressor(
    images: np.ndarray,
    gaze_pitchyaw_rad: np.ndarray,
    hw: tuple[int, int],
    spec: ConsistencySpec,
) -> GazeRegressor:
    """Train G on (n, H0, W0) uint8 synthetic images and their (n, 2) radian labels, resized to
    ``hw``; frozen (eval, no parameter grads), on CPU. Deterministic for a spec (one thread);
    memoised in-process by a hash of the inputs, so a resumed run gets the same G."""
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(images), np.ascontiguousarray(gaze_pitchyaw_rad)):
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    h.update(repr((spec, tuple(hw))).encode())
    key = h.hexdigest()
    if key in _CACHE:
        return _CACHE[key]
    y = np.asarray(gaze_pitchyaw_rad, np.float64)
    mean, std = y.mean(0), y.std(0) + 1e-9
    target = torch.from_numpy(((y - mean) / std).astype(np.float32))
    rng = np.random.default_rng([spec.seed, 21])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed + 21)
            g = GazeRegressor(spec)
            opt = torch.optim.Adam(g.parameters(), lr=spec.lr)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, spec.lr, total_steps=spec.steps)
            g.train()
            for _ in range(spec.steps):
                idx = np.sort(rng.integers(0, len(images), spec.batch_size))
                aug = augment_tone(np.asarray(images[idx]), rng)
                x = to_tensor(np.clip(aug.round(), 0, 255).astype(np.uint8), hw)
                loss = F.mse_loss(g(x), target[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
    finally:
        torch.set_num_threads(threads)
    g.eval().requires_grad_(False)
    _CACHE[key] = g
    return g


def consistency_loss(g: GazeRegressor, refined: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the squared distance between G's reading of R(x) and of x (x is a
    constant here: only R is paid to keep the reading)."""
    with torch.no_grad():
        target = g(x)
    return ((g(refined) - target) ** 2).sum(dim=1).mean()
