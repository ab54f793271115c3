"""The dummy estimator: predicts the training set's mean gaze for every image.

It is the floor every real method must beat by a wide margin, and a fast stand-in for pipeline
tests (lm-evaluation-harness's dummy model, in gaze form).
"""

from __future__ import annotations

import numpy as np

from estimators.base import EyeData, GazeEstimator
from estimators.geometry import normalize, pitchyaw_to_vector, vector_to_pitchyaw


class MeanGaze(GazeEstimator):
    """Predict the mean training gaze direction (averaged as unit vectors, not as angles)."""

    def __init__(self, random_state: int | None = None):
        self.random_state = random_state

    def _fit(self, X: EyeData, y: np.ndarray) -> None:
        mean_vec = normalize(pitchyaw_to_vector(y.astype(np.float64)).mean(0, keepdims=True))
        self.mean_pitchyaw_rad_ = vector_to_pitchyaw(mean_vec)[0].astype(np.float32)
        self.is_fitted_ = True

    def _predict(self, X: EyeData) -> np.ndarray:
        return np.repeat(self.mean_pitchyaw_rad_[None], len(X), axis=0)
