"""Gaze geometry in the MPIIGaze normalized-camera convention.

Frame: x right, y down, z forward from the camera. An eye looking straight into the camera has
gaze vector (0, 0, -1), i.e. pitch = yaw = 0.

    pitch = arcsin(-y)            (positive: looking up)
    yaw   = arctan2(-x, -z)       (positive: pupil toward the image's left)
    x = -cos(pitch) sin(yaw),  y = -sin(pitch),  z = -cos(pitch) cos(yaw)

Every function accepts numpy arrays or torch tensors and returns the same kind; arrays are
(n, 2) pitch/yaw in radians or (n, 3) vectors (a single (2,) / (3,) row also works). torch is
never imported here, so the classic estimators stay torch-free.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any  # np.ndarray | torch.Tensor


def _is_torch(x: Array) -> bool:
    return type(x).__module__.startswith("torch")


def _lib(x: Array):
    if _is_torch(x):
        import torch

        return torch
    return np


def _check_last_dim(x: Array, size: int, what: str) -> None:
    if x.ndim not in (1, 2) or x.shape[-1] != size:
        raise ValueError(f"{what}: expected shape (n, {size}) or ({size},), got {tuple(x.shape)}")


def pitchyaw_to_vector(pitchyaw_rad: Array) -> Array:
    """(n, 2) pitch/yaw radians -> (n, 3) unit gaze vectors (same array library and float dtype)."""
    _check_last_dim(pitchyaw_rad, 2, "pitchyaw_to_vector")
    xp = _lib(pitchyaw_rad)
    pitch, yaw = pitchyaw_rad[..., 0], pitchyaw_rad[..., 1]
    cos_p = xp.cos(pitch)
    return xp.stack([-cos_p * xp.sin(yaw), -xp.sin(pitch), -cos_p * xp.cos(yaw)], -1)


def vector_to_pitchyaw(vector: Array) -> Array:
    """(n, 3) gaze vectors (any non-zero length) -> (n, 2) pitch/yaw radians.

    Vectors are normalised first; pitch is in [-pi/2, pi/2], yaw in (-pi, pi].
    """
    _check_last_dim(vector, 3, "vector_to_pitchyaw")
    xp = _lib(vector)
    v = normalize(vector)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    pitch = xp.arcsin(xp.clip(-y, -1.0, 1.0))
    yaw = xp.arctan2(-x, -z)
    return xp.stack([pitch, yaw], -1)


def normalize(vector: Array, eps: float = 1e-12) -> Array:
    """Scale (n, 3) vectors to unit length; zero vectors stay zero instead of becoming NaN."""
    xp = _lib(vector)
    if xp is np:
        norm = np.linalg.norm(vector, axis=-1, keepdims=True)
        return vector / np.maximum(norm, eps)
    norm = vector.norm(dim=-1, keepdim=True)
    return vector / norm.clamp_min(eps)


def _as_vectors(g: Array) -> Array:
    if g.shape[-1] == 2:
        return pitchyaw_to_vector(g)
    if g.shape[-1] == 3:
        return normalize(g)
    raise ValueError(f"gaze must be (n, 2) pitch/yaw or (n, 3) vectors, got {tuple(g.shape)}")


def angular_error_deg(pred: Array, true: Array) -> Array:
    """Per-sample angle between two gaze directions, in degrees.

    pred, true: (n, 2) pitch/yaw radians or (n, 3) vectors (the two may differ in form).
    Returns (n,) float degrees. The cosine is clipped to [-1, 1] before arccos, so a
    direction compared with itself gives exactly 0 instead of NaN from rounding.
    """
    if pred.shape[:-1] != true.shape[:-1]:
        raise ValueError(
            f"angular_error_deg: pred has {tuple(pred.shape)}, true has {tuple(true.shape)}"
        )
    xp = _lib(pred)
    a, b = _as_vectors(pred), _as_vectors(true)
    cos = (a * b).sum(-1)
    cos = xp.clip(cos, -1.0, 1.0)
    angle = xp.arccos(cos)
    return angle * (180.0 / np.pi)


def mean_angular_error_deg(pred: Array, true: Array) -> float:
    """Mean of :func:`angular_error_deg` as a Python float (the Table-1 metric)."""
    return float(angular_error_deg(pred, true).mean())


def rodrigues_to_pitchyaw(rotvec: np.ndarray) -> np.ndarray:
    """(n, 3) head rotation vectors (Rodrigues, MPIIGaze `pose`) -> (n, 2) head pitch/yaw radians.

    R = Rodrigues(rotvec); v = R[:, 2]; pitch = arcsin(v_y), yaw = arctan2(v_x, v_z)
    (the MPIIGaze / pytorch_mpiigaze convention for the head's forward axis).
    """
    rotvec = np.asarray(rotvec, dtype=np.float64)
    _check_last_dim(rotvec, 3, "rodrigues_to_pitchyaw")
    r = rotvec.reshape(-1, 3)
    theta = np.linalg.norm(r, axis=1, keepdims=True)
    k = r / np.maximum(theta, 1e-12)
    # Third column of the rotation matrix, Rodrigues' formula: R e_z.
    ez = np.array([0.0, 0.0, 1.0])
    c, s = np.cos(theta), np.sin(theta)
    kdotz = k[:, 2:3]
    v = ez * c + np.cross(k, ez) * s + k * kdotz * (1 - c)
    pitch = np.arcsin(np.clip(v[:, 1], -1.0, 1.0))
    yaw = np.arctan2(v[:, 0], v[:, 2])
    out = np.stack([pitch, yaw], 1)
    return out.reshape(rotvec.shape[:-1] + (2,))
