"""Fit one suite row on its training subset and score it on the test store.

A plain function of paths and dicts, so joblib processes or dask workers can run rows in parallel
(benchmarks/pipeline/backends.py). It returns the measured part of a result row; the
parent process adds provenance and appends it, so only one process ever writes rows.jsonl.

The fitted estimator can be kept in a model file keyed by what determines the fit (the cell's
settings, the training store, the numerics; never the test store): a later cell with the same
fit that scores other people (``--eval test`` after ``--eval dev``, ``bench stability
--also-test``) loads it instead of training again. So the test people are scored by the very
models frozen on the development people, not by a retrain, at the cost of a prediction.
"""

from __future__ import annotations

import pickle
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets.store import open_store
from benchmarks.records.rows import error_summary, save_predictions
from estimators.base import EyeData, UserError
from estimators.geometry import angular_error_deg
from estimators.registry import create_estimator, is_plugin_estimator
from torchkit.files import write_bytes_atomic


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
    model_path: str | None = None,
    fit_key: str | None = None,
) -> dict[str, Any]:
    """Fit ``method`` on train_store[train_idx], predict test_store; save per-sample predictions.

    ``test_idx`` (int64 (m,), None: every test row) predicts only those test rows (one fold of
    ``--protocol strict``); the predictions file then holds those m rows, in that order.

    ``model_path`` (None: fit, keep nothing) is the fitted estimator's file, for ``fit_key`` (the
    cell's fit key, benchmarks.pipeline.cells.Cell.fit_key). When it holds a model of that key,
    the estimator is loaded from it, not fitted: the people scored may differ from an earlier
    cell's, the model does not (no retrain), and ``fit_s`` is the original fit's. Otherwise the
    estimator is fitted and written there (atomically); a file that does not load, or holds
    another key, is refitted and overwritten.

    device (and precision, where not None) reach every estimator that takes them (the torch ones).
    Returns n_train, n_train_used (the estimator's ``n_train_used_`` where it has one), n_test, fit_s, predict_s, the error summary (degrees),
    ``fit_reused`` (True: loaded from ``model_path``) and ``numerics``: among them the device and precision the fitted estimator really used (its ``device_`` /
    ``bf16_``; estimators without them run on the CPU in numpy and carry no precision).
    """
    from torchkit.device import numerics, set_threads

    threads = set_threads(threads)
    test = open_store(test_store)
    found = None if model_path is None else load_model(Path(model_path), method, fit_key)
    fit_reused = found is not None
    if found is not None:
        estimator, fit_s = found
    else:
        estimator, fit_s = _fit(
            method, params, train_store, train_idx, seed, device, precision, progress
        )
        if model_path is not None:  # before predict: predict-time state never enters the file
            save_model(Path(model_path), estimator, method, fit_key, fit_s)
    rows = slice(None) if test_idx is None else np.asarray(test_idx)
    # no person index at predict time: an estimator must not be able to use who a test image is
    X_test = EyeData(test.images[rows], test.head_pitchyaw_rad[rows])
    plugin = is_plugin_estimator(method)
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
        "fit_s": fit_s,  # a reused model's: its original fit's seconds
        "predict_s": predict_s,
        "fit_reused": fit_reused,  # True: loaded from the model file of the same fit, not fitted
        # what the estimator really ran on (classic methods: numpy on the CPU, float64)
        "numerics": numerics(
            getattr(estimator, "device_", "cpu"), getattr(estimator, "bf16_", None)
        ),
        **error_summary(err),
    }


def _fit(
    method: str,
    params: dict[str, Any],
    train_store: str,
    train_idx: np.ndarray,
    seed: int,
    device: str,
    precision: str | None,
    progress: bool,
) -> tuple[Any, float]:
    """(the estimator fitted on train_store[train_idx], its fit's seconds)."""
    train = open_store(train_store)
    X = train.eye_data(train_idx)
    # the training people go with the training rows (CNN validation holds out whole people)
    X = EyeData(
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
    return estimator, time.perf_counter() - t0


MODEL_FORMAT = "gazebench.fitted-model/1"


def load_model(path: Path, method: str, fit_key: str | None) -> tuple[Any, float] | None:
    """(estimator, its original fit's seconds) from ``path``, or None when there is no file or
    it is not a model of ``method`` with key ``fit_key`` (torn, corrupt, stale, another format,
    or one that cannot load here, e.g. CUDA tensors on a machine without a GPU): refit then."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            saved = pickle.load(f)
    except Exception:  # noqa: BLE001 - any unreadable file is a cache miss, never an error
        return None
    if (
        not isinstance(saved, dict)
        or saved.get("format") != MODEL_FORMAT
        or saved.get("fit_key") != fit_key
        or saved.get("method") != method
        or not isinstance(saved.get("fit_s"), int | float)
    ):
        return None
    return saved["estimator"], float(saved["fit_s"])


def save_model(path: Path, estimator: Any, method: str, fit_key: str | None, fit_s: float) -> bool:
    """Pickle (protocol 5) the fitted estimator with its key and fit seconds to ``path``,
    atomically (torchkit.files.write_bytes_atomic), so a killed run leaves
    the old file or none, never half of one. An estimator that does not pickle (a plug-in may
    hold anything) is not kept: its cells refit, as before model files; nor is one that the
    disk refuses. Neither fails the row (the model file is a cache). Returns whether kept."""
    saved = {"format": MODEL_FORMAT, "fit_key": fit_key, "method": method, "fit_s": fit_s,
             "estimator": estimator}  # fmt: skip
    try:
        write_bytes_atomic(path, pickle.dumps(saved, protocol=5))
    except Exception as e:  # noqa: BLE001 - a model that cannot be kept is refitted next time
        # a built-in should pickle (say so); a plug-in need not (quietly refit next time)
        if not is_plugin_estimator(method) or isinstance(e, OSError):
            warnings.warn(
                f"estimator {method!r}: fitted model not kept in {path} "
                f"({type(e).__name__}: {e}); a cell scoring other people will refit it",
                stacklevel=2,
            )
        return False
    return True


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
