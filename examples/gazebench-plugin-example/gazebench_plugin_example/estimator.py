"""A tiny gaze estimator: ridge regression on 4x4-pooled pixels and the head pose.

Subclasses gazebench's ``GazeEstimator``, which validates inputs and outputs; implementing
``_fit`` and ``_predict`` is all a plug-in needs. Predictions are (n, 2) float32 gaze
pitch/yaw in radians.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from estimators.base import EyeData, GazeEstimator


def _features(X: EyeData) -> np.ndarray:
    """(n, 36, 60) uint8 + (n, 2) head radians -> (n, 9 * 15 + 2) float64 features."""
    x = np.asarray(X.images, np.float64).reshape(len(X), 9, 4, 15, 4).mean(axis=(2, 4)) / 255.0
    return np.hstack([x.reshape(len(X), -1), X.head_pitchyaw_rad])


class PooledRidgeGaze(GazeEstimator):
    """alpha: ridge regularisation strength."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def _fit(self, X: EyeData, y: np.ndarray) -> None:
        self.model_ = Ridge(alpha=self.alpha).fit(_features(X), y)
        self.is_fitted_ = True

    def _predict(self, X: EyeData) -> np.ndarray:
        return self.model_.predict(_features(X)).astype(np.float32)
