"""A tiny refiner: match each synthetic image's mean and contrast to the real pool's.

Follows gazebench's refiner contract without importing gazebench: ``fit(synthetic, real,
**info) -> self`` on (N, 36, 60) uint8 arrays, ``transform(images) -> (N, 36, 60) uint8``,
``get_params()``. ``info`` may carry the synthetic labels; this refiner ignores them.
"""

from __future__ import annotations

import numpy as np


class ContrastRefiner:
    """x -> (x - mean(x)) * (real std / synthetic std) * strength-blend + real mean, per image.

    strength: 1 = full matching, 0 = identity.
    """

    def __init__(self, strength: float = 1.0):
        self.strength = strength

    def get_params(self, deep: bool = True) -> dict:
        return {"strength": self.strength}

    def set_params(self, **params) -> ContrastRefiner:
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, synthetic: np.ndarray, real: np.ndarray, **info) -> ContrastRefiner:
        # pooled grey-level moments (grey levels 0..255); a sample keeps huge pools cheap
        self.real_mean_ = float(np.asarray(real[:5000], np.float64).mean())
        self.real_std_ = float(np.asarray(real[:5000], np.float64).std())
        self.synthetic_std_ = float(np.asarray(synthetic[:5000], np.float64).std()) or 1.0
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        x = np.asarray(images, np.float64)
        mean = x.mean(axis=(1, 2), keepdims=True)
        matched = (x - mean) * (self.real_std_ / self.synthetic_std_) + self.real_mean_
        out = (1 - self.strength) * x + self.strength * matched
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
