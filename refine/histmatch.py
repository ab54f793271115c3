"""Histogram matching: each image's grey levels remapped onto the real pool's histogram.

The simplest non-GAN answer to "the synthetic images have the wrong grey levels": fit stores the
real pool's cumulative grey-level histogram F_real (256 bins, pooled over up to ``max_real``
real images). transform maps every synthetic image
on its own, rank for rank: pixel value v of an image goes to the real grey level at the same
cumulative fraction, F_real^{-1}(F_image(v)). Ties keep their order, so the layout (and the
gaze) is untouched and only the grey-level distribution moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from refine.base import BaseRefiner


class HistMatchRefiner(BaseRefiner):
    """Per-image histogram matching to the real pool's grey-level histogram.

    max_real: real images pooled for the reference histogram (a random subset beyond it).
    strength: 1 = full matching, 0 = identity; in between blends the two grey-level maps.
    seed: picks the real subset.
    """

    def __init__(self, max_real: int = 20000, strength: float = 1.0, seed: int = 0):
        self.max_real = max_real
        self.strength = strength
        self.seed = seed

    def _fit(self, synthetic: np.ndarray, real: np.ndarray, **info: Any) -> None:
        rng = np.random.default_rng(self.seed)
        rows = np.arange(len(real))
        if len(real) > self.max_real:
            rows = np.sort(rng.choice(len(real), self.max_real, replace=False))
        counts = np.zeros(256, np.float64)
        for s in range(0, len(rows), 4096):  # chunks: real may be a memory map of 1 M images
            counts += np.bincount(np.asarray(real[rows[s : s + 4096]]).ravel(), minlength=256)
        self.real_cdf_ = np.cumsum(counts) / counts.sum()  # (256,) float64, F_real(v)

    def _transform(self, images: np.ndarray) -> np.ndarray:
        levels = np.arange(256, dtype=np.float64)
        out = np.empty(images.shape, np.uint8)
        for i, im in enumerate(np.asarray(images)):
            counts = np.bincount(im.ravel(), minlength=256)
            cdf = (np.cumsum(counts) - 0.5 * counts) / counts.sum()  # mid-rank: ties centred
            target = np.interp(cdf, self.real_cdf_, levels)  # F_real^{-1}(F_image(v))
            lut = (1 - self.strength) * levels + self.strength * target
            out[i] = np.clip(np.rint(lut), 0, 255).astype(np.uint8)[im]
        return out
