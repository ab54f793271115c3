"""A frozen, tone-invariant probe: a small CNN that reads a target (gaze, iris position) from eye
images and ignores their grey levels, blur, noise and compression.

Why: the label check must ask "is the gaze still where the label says?" of a refined image
without learning anything from it. A regressor *refit* on R(x) re-learns any smooth remap of the
gaze and so cannot see a systematic shift; a regressor frozen on raw pixels also reacts to tone,
so a refiner that only darkens the image looks as if it broke the label. The probe is trained
once, on synthetic images only, with photometric augmentation spanning what refiners may do to
appearance (gain, offset, gamma, contrast, an illumination gradient, blur, noise, JPEG), and
every input is rank-normalised per image. Then it is frozen and applied to x and to R(x).

Images: (N, H, W) uint8 grey levels at any fixed size; targets: (N, k) float (any unit; the
probe regresses them with a squared loss on standardised targets). Deterministic on CPU for a
given seed and thread count; trained on one thread (small ops lose more to synchronisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ProbeSpec:
    """How a probe is trained. steps x batch_size images are seen (with augmentation)."""

    steps: int = 600
    batch_size: int = 64
    lr: float = 2e-3
    width: int = 16
    post_blur_px: float = 1.0  # Gaussian low-pass of the rank image: ranks of noise fade
    seed: int = 0


def augment_tone(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random appearance changes that keep the geometry: (n, H, W) uint8 -> float32 grey levels.

    Per image: gamma in [0.6, 1.7], contrast in [0.45, 1.1] around the mean, gain in [0.55, 1.1],
    offset in [-25, 25] grey levels, a linear illumination gradient up to +-35 % across the patch,
    Gaussian blur sigma in [0, 3] px (on 90 % of images: a refiner may blur as much as
    the degrade baseline's fitted 2.5 px), Gaussian noise sigma in [0, 9] grey
    levels, JPEG quality in [25, 95] (on 40 %). The ranges cover the demo's wild look and
    MPIIGaze-like webcams with a margin.
    """
    n, h, w = images.shape
    x = images.astype(np.float32) / 255.0
    x = x ** rng.uniform(0.6, 1.7, (n, 1, 1)).astype(np.float32)
    mean = x.mean(axis=(1, 2), keepdims=True)
    x = mean + rng.uniform(0.45, 1.1, (n, 1, 1)).astype(np.float32) * (x - mean)
    u = (np.arange(w, dtype=np.float32) - w / 2) / (w / 2)
    v = (np.arange(h, dtype=np.float32) - h / 2) / (h / 2)
    g = rng.uniform(-0.35, 0.35, (n, 2, 1, 1)).astype(np.float32)
    x = x * (1.0 + g[:, 0] * u[None, None, :] + g[:, 1] * v[None, :, None])
    x = 255.0 * (x * rng.uniform(0.55, 1.1, (n, 1, 1)).astype(np.float32))
    x += rng.uniform(-25, 25, (n, 1, 1)).astype(np.float32)
    for i in np.flatnonzero(rng.random(n) < 0.9):
        x[i] = cv2.GaussianBlur(x[i], (0, 0), float(rng.uniform(0.05, 3.0)))
    x += rng.standard_normal(x.shape, dtype=np.float32) * rng.uniform(0, 9, (n, 1, 1)).astype(
        np.float32
    )
    x = np.clip(x, 0.0, 255.0)
    for i in np.flatnonzero(rng.random(n) < 0.4):
        q = int(rng.uniform(25, 95))
        ok, buf = cv2.imencode(".jpg", x[i].round().astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, q])
        x[i] = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32)
    return x


def low_pass(images: np.ndarray, sigma_px: float) -> np.ndarray:
    """(n, H, W) -> float32, each image Gaussian-blurred with sigma_px (0: unchanged)."""
    x = np.asarray(images, np.float32)
    if sigma_px <= 0:
        return x
    return np.stack([cv2.GaussianBlur(im, (0, 0), sigma_px) for im in x])


def rank_normalise(images: np.ndarray) -> torch.Tensor:
    """(n, H, W) grey levels -> (n, 1, H, W) float32 in [-1, 1]: each pixel's mid-rank among its
    image's pixels. Invariant to any increasing grey-level map (gain, offset, gamma, contrast,
    histogram matching), exactly, so only blur, noise, JPEG and gradients are left to learn."""
    x = np.asarray(images)
    n = len(x)
    flat = np.clip(np.rint(x * 4.0), 0, 1023).astype(np.int64).reshape(n, -1)  # quarter levels
    offset = (np.arange(n, dtype=np.int64) * 1024)[:, None]
    counts = np.bincount((flat + offset).ravel(), minlength=1024 * n).reshape(n, 1024)
    counts = counts.astype(np.float64)
    mid = np.cumsum(counts, axis=1) - 0.5 * counts  # pixels below + half of the ties
    ranks = np.take_along_axis(mid, flat, axis=1) / flat.shape[1]
    return torch.from_numpy((2.0 * ranks - 1.0).astype(np.float32)).reshape(n, 1, *x.shape[1:])


class _Net(nn.Module):
    def __init__(self, width: int, n_side: int, n_out: int):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d((3, 5)), nn.Flatten(),
        )  # fmt: skip
        self.out = nn.Sequential(
            nn.Linear(2 * w * 15 + n_side, 128), nn.ReLU(), nn.Linear(128, n_out)
        )

    def forward(self, x: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([self.features(x), side], dim=1))


class FrozenProbe:
    """Fit once on synthetic images and their targets; then ``predict`` any images.

    side: optional (N, s) float extra inputs (e.g. head pitch/yaw radians) given at fit and
    predict alike. ``fit`` returns self; ``predict`` returns (N, k) float64 in the targets' unit.
    """

    def __init__(self, spec: ProbeSpec | None = None):
        self.spec = spec or ProbeSpec()

    def fit(self, images: np.ndarray, targets: np.ndarray, side: np.ndarray | None = None):
        spec = self.spec
        targets = np.asarray(targets, np.float64)
        side = np.zeros((len(images), 0)) if side is None else np.asarray(side, np.float64)
        self.t_mean_, self.t_std_ = targets.mean(0), targets.std(0) + 1e-9
        y = torch.from_numpy(((targets - self.t_mean_) / self.t_std_).astype(np.float32))
        s = torch.from_numpy(side.astype(np.float32))
        rng = np.random.default_rng([spec.seed, 11])
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(spec.seed)
                self.net_ = _Net(spec.width, side.shape[1], targets.shape[1])
                opt = torch.optim.Adam(self.net_.parameters(), lr=spec.lr)
                sched = torch.optim.lr_scheduler.OneCycleLR(opt, spec.lr, total_steps=spec.steps)
                self.net_.train()
                for _ in range(spec.steps):
                    idx = np.sort(rng.integers(0, len(images), spec.batch_size))
                    x = self._inputs(augment_tone(np.asarray(images[idx]), rng))
                    loss = F.mse_loss(self.net_(x, s[idx]), y[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
        finally:
            torch.set_num_threads(threads)
        self.net_.eval()
        self.n_side_ = side.shape[1]
        return self

    def _inputs(self, images: np.ndarray) -> torch.Tensor:
        r = rank_normalise(images)
        if self.spec.post_blur_px > 0:
            r = torch.from_numpy(low_pass(r[:, 0].numpy(), self.spec.post_blur_px)).unsqueeze(1)
        return r

    @torch.no_grad()
    def predict(self, images: np.ndarray, side: np.ndarray | None = None) -> np.ndarray:
        side = np.zeros((len(images), 0)) if side is None else np.asarray(side, np.float64)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            out = [
                self.net_(
                    self._inputs(np.asarray(images[i : i + 512], np.float32)),
                    torch.from_numpy(side[i : i + 512].astype(np.float32)),
                ).numpy()
                for i in range(0, len(images), 512)
            ]
        finally:
            torch.set_num_threads(threads)
        return np.concatenate(out).astype(np.float64) * self.t_std_ + self.t_mean_
