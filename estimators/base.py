"""The one input type every gaze estimator takes, and the checks every estimator shares.

Estimators follow scikit-learn's contract: hyperparameters are stored unchanged in ``__init__``,
``fit(X, y)`` returns ``self`` and sets learned state in attributes ending in ``_``,
``predict(X)`` returns an (n, 2) float32 array of gaze pitch/yaw in radians (before ``fit``: it
raises scikit-learn's ``NotFittedError``), and ``score(X, y)`` is the negative mean angular error
in degrees (higher is better), so ``cross_val_score`` and ``GridSearchCV`` work on an estimator and
an :class:`EyeData` as they do on an array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from estimators.geometry import angular_error_deg

IMAGE_HW = (36, 60)


class UserError(ValueError):
    """An error raised on purpose for the person at the keyboard: a bad file, a bad config, an
    unknown name. The commands print it as one line (exit 2); any other exception is a bug and
    keeps its traceback. Defined here, in the lowest layer, so every layer can raise it."""


class MissingFileError(UserError, FileNotFoundError):
    """A user-named file or directory that is not there (still a FileNotFoundError)."""


@dataclass(frozen=True)
class EyeData:
    """Eye images with the head pose that goes with them.

    images: (n, 36, 60) uint8 grayscale eye patches (left-eye orientation; right eyes mirrored).
    head_pitchyaw_rad: (n, 2) float32 head pose pitch/yaw in radians (MPIIGaze convention).
    subject: optional (n,) int person index (-1 = unknown, e.g. a synthetic render). Training
        data carries it so that model selection can hold out whole people (a validation split
        by row puts near-identical views of one person's gaze target on both sides); an
        estimator must never need it at predict time, and the pipeline does not pass it there.
    """

    images: np.ndarray
    head_pitchyaw_rad: np.ndarray
    subject: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def shape(self) -> tuple[int]:
        """(n,): the number of samples. scikit-learn's splitters (``cross_val_score``,
        ``GridSearchCV``) count and index anything with a ``shape`` as an array of rows,
        ``X[rows, ...]``; without it they would cut an EyeData into a list of one-row pieces."""
        return (len(self),)

    def __getitem__(self, index) -> EyeData:
        """Row subset (slice, integer array or boolean mask); keeps memory maps lazy for slices.
        ``data[rows, ...]`` (how scikit-learn indexes rows) is ``data[rows]``."""
        if isinstance(index, tuple) and len(index) == 2 and index[1] is Ellipsis:
            index = index[0]
        subject = None if self.subject is None else self.subject[index]
        return EyeData(self.images[index], self.head_pitchyaw_rad[index], subject)

    @classmethod
    def from_store(cls, store) -> EyeData:
        """Duck-typed: anything with ``images`` and ``head_pitchyaw_rad`` arrays (a Store), and
        ``subject`` where it has one."""
        return cls(store.images, store.head_pitchyaw_rad, getattr(store, "subject", None))


def check_eye_data(X: EyeData, where: str = "X") -> EyeData:
    """Validate an estimator input; raise ValueError with one clear line when it is wrong."""
    if not isinstance(X, EyeData):
        raise TypeError(
            f"{where}: expected EyeData(images, head_pitchyaw_rad), got {type(X).__name__}"
        )
    images, head = X.images, X.head_pitchyaw_rad
    if images.ndim != 3 or tuple(images.shape[1:]) != IMAGE_HW:
        raise ValueError(f"{where}.images: expected shape (n, 36, 60), got {tuple(images.shape)}")
    if images.dtype != np.uint8:
        raise ValueError(f"{where}.images: expected dtype uint8, got {images.dtype}")
    if images.shape[0] == 0:
        raise ValueError(f"{where}: is empty (0 samples)")
    if head.shape != (images.shape[0], 2):
        raise ValueError(
            f"{where}.head_pitchyaw_rad: expected shape ({images.shape[0]}, 2), got {tuple(head.shape)}"
        )
    if not np.isfinite(head).all():
        raise ValueError(f"{where}.head_pitchyaw_rad: contains NaN or infinite values")
    if X.subject is not None and np.shape(X.subject) != (images.shape[0],):
        raise ValueError(
            f"{where}.subject: expected shape ({images.shape[0]},), got {tuple(np.shape(X.subject))}"
        )
    return X


def check_gaze(y: np.ndarray, n: int, where: str = "y") -> np.ndarray:
    """Validate gaze labels: (n, 2) finite pitch/yaw radians. Returns a float32 copy-free view."""
    y = np.asarray(y)
    if y.shape != (n, 2):
        raise ValueError(
            f"{where}: expected gaze pitch/yaw of shape ({n}, 2), got {tuple(y.shape)}"
        )
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"{where}: expected a float array, got {y.dtype}")
    if not np.isfinite(y).all():
        raise ValueError(f"{where}: contains NaN or infinite gaze values")
    if np.abs(y).max() > np.pi:
        raise ValueError(f"{where}: values beyond ±pi; gaze must be pitch/yaw in radians")
    return y.astype(np.float32, copy=False)


class GazeEstimator(BaseEstimator):
    """Base class: subclasses implement ``_fit`` and ``_predict``; validation happens here once."""

    def fit(self, X: EyeData, y: np.ndarray) -> GazeEstimator:
        check_eye_data(X)
        y = check_gaze(y, len(X))
        self._fit(X, y)
        return self

    def predict(self, X: EyeData) -> np.ndarray:
        check_is_fitted(self)  # scikit-learn's NotFittedError before fit()
        check_eye_data(X)
        out = np.asarray(self._predict(X), dtype=np.float32)
        if out.shape != (len(X), 2):
            raise RuntimeError(
                f"{type(self).__name__}: predicted {out.shape}, expected ({len(X)}, 2)"
            )
        return out

    def score(self, X: EyeData, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """The **negative** mean angular error, in degrees, of ``predict(X)`` against ``y``
        ((n, 2) gaze pitch/yaw radians); weighted by ``sample_weight`` when given.

        Negative so that higher is better, as scikit-learn's model selection expects of a score
        (``cross_val_score``, ``GridSearchCV``, ``best_score_``): 0 is perfect, -7.5 is 7.5 deg
        off on average, Table 1's metric. Not R^2, scikit-learn's default for regressors."""
        y = check_gaze(y, len(X))
        err = angular_error_deg(self.predict(X).astype(np.float64), y.astype(np.float64))
        return -float(np.average(err, weights=sample_weight))

    def __sklearn_is_fitted__(self) -> bool:
        return bool(getattr(self, "is_fitted_", False))

    def _fit(self, X: EyeData, y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, X: EyeData) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError
