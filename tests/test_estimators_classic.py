"""Features, ALR's solver, the SVR/RF scaling strategies and the augmentation options."""

import numpy as np
import pytest

from benchmarks.datasets.demo import render_domain
from estimators import EyeData
from estimators.alr_nnls import ALRNNLSGaze, simplex_weights
from estimators.augment import augment_batch, parse_augment, preprocess
from estimators.features import FEATURES, eye_features, image_features, subsample_rows
from estimators.rf_plain import PlainRFGaze
from estimators.svr import SVRGaze


@pytest.fixture(scope="module")
def wild_60():
    d = render_domain("wild", 60, seed=11)
    return EyeData(d["images"], d["head_pitchyaw_rad"]), d["gaze_pitchyaw_rad"]


@pytest.mark.parametrize(
    ("feature", "width"), [("pixels", 135), ("lcn", 135), ("hog", 1620), ("regions", 15)]
)
def test_feature_widths_and_head_pose_columns(feature, width, wild_60):
    X, _ = wild_60
    f = eye_features(X, feature, head_weight=2.0)
    assert f.shape == (60, width + 2) and f.dtype == np.float32
    assert np.isfinite(f).all()
    np.testing.assert_allclose(f[:, -2:], 2.0 * X.head_pitchyaw_rad, rtol=1e-6)


def test_feature_values():
    flat = np.full((2, 36, 60), 100, np.uint8)
    np.testing.assert_allclose(image_features(flat, "regions"), 1 / 15, rtol=1e-6)
    assert np.abs(image_features(flat, "lcn")).max() < 1e-4  # no contrast, no signal
    edge = np.zeros((1, 36, 60), np.uint8)
    edge[:, :, 30:] = 200  # a vertical edge: all HOG energy in the 0-degree (horizontal) bins
    hog = image_features(edge, "hog").reshape(-1, 9)
    assert hog[:, 0].sum() + hog[:, 8].sum() > 0.95 * hog.sum()
    with pytest.raises(ValueError, match="unknown feature 'sift'; choose from pixels, lcn"):
        image_features(flat, "sift")
    assert FEATURES == ("pixels", "lcn", "hog", "regions")


def test_features_equal_whether_chunked_or_not(monkeypatch, wild_60):
    import estimators.features as feats

    X, _ = wild_60
    whole = image_features(X.images, "pixels")
    monkeypatch.setattr(feats, "_CHUNK", 7)
    np.testing.assert_array_equal(image_features(X.images, "pixels"), whole)


def test_subsample_rows_is_seeded_sorted_and_bounded():
    a = subsample_rows(1000, 100, 1)
    assert len(a) == 100 and np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(a, subsample_rows(1000, 100, 1))
    assert not np.array_equal(a, subsample_rows(1000, 100, 2))
    np.testing.assert_array_equal(subsample_rows(5, None, 0), np.arange(5))
    with pytest.raises(ValueError, match="max_train_samples"):
        subsample_rows(10, 0, 0)


def test_simplex_weights_recover_a_convex_combination():
    rng = np.random.default_rng(0)
    d = rng.normal(size=(20, 8))  # 8 atoms of dimension 20
    f = 0.3 * d[:, 2] + 0.7 * d[:, 5]
    w = simplex_weights(d, f, sum_weight=100.0)
    assert (w >= 0).all() and abs(w.sum() - 1) < 1e-12
    np.testing.assert_allclose(w[[2, 5]], [0.3, 0.7], atol=1e-6)
    assert np.count_nonzero(w > 1e-9) == 2  # sparse


def test_alr_reproduces_training_gaze_on_training_images(wild_60):
    X, y = wild_60
    est = ALRNNLSGaze(n_neighbors=5).fit(X, y)
    err = np.abs(est.predict(X[:10]) - y[:10]).max()
    assert err < 1e-3  # each training image is its own best (weight-1) reconstruction
    assert est.get_params()["n_neighbors"] == 5 and est.n_train_used_ == 60


def test_scaling_strategies_are_params_and_are_used(wild_60):
    X, y = wild_60
    svr = SVRGaze(max_train_samples=25, random_state=0).fit(X, y)
    assert svr.n_train_used_ == 25 and svr.get_params()["strategy"] == "subsample"
    nys = SVRGaze(strategy="nystroem", n_components=10, max_train_samples=None, random_state=0)
    assert nys.fit(X, y).n_train_used_ == 60
    assert nys.model_.steps[1][1].n_components == 10
    with pytest.raises(ValueError, match="strategy must be one of subsample, nystroem"):
        SVRGaze(strategy="exact").fit(X, y)
    assert PlainRFGaze(n_estimators=3, max_train_samples=30).fit(X, y).n_train_used_ == 30


def test_augment_options():
    assert parse_augment("none") == ()
    assert parse_augment("hist_eq+noise") == ("hist_eq", "noise")
    with pytest.raises(ValueError, match="unknown augment step"):
        parse_augment("hist_eq+flip")
    rng = np.random.default_rng(0)
    img = rng.integers(60, 120, (4, 36, 60), dtype=np.uint8)
    eq = preprocess(img, ("hist_eq",))
    assert eq.min() == 0 and eq.max() == 255  # stretched to the full range
    assert preprocess(img, ("noise",)) is img  # noise is not a preprocessing step
    same = augment_batch(img, (), rng)
    np.testing.assert_array_equal(same, img.astype(np.float32))
    noisy = augment_batch(img, ("noise",), np.random.default_rng(1))
    assert noisy.dtype == np.float32 and not np.array_equal(noisy, same)
    blurred = augment_batch(img, ("blur",), np.random.default_rng(2))
    assert blurred.std() < same.std()
