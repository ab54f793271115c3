"""The search loop of `bench select`: every config, every fold, one pooled validation error.

A config's score is the mean angular error (degrees, :mod:`estimators.geometry`) over all
held-out rows, pooled over folds: each row is predicted once, by the model that did not see its
person. The per-fold means are kept too, to show the spread. The chosen config is the argmin
at the reported precision (``TIE_DECIMALS``): scores equal to 0.001 deg are a tie, and a tie goes
to the first config in grid order (where the grids list the previous default early), so a
difference far below any noise (SVR's C = 1 vs 3: 3.1624 vs 3.1623 deg) moves no default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.selection.folds import Folds
from estimators import create_estimator
from estimators.base import EyeData
from estimators.geometry import angular_error_deg

TIE_DECIMALS = 3  # degrees are reported to 0.001; closer scores than that are a tie


@dataclass(frozen=True)
class ConfigResult:
    """One config's validation score: err_deg pooled over folds, fold_errs_deg one per fold."""

    params: dict[str, Any]
    err_deg: float
    fold_errs_deg: list[float]
    seconds: float


def score_config(
    estimator: str,
    params: dict[str, Any],
    X: EyeData,
    y: np.ndarray,
    folds: Folds,
    random_state: int,
) -> ConfigResult:
    """Fit ``estimator(**params)`` on each fold's training rows and score its held-out rows.

    X: n eye images with head pose; y: (n, 2) gaze pitch/yaw radians.
    """
    start = time.perf_counter()
    errs = np.full(len(X), np.nan)
    fold_errs = []
    for train, val in folds.splits:
        est = create_estimator(estimator, random_state=random_state, **params)
        est.fit(X[train], y[train])
        e = np.asarray(angular_error_deg(est.predict(X[val]), y[val]), np.float64)
        errs[val] = e
        fold_errs.append(float(e.mean()))
    # Every row is held out exactly once (folds.py), so no NaN is left.
    return ConfigResult(dict(params), float(errs.mean()), fold_errs, time.perf_counter() - start)


def search(
    estimator: str,
    configs: list[dict[str, Any]],
    X: EyeData,
    y: np.ndarray,
    folds: Folds,
    fixed: dict[str, Any] | None = None,
    random_state: int = 0,
    log: Callable[[str], None] | None = None,
) -> list[ConfigResult]:
    """Score every config (``fixed`` merged under each), in grid order."""
    out = []
    for i, config in enumerate(configs):
        res = score_config(estimator, {**(fixed or {}), **config}, X, y, folds, random_state)
        out.append(ConfigResult(config, res.err_deg, res.fold_errs_deg, res.seconds))
        if log:
            log(f"  {estimator} {i + 1}/{len(configs)} {config}: {res.err_deg:.3f} deg")
    return out


def choose(results: list[ConfigResult]) -> int:
    """Index of the lowest pooled error rounded to ``TIE_DECIMALS``; the first one on ties."""
    if not results:
        raise ValueError("no configs were scored")
    return int(np.argmin(np.round([r.err_deg for r in results], TIE_DECIMALS)))


def find(results: list[ConfigResult], params: dict[str, Any] | None) -> int | None:
    """Index of the config equal to ``params`` (the previous default), None if not in the grid."""
    for i, r in enumerate(results):
        if params is not None and r.params == params:
            return i
    return None
