"""Augmentations for training rows (what sim-to-real papers add to synthetic data), numpy + cv2.

``augment`` is a "+"-joined string of steps, "none" by default so Table 1 stays faithful:

- ``hist_eq``: per-image histogram equalisation. A *preprocessing* step: when chosen it is applied
  at fit and at predict time alike (every image the model ever sees is equalised).
- ``blur``: Gaussian blur with sigma uniform in [0.3, 1.5] px, on about half of the training rows.
- ``noise``: additive Gaussian noise with sigma uniform in [0, 8] grey levels, on every training row.

blur and noise are random and applied to training batches only. No torch import here.
"""

from __future__ import annotations

import cv2
import numpy as np

from estimators.base import UserError

AUGMENT_STEPS = ("hist_eq", "blur", "noise")


def parse_augment(augment: str) -> tuple[str, ...]:
    """'none' -> (); 'hist_eq+noise' -> ('hist_eq', 'noise'); unknown steps raise ValueError."""
    if augment in ("none", "", None):
        return ()
    steps = tuple(s.strip() for s in augment.split("+"))
    bad = [s for s in steps if s not in AUGMENT_STEPS]
    if bad:
        raise UserError(
            f"unknown augment step(s) {', '.join(bad)}; use 'none' or '+'-joined "
            f"{', '.join(AUGMENT_STEPS)}"
        )
    return steps


def preprocess(images: np.ndarray, steps: tuple[str, ...]) -> np.ndarray:
    """Deterministic steps applied at fit and predict time: (n, H, W) uint8 -> same."""
    if "hist_eq" not in steps:
        return images
    return np.stack([cv2.equalizeHist(np.ascontiguousarray(im)) for im in images])


def augment_batch(
    images: np.ndarray, steps: tuple[str, ...], rng: np.random.Generator
) -> np.ndarray:
    """Random training-only steps: (n, H, W) uint8 -> (n, H, W) float32 grey levels."""
    out = images.astype(np.float32)
    if "blur" in steps:
        for i in np.flatnonzero(rng.random(len(out)) < 0.5):
            out[i] = cv2.GaussianBlur(out[i], (0, 0), float(rng.uniform(0.3, 1.5)))
    if "noise" in steps:
        sigma = rng.uniform(0.0, 8.0, (len(out), 1, 1)).astype(np.float32)
        out += rng.standard_normal(out.shape, dtype=np.float32) * sigma
        np.clip(out, 0.0, 255.0, out=out)
    return out
