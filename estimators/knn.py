"""k-nearest-neighbour gaze regression on eye-image features with head pose (Table 1's kNN rows).

The MPIIGaze paper's kNN (and Wood et al.'s kNN on UnityEyes) publish neither feature nor k;
ours are parameters, recorded in every result row through ``get_params``. The defaults below are
what `bench select` chose on 3-fold person-disjoint validation over the demo ``lab`` source (the
``knn-lab`` row's training source; results/demo/selection/knn.csv); ``knn-synthetic`` sets its
own k in the suite, chosen the same way on ``sim``. No target (``wild``) labels were used. Predictions average the neighbours' pitch/yaw (inverse-distance
weighted by default). No torch import here.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsRegressor

from estimators.base import EyeData, GazeEstimator
from estimators.features import eye_features


class KNNGaze(GazeEstimator):
    """kNN regressor.

    n_neighbors: k (default 5: 5.29 deg on the lab folds; 10 gave 5.34, 20 gave 5.59).
    weights: "distance" (inverse-distance) or "uniform".
    feature, pixels_hw, head_weight: see :func:`estimators.features.eye_features`; the default
        "lcn" 9x15 features with head pose weighted 10x won on the lab folds over pixels and hog
        and head weights 0, 1 and 30 (head radians are small next to the unit-variance image
        part, and head pose shifts the eye's appearance).
    n_jobs: neighbour-search threads. random_state: accepted for the common contract; kNN is
        deterministic.
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        weights: str = "distance",
        feature: str = "lcn",
        pixels_hw: tuple[int, int] = (9, 15),
        head_weight: float = 10.0,
        n_jobs: int | None = None,
        random_state: int | None = None,
    ):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.feature = feature
        self.pixels_hw = pixels_hw
        self.head_weight = head_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _features(self, X: EyeData) -> np.ndarray:
        return eye_features(X, self.feature, self.pixels_hw, self.head_weight)

    def _fit(self, X: EyeData, y: np.ndarray) -> None:
        k = min(self.n_neighbors, len(X))
        self.model_ = KNeighborsRegressor(n_neighbors=k, weights=self.weights, n_jobs=self.n_jobs)
        self.model_.fit(self._features(X), y)
        self.n_features_ = self.model_.n_features_in_
        self.is_fitted_ = True

    def _predict(self, X: EyeData) -> np.ndarray:
        return self.model_.predict(self._features(X))
