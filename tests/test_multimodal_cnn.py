"""Zhang et al. 2015's multimodal CNN ("mpiigaze-cnn"): the network's shape and its use of head pose."""

import numpy as np
import pytest
import torch

from estimators import EyeData, create_estimator
from estimators.geometry import mean_angular_error_deg
from estimators.multimodal_cnn import MultimodalLeNet


def test_lenet_shapes_follow_the_paper():
    net = MultimodalLeNet()
    assert net.flat_dim == 50 * 6 * 12  # 36x60 -> conv5 -> pool -> conv5 -> pool, unpadded
    assert [m.out_channels for m in net.features if isinstance(m, torch.nn.Conv2d)] == [20, 50]
    assert net.fc1[0].out_features == 500
    assert (net.fc2.in_features, net.fc2.out_features) == (502, 2)  # 500 + head angles -> 2
    assert MultimodalLeNet(head_pose=False).fc2.in_features == 500
    v = net(torch.zeros(3, 1, 36, 60), torch.zeros(3, 2))
    torch.testing.assert_close(v.norm(dim=1), torch.ones(3))  # angles -> unit gaze vectors


@pytest.fixture(scope="module")
def head_driven():
    """Noise images that carry no gaze information and gaze = 0.5 x head pose: only a model that
    reads the head input can beat the mean (about 9.3 deg here)."""
    rng = np.random.default_rng(0)
    n = 448
    images = rng.integers(96, 160, (n, 36, 60), dtype=np.uint8)
    head = rng.uniform(-0.4, 0.4, (n, 2)).astype(np.float32)
    gaze = (0.5 * head).astype(np.float32)
    tr, te = slice(0, 384), slice(384, None)
    return EyeData(images[tr], head[tr]), gaze[tr], EyeData(images[te], head[te]), gaze[te]


def _fit(head_pose: bool, X, y, epochs: int):
    # fp32 pinned (what "auto" is on every CPU, but not on CUDA): 4 epochs on 384 noise images
    # is too little training for the margin to survive bf16 rounding (seed 0: 9.16 vs 9.60 deg)
    params = dict(epochs=epochs, batch_size=16, val_fraction=0.0, augment="none", progress=False,
                  precision="fp32")  # fmt: skip
    return create_estimator("mpiigaze-cnn", head_pose=head_pose, random_state=0, **params).fit(X, y)


def test_changing_only_the_head_input_changes_the_prediction(head_driven):
    X, y, X_te, _ = head_driven
    shifted = EyeData(X_te.images, X_te.head_pitchyaw_rad + np.float32(0.2))
    with_head, blind = _fit(True, X[:128], y[:128], 1), _fit(False, X[:128], y[:128], 1)
    assert np.abs(with_head.predict(shifted) - with_head.predict(X_te)).mean() > 1e-3
    np.testing.assert_array_equal(blind.predict(shifted), blind.predict(X_te))


@pytest.mark.slow
def test_on_head_driven_gaze_it_beats_a_head_blind_copy(head_driven):
    """Measured on CPU in fp32 (seed 0, 4 epochs): 8.57 deg with head pose vs 10.12 deg head-blind
    (AVX-512 machine; 8.55 vs 10.09 on an AVX2 one; seeds 1 and 2: 7.3 vs 9.7, 7.2 vs 9.1)."""
    X, y, X_te, y_te = head_driven
    err_head = mean_angular_error_deg(_fit(True, X, y, 4).predict(X_te), y_te)
    err_blind = mean_angular_error_deg(_fit(False, X, y, 4).predict(X_te), y_te)
    assert err_head < 0.9 * err_blind, (err_head, err_blind)
