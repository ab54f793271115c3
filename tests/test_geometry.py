import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from estimators.geometry import (
    angular_error_deg,
    mean_angular_error_deg,
    pitchyaw_to_vector,
    rodrigues_to_pitchyaw,
    vector_to_pitchyaw,
)


def test_straight_at_camera_is_zero_angles():
    np.testing.assert_allclose(vector_to_pitchyaw(np.array([[0.0, 0.0, -1.0]])), [[0.0, 0.0]])
    np.testing.assert_allclose(pitchyaw_to_vector(np.zeros((1, 2))), [[0.0, 0.0, -1.0]], atol=1e-12)


def test_sign_conventions_up_and_image_left():
    # Looking up: y (down) is negative -> positive pitch. Toward image left: x negative -> positive yaw.
    up = vector_to_pitchyaw(np.array([[0.0, -1.0, -1.0]]))
    left = vector_to_pitchyaw(np.array([[-1.0, 0.0, -1.0]]))
    np.testing.assert_allclose(up, [[np.pi / 4, 0.0]], atol=1e-12)
    np.testing.assert_allclose(left, [[0.0, np.pi / 4]], atol=1e-12)


def test_known_angles_between_directions():
    a = np.array([[0.0, 0.0, -1.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
    b = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 3.0, 0.0]])  # lengths need not be 1
    np.testing.assert_allclose(angular_error_deg(a, b), [90.0, 180.0, 90.0], atol=1e-9)
    # mixed forms: pitch/yaw vs vector
    np.testing.assert_allclose(
        angular_error_deg(np.array([[0.0, np.pi / 2]]), b[:1] * -1), [0.0], atol=1e-6
    )


def test_yaw_difference_equals_error_on_the_horizon():
    py = np.array([[0.0, np.radians(10)]])
    assert angular_error_deg(py, np.zeros((1, 2)))[0] == pytest.approx(10.0, abs=1e-9)


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        pitchyaw_to_vector(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="pred has"):
        angular_error_deg(np.zeros((3, 2)), np.zeros((4, 2)))


def test_torch_matches_numpy():
    rng = np.random.default_rng(0)
    py = rng.uniform(-1.2, 1.2, (50, 2))
    vec_np = pitchyaw_to_vector(py)
    vec_t = pitchyaw_to_vector(torch.from_numpy(py))
    assert isinstance(vec_t, torch.Tensor)
    np.testing.assert_allclose(vec_t.numpy(), vec_np, atol=1e-12)
    err_t = angular_error_deg(torch.from_numpy(py), torch.from_numpy(py[::-1].copy()))
    np.testing.assert_allclose(err_t.numpy(), angular_error_deg(py, py[::-1]), atol=1e-9)


def test_rodrigues_identity_and_yaw_rotation():
    np.testing.assert_allclose(rodrigues_to_pitchyaw(np.zeros((1, 3))), [[0.0, 0.0]], atol=1e-12)
    # rotation of 0.3 rad about the camera's y axis turns the z axis toward +x: yaw = +0.3
    np.testing.assert_allclose(
        rodrigues_to_pitchyaw(np.array([[0.0, 0.3, 0.0]])), [[0.0, 0.3]], atol=1e-12
    )
    # against scipy's own Rodrigues on random vectors
    from scipy.spatial.transform import Rotation

    r = np.random.default_rng(1).normal(0, 0.5, (20, 3))
    v = Rotation.from_rotvec(r).as_matrix()[:, :, 2]
    expect = np.stack([np.arcsin(v[:, 1]), np.arctan2(v[:, 0], v[:, 2])], 1)
    np.testing.assert_allclose(rodrigues_to_pitchyaw(r), expect, atol=1e-10)


angles = arrays(np.float64, (8, 2), elements=st.floats(-1.5, 1.5))


@settings(max_examples=60, deadline=None)
@given(angles)
def test_round_trip_pitchyaw(py):
    back = vector_to_pitchyaw(pitchyaw_to_vector(py))
    assert np.all(angular_error_deg(back, py) < 1e-5)
    np.testing.assert_allclose(np.linalg.norm(pitchyaw_to_vector(py), axis=1), 1.0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, (8, 3), elements=st.floats(-10, 10)).filter(
        lambda v: (np.linalg.norm(v, axis=1) > 1e-3).all()
    )
)
def test_error_with_itself_is_zero_and_symmetric(v):
    e = angular_error_deg(v, v)
    assert np.all(np.isfinite(e)) and np.all(e < 1e-5)  # the clip keeps rounding from giving NaN
    w = v[::-1]
    np.testing.assert_allclose(angular_error_deg(v, w), angular_error_deg(w, v), atol=1e-9)
    assert np.all((angular_error_deg(v, w) >= 0) & (angular_error_deg(v, w) <= 180))


def test_mean_error_is_a_float():
    assert mean_angular_error_deg(np.zeros((4, 2)), np.zeros((4, 2))) == 0.0
