"""The scikit-learn contract, checked for every registered estimator (plus one timm backbone)."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from benchmarks.datasets.demo import render_domain
from estimators import EyeData, create_estimator, list_estimators
from estimators.registry import get_estimator_class

# Tiny hyperparameters per registered name: every new estimator must add a line here.
TINY: dict[str, dict] = {
    "mean": {},
    "knn": {"n_neighbors": 3},
    "svr": {"max_train_samples": 40},
    "rf": {"n_clusters": 3, "n_estimators": 2, "n_pixel_pairs": 50, "n_jobs": 1},
    "rf-plain": {"n_estimators": 5, "n_jobs": 1},
    "alr": {"n_neighbors": 20},
    "alr-nnls": {"n_neighbors": 8},
    "cnn": {"epochs": 1, "batch_size": 16, "width": 0.25, "progress": False},
    "mpiigaze-cnn": {"epochs": 1, "batch_size": 16, "progress": False},
    "cnn:resnet10t": {"epochs": 1, "batch_size": 20, "input_hw": (36, 60), "progress": False},
}
NAMES = [*list_estimators(), "cnn:resnet10t"]  # one timm backbone, the smallest ResNet


@pytest.fixture(scope="module")
def tiny_wild():
    d = render_domain("wild", 48, seed=5)
    return EyeData(d["images"], d["head_pitchyaw_rad"]), d["gaze_pitchyaw_rad"]


def make(name: str, **extra):
    return create_estimator(name, **{**TINY[name], **extra})


def test_every_registered_name_has_tiny_params():
    assert set(list_estimators()) <= set(TINY)
    assert {"mean", "knn", "svr", "rf", "alr", "cnn"} <= set(list_estimators())


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_predicts_float32_pitchyaw(name, tiny_wild):
    X, y = tiny_wild
    est = make(name, random_state=0)
    assert est.fit(X[:40], y[:40]) is est
    pred = est.predict(X[40:])
    assert pred.shape == (8, 2) and pred.dtype == np.float32
    assert np.isfinite(pred).all() and np.abs(pred).max() < np.pi / 2


@pytest.mark.parametrize("name", NAMES)
def test_clone_and_get_params_round_trip(name, tiny_wild):
    X, y = tiny_wild
    est = make(name, random_state=3)
    params = est.get_params()
    assert params["random_state"] == 3
    assert type(est)(**params).get_params() == params
    est.fit(X[:40], y[:40])  # a clone of a *fitted* estimator keeps the params, drops the state
    copy = clone(est)
    assert copy.get_params() == params
    assert hasattr(est, "is_fitted_") and not hasattr(copy, "is_fitted_")
    assert not [k for k in vars(copy) if k.endswith("_") and not k.startswith("_")]


@pytest.mark.parametrize("name", NAMES)
def test_same_random_state_gives_identical_predictions(name, tiny_wild):
    X, y = tiny_wild
    a = make(name, random_state=7).fit(X[:40], y[:40]).predict(X[40:])
    b = make(name, random_state=7).fit(X[:40], y[:40]).predict(X[40:])
    np.testing.assert_array_equal(a, b)


def _bad_cases(X, y):
    nan_head = X.head_pitchyaw_rad.copy()
    nan_head[3, 1] = np.nan
    nan_y = y.copy()
    nan_y[2, 0] = np.nan
    return {
        "wrong image shape": (
            EyeData(X.images[:, :, :59], X.head_pitchyaw_rad),
            y,
            r"\(n, 36, 60\)",
        ),
        "NaN head pose": (EyeData(X.images, nan_head), y, "head_pitchyaw_rad: contains NaN"),
        "NaN gaze": (X, nan_y, "y: contains NaN"),
        "empty": (X[:0], y[:0], "empty"),
        "y length": (X, y[:-1], r"y: expected gaze pitch/yaw of shape \(48, 2\)"),
    }


@pytest.mark.parametrize(
    "case", ["wrong image shape", "NaN head pose", "NaN gaze", "empty", "y length"]
)
@pytest.mark.parametrize("name", list_estimators())
def test_bad_input_is_refused_with_a_clear_message(name, case, tiny_wild):
    Xb, yb, message = _bad_cases(*tiny_wild)[case]
    with pytest.raises(ValueError, match=message):
        make(name).fit(Xb, yb)


@pytest.mark.parametrize("name", list_estimators())
def test_predict_before_fit_and_bad_predict_input(name, tiny_wild):
    X, y = tiny_wild
    with pytest.raises(NotFittedError, match="not fitted yet"):
        make(name).predict(X)
    with pytest.raises(NotFittedError):
        make(name).score(X, y)
    est = make(name, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="empty"):
        est.predict(X[:0])
    with pytest.raises(TypeError, match="expected EyeData"):
        est.predict(X.images)


@pytest.mark.parametrize("name", list_estimators())
def test_cross_val_score_runs_on_every_registered_estimator(name, tiny_wild):
    # what a scikit-learn user does first: folds of an EyeData, a clone per fold, score()
    X, y = tiny_wild
    scores = cross_val_score(
        make(name, random_state=0), X, y, cv=KFold(3, shuffle=True, random_state=0),
        error_score="raise",
    )  # fmt: skip
    assert scores.shape == (3,) and np.isfinite(scores).all()
    assert (scores < 0).all() and (scores > -90).all()  # negative mean angular error, degrees


def test_score_is_the_negative_mean_angular_error_in_degrees(tiny_wild):
    from estimators.geometry import angular_error_deg

    X, y = tiny_wild
    est = make("knn", random_state=0).fit(X[:40], y[:40])
    err = angular_error_deg(est.predict(X[40:]).astype(np.float64), y[40:].astype(np.float64))
    assert est.score(X[40:], y[40:]) == pytest.approx(-err.mean())
    weights = np.arange(1.0, 9.0)
    assert est.score(X[40:], y[40:], weights) == pytest.approx(-np.average(err, weights=weights))


def test_grid_search_picks_by_score_and_refits(tiny_wild):
    X, y = tiny_wild
    search = GridSearchCV(make("knn"), {"n_neighbors": [1, 3, 9]}, cv=3, error_score="raise")
    search.fit(X, y)
    means = search.cv_results_["mean_test_score"]
    assert search.best_score_ == means.max() < 0  # higher (less negative) wins
    assert search.best_params_["n_neighbors"] == [1, 3, 9][int(means.argmax())]
    assert search.predict(X[:5]).shape == (5, 2)


def test_an_eye_data_is_indexed_as_rows_like_an_array(tiny_wild):
    X, _ = tiny_wild
    assert X.shape == (48,) and len(X) == 48
    part = X[np.array([3, 1]), ...]
    np.testing.assert_array_equal(part.images, X.images[[3, 1]])


def test_unknown_name_lists_available():
    with pytest.raises(
        ValueError, match=r"unknown estimator 'nope'; available: alr, alr-nnls, cnn"
    ):
        create_estimator("nope")
    assert get_estimator_class("cnn:resnet18").__name__ == "GazeCNN"
    assert create_estimator("cnn:resnet18").backbone == "resnet18"


@pytest.mark.parametrize("name", ["knn", "svr", "rf", "alr", "mean"])
def test_classic_methods_do_not_import_torch(name):
    code = (
        "import sys\n"
        f"import estimators.{name}\n"
        "from estimators import create_estimator\n"
        f"create_estimator({name!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
