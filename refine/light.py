"""The real pool's light, drawn onto synthetic eyes: a departure that gives R lit inputs.

Why (docs/simgan.md, "What the CNN needs"): on the demo, what helps a gaze CNN most is the
low-frequency light of the target eyes (a brightness gradient across the patch that differs from
eye to eye, and their spread of brightness), and a fully convolutional, local R trained against a
local patch D can neither paint a gradient across the whole patch nor vary it per eye.

The model: each eye's light is the least-squares plane ``c0 + c1 u + c2 v`` of its grey levels
(u, v in [-1, 1] across the width and height), read as p = (log c0, c1 / c0, c2 / c0): log
brightness and relative gradients. Relighting multiplies an image by
``exp(d0) * (1 + d1 u + d2 v)``, which adds d to p (to first order) and moves no edge, so it
cannot move an iris. The draws d ~ N(mean, cov) match the first two moments of p on the
unlabelled real pool: mean = mean_real - mean_synthetic, cov = cov_real - cov_synthetic (clipped
to positive semi-definite: the synthetic eyes' own spread of p, from their content, is not
added twice). No label of any image is read.

:class:`PoolLight` holds the fitted moments as buffers (saved with R's weights) and relights
(B, 1, H, W) tensors in [-1, 1]; :func:`fit_light_moments` computes them from uint8 pools.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MAX_IMAGES = 20_000  # per pool: moments of 3 numbers settle long before


def plane_features(images: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(n, H, W) uint8 grey levels -> (n, 3) float64 p = (log brightness, relative left-right
    gradient, relative top-bottom gradient) of each image's least-squares plane."""
    n, h, w = images.shape
    u, v = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
    pinv = np.linalg.pinv(np.stack([np.ones(h * w), u.ravel(), v.ravel()], 1))  # (3, H*W)
    out = np.empty((n, 3))
    for s in range(0, n, chunk):  # images may be a memory map
        c = np.asarray(images[s : s + chunk], np.float64).reshape(-1, h * w) @ pinv.T
        c0 = np.maximum(c[:, 0], 1.0)  # a black image: no light to read
        out[s : s + chunk] = np.stack([np.log(c0), c[:, 1] / c0, c[:, 2] / c0], 1)
    return out


def _rows(n: int, seed: int) -> np.ndarray:
    if n <= MAX_IMAGES:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 7]).choice(n, MAX_IMAGES, replace=False))


def fit_light_moments(
    synthetic: np.ndarray, real: np.ndarray, seed: int = 0, real_rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(mean (3,), scale (3, 3)) float32 with scale @ scale.T = cov_real - cov_synthetic (PSD
    part), from (N, H, W) uint8 pools (up to MAX_IMAGES of each, a seeded subset beyond).
    real_rows: the rows of ``real`` to read (None: all), e.g. those R and D train on."""
    real_rows = np.arange(len(real)) if real_rows is None else np.asarray(real_rows)
    ps = plane_features(np.asarray(synthetic[_rows(len(synthetic), seed)]))
    pr = plane_features(np.asarray(real[real_rows[_rows(len(real_rows), seed + 1)]]))
    mean = pr.mean(0) - ps.mean(0)
    eigval, eigvec = np.linalg.eigh(np.cov(pr.T) - np.cov(ps.T))
    scale = eigvec @ np.diag(np.sqrt(np.clip(eigval, 0.0, None)))
    return mean.astype(np.float32), scale.astype(np.float32)


class PoolLight(nn.Module):
    """Relights a batch with draws from the fitted light distribution.

    Starts as the identity (mean and scale zero) until :meth:`fit_` sets them; they are buffers,
    not learnt: the light is matched to the real pool's moments, not to D.
    """

    MAX_GRADIENT = 0.9  # |d1|, |d2| clipped: the factor stays positive across the patch

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.zeros(3))
        self.register_buffer("scale", torch.zeros(3, 3))

    def fit_(
        self,
        synthetic: np.ndarray,
        real: np.ndarray,
        seed: int = 0,
        real_rows: np.ndarray | None = None,
    ) -> PoolLight:
        """Set the moments from the pools (see :func:`fit_light_moments`); returns self."""
        mean, scale = fit_light_moments(synthetic, real, seed, real_rows)
        self.mean.copy_(torch.from_numpy(mean))
        self.scale.copy_(torch.from_numpy(scale))
        return self

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, 1, H, W) in [-1, 1]; z: (B, 3) N(0, 1) draws (None: torch's current RNG).
        Returns x relit, same shape and dtype, in [-1, 1] (computed in fp32)."""
        dtype, b, (h, w) = x.dtype, x.shape[0], x.shape[2:]
        if z is None:
            z = torch.randn((b, 3), device=x.device)
        d = self.mean + z.float().to(x.device) @ self.scale.T  # (B, 3)
        grad = d[:, 1:].clamp(-self.MAX_GRADIENT, self.MAX_GRADIENT)
        u = torch.linspace(-1.0, 1.0, w, device=x.device).view(1, 1, 1, w)
        v = torch.linspace(-1.0, 1.0, h, device=x.device).view(1, 1, h, 1)
        factor = torch.exp(d[:, 0]).view(-1, 1, 1, 1) * (
            1.0 + grad[:, 0].view(-1, 1, 1, 1) * u + grad[:, 1].view(-1, 1, 1, 1) * v
        )
        grey = (x.float() + 1.0) * 127.5 * factor
        return (grey.clamp(0.0, 255.0) / 127.5 - 1.0).to(dtype)
