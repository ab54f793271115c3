"""Light matching: synthetic eyes relit with the unlabelled real pool's light, and nothing else.

The light part of the demo's domain gap alone, with no GAN: the control that says how much of a
refiner's gain is light. fit reads the first two moments of each eye's brightness plane (log
brightness, relative left-right and top-bottom gradient; :func:`refine.light.fit_light_moments`)
on the synthetic and the real pool; transform multiplies each image by its own plane of gain
``exp(d0) * (1 + d1 u + d2 v)`` with d drawn from those moments (refine/light.py, the same
relighting as SimGAN's ``input_light`` departure, with draws of its own: salt 4, not 3).

It reads no label, and a plane of gain moves no edge (so no iris). Each image's draw depends on
(seed, the image's bytes) only (:func:`refine.apply.image_draws`), so a refined store is the
same however it is chunked, and one image refines alike wherever it arrives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refine.apply import image_draws
from refine.base import BaseRefiner
from refine.light import PoolLight, fit_light_moments

SALT = 4  # image_draws' salt: 1-3 are SimGAN's noise, light_z and input_light draws


class LightMatchRefiner(BaseRefiner):
    """Per-image relighting with draws matching the real pool's light (see the module doc).

    seed: picks the pools' subsets (beyond refine.light.MAX_IMAGES) and seeds the draws.
    Fitted: ``mean_`` (3,) and ``scale_`` (3, 3) float32, the light draws' mean and scale
    (d = mean_ + scale_ @ z, z ~ N(0, I); units of p: log brightness, relative gradients).
    """

    def __init__(self, seed: int = 0):
        self.seed = seed

    def _fit(self, synthetic: np.ndarray, real: np.ndarray, **info: Any) -> None:
        self.mean_, self.scale_ = fit_light_moments(synthetic, real, self.seed)

    def _transform(self, images: np.ndarray) -> np.ndarray:
        """(n, H, W) uint8 -> (n, H, W) uint8 relit grey levels (rounded, clipped to 0..255)."""
        light = PoolLight()
        light.mean.copy_(torch.from_numpy(np.asarray(self.mean_, np.float32)))
        light.scale.copy_(torch.from_numpy(np.asarray(self.scale_, np.float32)))
        images = np.asarray(images)
        z = image_draws(images, (3,), self.seed, SALT)  # (n, 3) float32 N(0, 1)
        x = torch.from_numpy(images.astype(np.float32))[:, None] / 127.5 - 1.0  # (n, 1, H, W)
        with torch.no_grad():
            y = light(x, z)
        return ((y[:, 0] + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
