"""Degrade: gamma, Gaussian blur and Gaussian noise, each fitted to the real pool by moments.

A reviewer's baseline for "is a GAN needed, or do real eyes just look darker, softer and noisier?"
Three parameters are fitted in the order they are applied (each on the output of the previous):

1. **gamma** (x -> 255 (x/255)^gamma): bisection so that the mean grey level of a synthetic
   sample equals the real pool's mean.
2. **blur** sigma (pixels, Gaussian): grid search so that the *noise-free* gradient energy matches,
   i.e. var(horizontal difference) - 2 noise_sigma^2 of the blurred synthetic sample equals the
   same quantity on real images (white noise of sigma adds 2 sigma^2 to that variance).
3. **noise** sigma (grey levels): what makes the total noise match in quadrature,
   sqrt(max(real_noise^2 - synthetic_noise^2, 0)), the noise levels estimated by Immerkaer's
   fast method (mean |Laplacian-difference mask|, robust to image structure).

transform draws noise from a generator seeded by (seed, the image's bytes), so an image's output
does not depend on the batch it arrives in.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from scipy.ndimage import convolve, gaussian_filter

from refine.base import BaseRefiner

_IMMERKAER = np.array([[[1, -2, 1], [-2, 4, -2], [1, -2, 1]]], np.float64)  # (1, 3, 3): per image
BLUR_GRID = np.round(np.arange(0.0, 3.01, 0.25), 2)  # candidate sigmas in pixels


def noise_sigma(images: np.ndarray) -> float:
    """Immerkaer (1996) noise estimate in grey levels, averaged over (k, H, W) images."""
    x = np.asarray(images, np.float64)
    resp = np.abs(convolve(x, _IMMERKAER, mode="reflect")[:, 1:-1, 1:-1])
    return float(np.sqrt(np.pi / 2) * resp.mean() / 6.0)


def _grad_energy(x: np.ndarray) -> float:
    """var of horizontal differences (grey levels^2) minus what white noise adds to it."""
    d = np.diff(np.asarray(x, np.float64), axis=2)
    return float(d.var() - 2 * noise_sigma(x) ** 2)


def _gamma(x: np.ndarray, g: float) -> np.ndarray:
    return 255.0 * (np.asarray(x, np.float64) / 255.0) ** g


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return x if sigma <= 0 else gaussian_filter(x, sigma=(0, sigma, sigma), mode="reflect")


class DegradeRefiner(BaseRefiner):
    """Gamma, blur and noise fitted to the real pool (see the module doc).

    fit_n: images of each pool used to fit the statistics (random subsets).
    seed: picks the subsets and seeds the noise.
    Fitted: ``gamma_`` (unitless), ``blur_sigma_`` (pixels), ``noise_sigma_`` (grey levels).
    """

    def __init__(self, fit_n: int = 500, seed: int = 0):
        self.fit_n = fit_n
        self.seed = seed

    def _fit(self, synthetic: np.ndarray, real: np.ndarray, **info: Any) -> None:
        rng = np.random.default_rng(self.seed)

        def sample(pool: np.ndarray) -> np.ndarray:
            rows = np.sort(rng.choice(len(pool), min(self.fit_n, len(pool)), replace=False))
            return np.asarray(pool[rows], np.float64)

        syn, rea = sample(synthetic), sample(real)
        target_mean = rea.mean()
        # the mean falls monotonically with gamma: bisect on log gamma, on the grey-level
        # histogram (256 levels) rather than every pixel
        freq = np.bincount(syn.astype(np.int64).ravel(), minlength=256) / syn.size
        levels = np.arange(256.0)
        lo, hi = 0.2, 5.0
        for _ in range(40):
            mid = np.sqrt(lo * hi)
            above = (freq * _gamma(levels, mid)).sum() > target_mean
            lo, hi = (mid, hi) if above else (lo, mid)
        self.gamma_ = float(np.sqrt(lo * hi))
        syn = _gamma(syn, self.gamma_)
        target = _grad_energy(rea)
        gaps = [abs(_grad_energy(_blur(syn, s)) - target) for s in BLUR_GRID]
        self.blur_sigma_ = float(BLUR_GRID[int(np.argmin(gaps))])
        left = noise_sigma(_blur(syn, self.blur_sigma_))
        self.noise_sigma_ = float(np.sqrt(max(noise_sigma(rea) ** 2 - left**2, 0.0)))

    def _transform(self, images: np.ndarray) -> np.ndarray:
        x = _blur(_gamma(images, self.gamma_), self.blur_sigma_)
        if self.noise_sigma_ > 0:
            for i, im in enumerate(np.asarray(images)):
                rng = np.random.default_rng([self.seed, zlib.crc32(im.tobytes())])
                x[i] += rng.normal(0.0, self.noise_sigma_, im.shape)
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)
