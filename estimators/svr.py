"""Support-vector regression of gaze on eye-image features with head pose (Table 1's SVR row).

MPIIGaze's SVR baseline (after Schneider et al. 2014) used HOG-type features with head pose; the
exact feature and kernel are not public, so both are parameters. One epsilon-SVR per output angle
(pitch, yaw) on standardised features. Kernel SVR costs O(n^2) memory and O(n^2..n^3) time, so it
cannot see a million rows; the scaling strategy is explicit and shows in ``get_params``:

- ``strategy="subsample"`` (default): exact kernel SVR on a seeded random subsample of
  ``max_train_samples`` rows (default 5,000; None: all rows).
- ``strategy="nystroem"``: an RBF kernel approximated with ``n_components`` Nystroem landmarks,
  then a linear SVR (squared epsilon-insensitive loss) on all ``max_train_samples`` rows (set it
  to None for every row).

No torch import here.
"""

from __future__ import annotations

import numpy as np
from sklearn.kernel_approximation import Nystroem
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR, LinearSVR

from estimators.base import EyeData, GazeEstimator
from estimators.features import eye_features, subsample_rows

STRATEGIES = ("subsample", "nystroem")


class SVRGaze(GazeEstimator):
    """epsilon-SVR per gaze angle.

    C, epsilon (radians), kernel, gamma: scikit-learn's SVR parameters (gamma "scale" =
        1 / n_features on standardised features). feature, pixels_hw, head_weight: see
        :func:`estimators.features.eye_features`.
    strategy, max_train_samples, n_components: the scaling strategy (module docstring).
    random_state: seeds the subsample and the Nystroem landmarks.
    """

    def __init__(
        self,
        C: float = 1.0,
        epsilon: float = 0.01,
        kernel: str = "rbf",
        gamma: float | str = "scale",
        feature: str = "lcn",
        pixels_hw: tuple[int, int] = (9, 15),
        head_weight: float = 1.0,
        strategy: str = "subsample",
        max_train_samples: int | None = 5000,
        n_components: int = 1000,
        random_state: int | None = None,
    ):
        self.C = C
        self.epsilon = epsilon
        self.kernel = kernel
        self.gamma = gamma
        self.feature = feature
        self.pixels_hw = pixels_hw
        self.head_weight = head_weight
        self.strategy = strategy
        self.max_train_samples = max_train_samples
        self.n_components = n_components
        self.random_state = random_state

    def _features(self, X: EyeData) -> np.ndarray:
        return eye_features(X, self.feature, self.pixels_hw, self.head_weight)

    def _fit(self, X: EyeData, y: np.ndarray) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        rows = subsample_rows(len(X), self.max_train_samples, self.random_state)
        feats, target = self._features(X[rows]), y[rows]
        if self.strategy == "subsample":
            svr = SVR(C=self.C, epsilon=self.epsilon, kernel=self.kernel, gamma=self.gamma)
            self.model_ = make_pipeline(StandardScaler(), MultiOutputRegressor(svr))
        else:
            # Nystroem has no "scale" gamma: on standardised features it is 1 / n_features.
            gamma = 1.0 / feats.shape[1] if self.gamma == "scale" else self.gamma
            n_comp = min(self.n_components, len(rows))
            nys = Nystroem(gamma=gamma, n_components=n_comp, random_state=self.random_state)
            # Primal solver on the squared epsilon-insensitive loss: converges without the
            # iteration-limit warnings the dual liblinear solver gives on ~1,000 dense columns.
            lin = LinearSVR(
                C=self.C, epsilon=self.epsilon, loss="squared_epsilon_insensitive", dual=False,
                random_state=self.random_state,
            )  # fmt: skip
            self.model_ = make_pipeline(StandardScaler(), nys, MultiOutputRegressor(lin))
        self.model_.fit(feats, target)
        self.n_train_used_ = len(rows)
        self.is_fitted_ = True

    def _predict(self, X: EyeData) -> np.ndarray:
        return self.model_.predict(self._features(X))
