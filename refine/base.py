"""The refiner contract every registered refiner follows, and the checks that enforce it.

scikit-learn style: hyperparameters are stored unchanged in ``__init__`` (``get_params()``
returns them), ``fit(synthetic, real, **info)`` learns from (N, 36, 60) uint8 synthetic images and
(M, 36, 60) uint8 unlabelled real images and returns ``self``, and ``transform(images)`` maps
(K, 36, 60) uint8 images to refined (K, 36, 60) uint8 images, row for row. ``info`` may carry the
synthetic labels (``synthetic_gaze_pitchyaw_rad``, ``synthetic_head_pitchyaw_rad``: (N, 2)
float32 radians) for refiners that want them; a refiner ignores what it does not use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from estimators.base import IMAGE_HW, UserError

REFINER_METHODS = ("fit", "transform", "get_params")


def check_refiner_input(images: Any, what: str) -> np.ndarray:
    """(N, 36, 60) uint8, non-empty; raises UserError (a caller's input, not a bug)."""
    arr = np.asarray(images) if not isinstance(images, np.ndarray) else images
    if arr.ndim != 3 or tuple(arr.shape[1:]) != IMAGE_HW or arr.dtype != np.uint8:
        raise UserError(f"{what}: expected (N, 36, 60) uint8 images, got {arr.shape} {arr.dtype}")
    if len(arr) == 0:
        raise UserError(f"{what}: is empty (0 images)")
    return arr


def check_refined(out: Any, n: int, where: str) -> np.ndarray:
    """A refiner's transform() output: (n, 36, 60) uint8, or a one-line UserError naming
    ``where`` (the refiner) and what is wrong. NaN is reported before the dtype, since a float
    array full of NaN is the commonest way a refiner goes wrong."""
    arr = np.asarray(out)
    if arr.shape != (n, *IMAGE_HW):
        raise UserError(f"{where}: transform() returned shape {arr.shape}, expected ({n}, 36, 60)")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise UserError(f"{where}: transform() returned NaN or infinite pixels")
    if arr.dtype != np.uint8:
        raise UserError(f"{where}: transform() returned dtype {arr.dtype}, expected uint8")
    return arr


class BaseRefiner(BaseEstimator):
    """Base class of the built-ins: ``fit`` / ``transform`` validate, subclasses implement
    ``_fit(synthetic, real, **info)`` and ``_transform(images) -> uint8`` on checked arrays."""

    def fit(self, synthetic: np.ndarray, real: np.ndarray, **info: Any) -> BaseRefiner:
        synthetic = check_refiner_input(synthetic, "synthetic images")
        real = check_refiner_input(real, "real images")
        self._fit(synthetic, real, **info)
        self.is_fitted_ = True
        return self

    def transform(self, images: np.ndarray) -> np.ndarray:
        images = check_refiner_input(images, "images to refine")
        if not getattr(self, "is_fitted_", False):
            raise RuntimeError(f"{type(self).__name__}: call fit() before transform()")
        return check_refined(self._transform(images), len(images), type(self).__name__)

    def _fit(self, synthetic: np.ndarray, real: np.ndarray, **info: Any) -> None:
        """Default: nothing to learn."""

    def _transform(self, images: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class IdentityRefiner(BaseRefiner):
    """The control row: returns the synthetic images unchanged (R(x) = x)."""

    def _transform(self, images: np.ndarray) -> np.ndarray:
        return np.array(images, dtype=np.uint8, copy=True)
