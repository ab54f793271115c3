"""Adaptive linear regression (Lu, Sugano, Okabe, Sato, TPAMI 2014): sparse signed reconstruction.

For a test feature f, ALR looks for the *sparsest* combination of training features that
reconstructs it, with weights that sum to one and may be negative:

    min ||w||_1   subject to   ||D w - f|| <= epsilon,   1^T w = 1,

where the columns of D (d, K) are training features, and predicts the gaze as the same combination
of the training gazes, sum_i w_i g_i. Signed weights let f lie outside the convex hull of the
training features (an affine, locally linear map from appearance to gaze); the l1 objective keeps
only a few of them non-zero.

How this file solves it, and where that departs from Lu et al.:

- **Constrained form, as Lu** (not the l1-regularised Lasso form), written as a linear programme
  for ``scipy.optimize.linprog`` (HiGHS): w = u - v with u, v >= 0, objective sum(u + v).
- **l-infinity tolerance** ``|D w - f|_j <= epsilon`` for every feature j, instead of Lu's l2 ball
  (which would need a second-order cone solver); a box is the LP-friendly relaxation.
- **Feasibility.** When no sum-to-one combination gets within epsilon of f, a first LP finds the
  smallest reachable tolerance t* = min_w ||D w - f||_inf (1^T w = 1) and the l1 problem runs at
  max(epsilon, t*) (``fallbacks_`` counts these cases).
- **Candidate set.** Lu reconstructs from all training samples of one person; over a
  cross-person pool of up to 10^5 rows one LP per test sample would be far too slow, so the
  dictionary is the test sample's ``n_neighbors`` nearest training features (Euclidean, on the
  same features).
- **Head pose.** Lu's ALR assumes a fixed head pose. Zhang et al. (CVPR 2015) ran ALR on MPIIGaze
  with head pose as an input but do not say how it entered; that is open. Here head pitch/yaw
  (radians x ``head_weight``) is appended to the feature, so it both picks the candidates and must
  be reconstructed by the same weights (the combination's head pose matches the test sample's).
- Predictions are clipped to +-pi/2 rad: signed weights can extrapolate, and a gaze beyond that
  is not a gaze at the camera.

The default feature is Lu's 3x5 region feature (``"regions"``, 15 values summing to one).
No torch import here.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from sklearn.neighbors import NearestNeighbors

from estimators.base import EyeData, GazeEstimator, UserError
from estimators.features import eye_features, subsample_rows


def _min_residual(dictionary: np.ndarray, f: np.ndarray) -> float:
    """t* = min ||dictionary @ w - f||_inf over signed w with sum(w) = 1 (an LP in (w, t))."""
    d, k = dictionary.shape
    c = np.r_[np.zeros(k), 1.0]
    ones = np.ones((d, 1))
    a_ub = np.block([[dictionary, -ones], [-dictionary, -ones]])
    b_ub = np.r_[f, -f]
    a_eq = np.r_[np.ones(k), 0.0][None]
    bounds = [(None, None)] * k + [(0, None)]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0], bounds=bounds, method="highs")
    return float(res.x[-1]) if res.status == 0 else float("inf")


def sparse_affine_weights(
    dictionary: np.ndarray, f: np.ndarray, epsilon: float
) -> tuple[np.ndarray, bool]:
    """Lu's ALR weights: min ||w||_1 s.t. ||dictionary @ w - f||_inf <= eps, sum(w) = 1.

    dictionary: (d, K) float64, one training feature per column. f: (d,) float64. epsilon: the
    tolerance in feature units. Returns (w (K,) float64 signed weights, relaxed) where relaxed says
    epsilon was unreachable and the smallest reachable tolerance was used instead.
    """
    d, k = dictionary.shape
    c = np.ones(2 * k)  # w = u - v; sum(u + v) = ||w||_1 at the optimum
    a = np.hstack([dictionary, -dictionary])
    a_ub = np.vstack([a, -a])
    a_eq = np.r_[np.ones(k), -np.ones(k)][None]

    def solve(eps: float):
        b_ub = np.r_[f + eps, eps - f]
        return linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0], method="highs")

    res, relaxed = solve(epsilon), False
    if res.status != 0:
        t_star = _min_residual(dictionary, f)
        if not np.isfinite(t_star):
            return np.full(k, 1.0 / k), True
        res, relaxed = solve(max(epsilon, t_star * (1 + 1e-6) + 1e-12)), True
        if res.status != 0:  # numerical trouble at the boundary: the mean of the candidates
            return np.full(k, 1.0 / k), True
    return res.x[:k] - res.x[k:], relaxed


class ALRGaze(GazeEstimator):
    """Adaptive linear regression (Lu et al. 2014), signed sparse weights (module docstring).

    n_neighbors: candidate-set size per test sample (the dictionary of its LP); it must exceed the
        feature width + 1 (17 + 1 for regions + head pose) or exact reconstruction is impossible.
    epsilon: l-infinity reconstruction tolerance, in feature units (region features are shares of
        the patch's total intensity, about 1/15 each, varying by about 0.006 across images).
    feature, pixels_hw, head_weight: see :func:`estimators.features.eye_features`; head radians
        x 0.01 put head pose on the scale of the region features' spread.
    Defaults (48, 0.0003, 0.01) were picked on a person-disjoint split of the demo ``lab`` source
    (the R rows' training source; docs/baselines.md), never on test-domain labels.
    max_train_samples: optional seeded subsample of the training rows (None: all).
    random_state: seeds that subsample (the LP itself is deterministic).
    """

    def __init__(
        self,
        n_neighbors: int = 48,
        epsilon: float = 0.0003,
        feature: str = "regions",
        pixels_hw: tuple[int, int] = (9, 15),
        head_weight: float = 0.01,
        max_train_samples: int | None = None,
        random_state: int | None = None,
    ):
        self.n_neighbors = n_neighbors
        self.epsilon = epsilon
        self.feature = feature
        self.pixels_hw = pixels_hw
        self.head_weight = head_weight
        self.max_train_samples = max_train_samples
        self.random_state = random_state

    def _features(self, X: EyeData) -> np.ndarray:
        return eye_features(X, self.feature, self.pixels_hw, self.head_weight).astype(np.float64)

    def _fit(self, X: EyeData, y: np.ndarray) -> None:
        if self.epsilon < 0 or int(self.n_neighbors) < 1:
            raise UserError(
                f"epsilon must be >= 0 and n_neighbors >= 1, got {self.epsilon}, {self.n_neighbors}"
            )
        rows = subsample_rows(len(X), self.max_train_samples, self.random_state)
        self.dictionary_ = self._features(X[rows])
        self.gaze_pitchyaw_rad_ = y[rows].astype(np.float64)
        self.index_ = NearestNeighbors(n_neighbors=min(int(self.n_neighbors), len(rows)))
        self.index_.fit(self.dictionary_)
        self.n_train_used_ = len(rows)
        self.is_fitted_ = True

    def _predict(self, X: EyeData) -> np.ndarray:
        feats = self._features(X)
        _, nbrs = self.index_.kneighbors(feats)
        out = np.empty((len(feats), 2))
        relaxed = 0
        for i, (f, idx) in enumerate(zip(feats, nbrs, strict=True)):
            w, was_relaxed = sparse_affine_weights(self.dictionary_[idx].T, f, self.epsilon)
            relaxed += was_relaxed
            out[i] = w @ self.gaze_pitchyaw_rad_[idx]
        self.fallbacks_ = relaxed  # test samples whose tolerance had to be relaxed (last predict)
        return np.clip(out, -np.pi / 2, np.pi / 2)
