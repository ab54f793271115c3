"""Fit one suite row on its training subset and score it on the test store.

A plain function of paths and dicts, so joblib processes or dask workers can run rows in parallel
(benchmarks/pipeline/backends.py). It returns the measured part of a result row; the
parent process adds provenance and appends it, so only one process ever writes rows.jsonl.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets.store import open_store
from benchmarks.records.rows import error_summary, save_predictions
from estimators.base import UserError
from estimators.geometry import angular_error_deg
from estimators.registry import create_estimator, is_plugin_estimator


def training_indices(
    n_available: int, n_wanted: int | None, data_seed: int, seed: int = 0
) -> np.ndarray:
    """A random subset (sorted, for memory-map locality) of ``n_wanted`` rows, int64 (n_wanted,).

    The subset depends on the pool size, the count, the data seed and the run's seed: each seed
    re-draws the training set (so the spread over seeds includes the choice of training images),
    while the synthetic and the refined rows of one seed (row-aligned stores) train on the same
    underlying images, which keeps their comparison paired.
    """
    if n_wanted is None or n_wanted >= n_available:
        return np.arange(n_available)
    rng = np.random.default_rng([data_seed, seed, n_available, n_wanted])
    return np.sort(rng.choice(n_available, size=n_wanted, replace=False))


def fit_predict_row(
    method: str,
    params: dict[str, Any],
    train_store: str,
    train_idx: np.ndarray,
    test_store: str,
    seed: int,
    preds_path: str,
    threads: int | None = None,
    progress: bool = False,
    device: str = "auto",
    precision: str | None = None,
    test_idx: np.ndarray | None = None,
) -> dict[str, Any]:
    """Fit ``method`` on train_store[train_idx], predict test_store; save per-sample predictions.

    ``test_idx`` (int64 (m,), None: every test row) predicts only those test rows (one fold of
    ``--protocol strict``); the predictions file then holds those m rows, in that order.

    device (and precision, where not None) reach every estimator that takes them (the torch ones).
    Returns n_train, n_train_used (the estimator's ``n_train_used_`` where it has one), n_test, fit_s, predict_s, the error summary (degrees), and ``numerics``:
    among them the device and precision the fitted estimator really used (its ``device_`` /
    ``bf16_``; estimators without them run on the CPU in numpy and carry no precision).
    """
    from torchkit.device import numerics, set_threads

    threads = set_threads(threads)
    train, test = open_store(train_store), open_store(test_store)
    X = train.eye_data(train_idx)
    # the training people go with the training rows (CNN validation holds out whole people)
    X = type(X)(
        np.ascontiguousarray(X.images),
        np.ascontiguousarray(X.head_pitchyaw_rad),
        np.ascontiguousarray(X.subject),
    )
    y = np.asarray(train.gaze_pitchyaw_rad[train_idx])
    estimator = create_estimator(method, **params)
    own = estimator.get_params()
    if "random_state" in own:
        estimator.set_params(random_state=seed)
    if "device" in own:
        estimator.set_params(device=device)
    if precision is not None and "precision" in own:
        estimator.set_params(precision=precision)
    if "progress" in own:  # a training bar per row only when asked (rows may run in parallel)
        estimator.set_params(progress=progress)
    plugin = is_plugin_estimator(method)
    t0 = time.perf_counter()
    _call(plugin, method, "fit", lambda: estimator.fit(X, y))
    fit_s = time.perf_counter() - t0
    rows = slice(None) if test_idx is None else np.asarray(test_idx)
    # no person index at predict time: an estimator must not be able to use who a test image is
    X_test = type(X)(test.images[rows], test.head_pitchyaw_rad[rows])
    t0 = time.perf_counter()
    pred = _call(plugin, method, "predict", lambda: estimator.predict(X_test))
    predict_s = time.perf_counter() - t0
    if plugin:
        pred = checked_predictions(pred, len(X_test.images), method)
    true = np.asarray(test.gaze_pitchyaw_rad[rows])
    err = angular_error_deg(pred.astype(np.float64), true.astype(np.float64))
    save_predictions(Path(preds_path), pred, true, err, np.asarray(test.subject[rows]))
    return {
        "n_train": int(len(train_idx)),
        # rows the estimator really fitted (SVR subsamples; the CNNs hold out validation rows)
        "n_train_used": int(getattr(estimator, "n_train_used_", len(train_idx))),
        "n_test": int(len(true)),
        "fit_s": fit_s,
        "predict_s": predict_s,
        # what the estimator really ran on (classic methods: numpy on the CPU, float64)
        "numerics": numerics(
            getattr(estimator, "device_", "cpu"), getattr(estimator, "bf16_", None)
        ),
        **error_summary(err),
    }


def _call(plugin: bool, method: str, what: str, fn):
    """Run a built-in's step as it is (its errors are bugs, with tracebacks); a plug-in's
    failure becomes one line naming the plug-in."""
    if not plugin:
        return fn()
    try:
        return fn()
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - foreign code raises anything
        raise UserError(
            f"plug-in estimator {method!r}: {what}() failed: {type(e).__name__}: {e}"
        ) from None


def checked_predictions(pred: Any, n: int, method: str) -> np.ndarray:
    """A plug-in's predictions as (n, 2) float32 pitch/yaw radians, or a one-line UserError."""
    where = f"plug-in estimator {method!r}: predict()"
    arr = np.asarray(pred)
    if arr.shape != (n, 2):
        raise UserError(f"{where} returned shape {arr.shape}, expected ({n}, 2)")
    if not np.issubdtype(arr.dtype, np.floating):
        raise UserError(f"{where} returned dtype {arr.dtype}, expected float pitch/yaw radians")
    if not np.isfinite(arr).all():
        raise UserError(f"{where} returned NaN or infinite values")
    return arr.astype(np.float32, copy=False)
