"""A local convex-hull regressor ("alr-nnls"): ALR's reconstruction idea with non-negative weights.

Not Lu et al.'s (TPAMI 2014) method (that is ``estimators.alr``, registry name "alr"): for a test
feature f this finds weights w >= 0 with sum(w) = 1 over the test sample's nearest training
features (columns of a dictionary D) minimising ||D w - f||^2, and predicts the gaze as the same
weighted sum of the training gazes. With w >= 0 and sum(w) = 1 the L1 norm Lu minimises is
constant (= 1), so nothing here prefers sparsity and f can only be matched inside the convex hull
of its neighbours: a weighted kNN in effect. Kept as an ablation of the signed-weight method.
Solved exactly by non-negative least squares (scipy's NNLS) on the system augmented with a
heavily weighted row enforcing sum(w) = 1.

Scaling strategy (visible in ``get_params``): the dictionary for each test sample is restricted to
its ``n_neighbors`` nearest training samples in feature space (a neighbourhood
pre-selection, found with a tree index, which scales to millions of rows), optionally after a
seeded ``max_train_samples`` subsample. No torch import here.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls
from sklearn.neighbors import NearestNeighbors

from estimators.base import EyeData, GazeEstimator
from estimators.features import eye_features, subsample_rows


def simplex_weights(dictionary: np.ndarray, f: np.ndarray, sum_weight: float) -> np.ndarray:
    """Non-negative w (K,) with sum 1 minimising ||dictionary @ w - f||; dictionary (d, K), f (d,).

    The sum-to-one constraint is the extra row ``sum_weight * 1^T w = sum_weight``; the result is
    renormalised so the sum is exact.
    """
    k = dictionary.shape[1]
    a = np.vstack([dictionary, np.full((1, k), sum_weight)])
    b = np.concatenate([f, [sum_weight]])
    w, _ = nnls(a, b, maxiter=50 * k)
    total = w.sum()
    return w / total if total > 0 else np.full(k, 1.0 / k)


class ALRNNLSGaze(GazeEstimator):
    """Non-negative (convex-hull) variant of adaptive linear regression.

    n_neighbors: dictionary size per test sample (neighbourhood pre-selection).
    sum_weight: weight of the sum-to-one row relative to the features (lcn features have unit
        variance per image, so 10 makes sum(w) = 1 all but exact before the final renormalisation).
    feature, pixels_hw, head_weight: see :func:`estimators.features.eye_features`; the same
        features (head pose weighted 10x, as for kNN) pick the neighbourhood and are reconstructed.
    max_train_samples: optional seeded subsample of the training rows (None: all).
    random_state: seeds that subsample (the method itself is deterministic).
    """

    def __init__(
        self,
        n_neighbors: int = 64,
        sum_weight: float = 10.0,
        feature: str = "lcn",
        pixels_hw: tuple[int, int] = (9, 15),
        head_weight: float = 10.0,
        max_train_samples: int | None = None,
        random_state: int | None = None,
    ):
        self.n_neighbors = n_neighbors
        self.sum_weight = sum_weight
        self.feature = feature
        self.pixels_hw = pixels_hw
        self.head_weight = head_weight
        self.max_train_samples = max_train_samples
        self.random_state = random_state

    def _features(self, X: EyeData) -> np.ndarray:
        return eye_features(X, self.feature, self.pixels_hw, self.head_weight).astype(np.float64)

    def _fit(self, X: EyeData, y: np.ndarray) -> None:
        rows = subsample_rows(len(X), self.max_train_samples, self.random_state)
        self.dictionary_ = self._features(X[rows])
        self.gaze_pitchyaw_rad_ = y[rows].astype(np.float64)
        self.index_ = NearestNeighbors(n_neighbors=min(self.n_neighbors, len(rows)))
        self.index_.fit(self.dictionary_)
        self.n_train_used_ = len(rows)
        self.is_fitted_ = True

    def _predict(self, X: EyeData) -> np.ndarray:
        feats = self._features(X)
        _, nbrs = self.index_.kneighbors(feats)
        out = np.empty((len(feats), 2))
        for i, (f, idx) in enumerate(zip(feats, nbrs, strict=True)):
            w = simplex_weights(self.dictionary_[idx].T, f, self.sum_weight)
            out[i] = w @ self.gaze_pitchyaw_rad_[idx]
        return out
