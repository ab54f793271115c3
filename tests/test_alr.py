"""ALR (Lu et al. 2014, signed sparse weights) against its non-negative variant (alr-nnls)."""

import numpy as np
import pytest

from benchmarks.datasets.demo import render_domain
from estimators import EyeData, create_estimator
from estimators.alr import ALRGaze, sparse_affine_weights
from estimators.alr_nnls import simplex_weights


@pytest.fixture(scope="module")
def outside_hull():
    """Four training features on the unit square's corners plus the origin, a test feature at
    (1.5, 0.5) outside their convex hull, and a linear gaze map g = A f + b."""
    d = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]]).T  # (2, 5)
    a, b = np.array([[0.1, -0.05], [0.02, 0.2]]), np.array([0.01, -0.03])
    gaze = (a @ d).T + b  # (5, 2): each training sample's pitch/yaw
    f = np.array([1.5, 0.5])
    return d, f, gaze, a @ f + b


def test_signed_weights_reconstruct_outside_the_hull_and_nnls_cannot(outside_hull):
    d, f, gaze, truth = outside_hull
    w, relaxed = sparse_affine_weights(d, f, epsilon=0.0)
    assert not relaxed and abs(w.sum() - 1) < 1e-9
    assert (w < -1e-9).any()  # a negative weight: the extrapolation NNLS cannot express
    np.testing.assert_allclose(d @ w, f, atol=1e-9)
    np.testing.assert_allclose(w @ gaze, truth, atol=1e-9)  # affine map: exact gaze
    w_nn = simplex_weights(d, f, sum_weight=100.0)
    assert (w_nn >= 0).all()
    assert np.abs(d @ w_nn - f).max() > 0.4  # stuck on the hull's edge at x = 1
    assert np.abs(w_nn @ gaze - truth).max() > 0.02


def test_l1_objective_picks_the_sparsest_reconstruction():
    rng = np.random.default_rng(0)
    d = rng.normal(size=(20, 30))
    f = 1.3 * d[:, 3] - 0.3 * d[:, 11]  # an affine combination of two atoms
    w, relaxed = sparse_affine_weights(d, f, epsilon=1e-9)
    assert not relaxed
    np.testing.assert_allclose(w[[3, 11]], [1.3, -0.3], atol=1e-6)
    assert np.count_nonzero(np.abs(w) > 1e-7) == 2


def test_unreachable_tolerance_is_relaxed_to_the_smallest_reachable():
    d = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])  # every combination has second entry 0
    w, relaxed = sparse_affine_weights(d, np.array([1.0, 0.5]), epsilon=0.01)
    assert relaxed and abs(w.sum() - 1) < 1e-9
    assert abs((d @ w)[0] - 1.0) <= 0.5 + 1e-6


def test_alr_estimator_defaults_and_training_images():
    data = render_domain("lab", 80, seed=3)
    X, y = EyeData(data["images"], data["head_pitchyaw_rad"]), data["gaze_pitchyaw_rad"]
    est = ALRGaze(n_neighbors=40, epsilon=0.0).fit(X, y)
    assert est.get_params()["feature"] == "regions" and est.n_train_used_ == 80
    # weight 1 on itself is feasible and has ||w||_1 = 1, the minimum under sum(w) = 1
    np.testing.assert_allclose(est.predict(X[:5]), y[:5], atol=1e-3)
    assert type(create_estimator("alr-nnls")).__name__ == "ALRNNLSGaze"
