"""Sugano et al.'s head-pose-clustered forest ("rf"): training sets and test routing by head pose."""

import numpy as np
import pytest

from estimators import EyeData, create_estimator
from estimators.rf import RFGaze


@pytest.fixture(scope="module")
def two_poses():
    """Noise images at two head poses far apart, each pose with its own constant gaze: a sample
    can only be predicted right by the trees of its own head-pose cluster."""
    rng = np.random.default_rng(0)
    n = 120
    images = rng.integers(0, 256, (n, 36, 60), dtype=np.uint8)
    left = np.arange(n) < n // 2
    head = np.where(left[:, None], [0.0, -0.5], [0.0, 0.5]).astype(np.float32)
    head += rng.normal(0, 0.02, head.shape).astype(np.float32)
    gaze = np.where(left[:, None], [0.1, -0.3], [-0.1, 0.3]).astype(np.float32)
    return EyeData(images, head), gaze, left


def test_each_cluster_answers_the_test_samples_nearest_its_centre(two_poses):
    X, y, left = two_poses
    est = RFGaze(n_clusters=2, n_neighbor_clusters=1, n_estimators=3, random_state=0).fit(X, y)
    order = np.argsort(est.centres_[:, 1])  # cluster of the head yaw -0.5 pose first
    routes = est.route(np.array([[0.0, -0.45], [0.0, 0.4]]))
    np.testing.assert_array_equal(routes[:, 0], order)
    # New images (noise the trees never saw): only the head pose decides which trees answer.
    fresh = np.random.default_rng(1).integers(0, 256, (2, 36, 60), dtype=np.uint8)
    pred = est.predict(EyeData(fresh, np.array([[0.0, -0.5], [0.0, 0.5]], np.float32)))
    np.testing.assert_allclose(pred, [[0.1, -0.3], [-0.1, 0.3]], atol=1e-6)


def test_neighbour_clusters_share_training_samples_and_answers(two_poses):
    X, y, _ = two_poses
    est = RFGaze(n_clusters=2, n_neighbor_clusters=2, n_estimators=3, random_state=0).fit(X, y)
    assert est.route(np.zeros((1, 2))).shape == (1, 2)
    assert all(f.estimators_[0].tree_.n_node_samples[0] > 0 for f in est.forests_)
    # Each cluster's trees now saw both poses; the answer averages both clusters' trees.
    pred = est.predict(EyeData(X.images[:1], np.array([[0.0, 0.0]], np.float32)))
    assert np.abs(pred).max() < 0.3


def test_registry_names_the_plain_forest_plainly():
    assert type(create_estimator("rf")).__name__ == "RFGaze"
    assert type(create_estimator("rf-plain")).__name__ == "PlainRFGaze"
