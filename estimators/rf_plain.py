"""Random forest (plain), "rf-plain": one scikit-learn forest on eye-image features + head pose.

Not Sugano et al.'s (CVPR 2014) head-pose-clustered forest (that is ``estimators.rf``, registry
name "rf"): a single multi-output forest over a small image feature with head pose appended
(trees split on single features, which head pose is one of). Kept as an ablation of the
clustering. No torch import here.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from estimators.base import EyeData, GazeEstimator
from estimators.features import eye_features, subsample_rows


class PlainRFGaze(GazeEstimator):
    """Plain random forest regressor predicting (pitch, yaw) jointly.

    n_estimators, max_features, min_samples_leaf, max_depth: scikit-learn's forest parameters.
    feature, pixels_hw: see :func:`estimators.features.eye_features` (head pose is appended
        unweighted: trees are invariant to feature scale). Defaults (100 trees, max_features
        0.5, "pixels") are what `bench select` chose on 3-fold person-disjoint validation over
        the demo ``lab`` source: 5.48 deg, against 5.84 for the previous "lcn"
        (results/demo/selection/rf-plain.csv); no target labels.
    max_train_samples: scaling strategy, a seeded random subsample of rows (None: all rows).
    n_jobs: tree-building processes. random_state: seeds bootstrap, features and subsample.
    """

    def __init__(
        self,
        n_estimators: int = 100,
        max_features: float | str = 0.5,
        min_samples_leaf: int = 2,
        max_depth: int | None = None,
        feature: str = "pixels",
        pixels_hw: tuple[int, int] = (9, 15),
        max_train_samples: int | None = None,
        n_jobs: int | None = None,
        random_state: int | None = None,
    ):
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.feature = feature
        self.pixels_hw = pixels_hw
        self.max_train_samples = max_train_samples
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit(self, X: EyeData, y: np.ndarray) -> None:
        rows = subsample_rows(len(X), self.max_train_samples, self.random_state)
        self.model_ = RandomForestRegressor(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            max_depth=self.max_depth,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        self.model_.fit(eye_features(X[rows], self.feature, self.pixels_hw), y[rows])
        self.n_train_used_ = len(rows)
        self.is_fitted_ = True

    def _predict(self, X: EyeData) -> np.ndarray:
        return self.model_.predict(eye_features(X, self.feature, self.pixels_hw))
