"""One UnityEyes render (``N.jpg`` + ``N.json``) -> one 36x60 eye patch with gaze and head labels.

Formats and conventions are those of docs/conventions.md (UnityEyes section):

- landmark strings ``"(x, y, z)"``: x in pixels from the left, y in pixels from the *bottom*
  (y_img = H - y, H the render's own height), z a depth; every json value is a string;
- ``eye_details.look_vec`` ``"(x, y, z, 0)"``: gaze in the camera's Unity frame (y up). The
  MPIIGaze-frame vector is (x, -y, z): pitch = arcsin(look_y), yaw = arctan2(-look_x, -look_z);
- ``head_pose`` ``"(p, y, r)"``: the camera's Euler angles in degrees. Head pitch =
  -(p - 360 if p > 180 else p), head yaw = -(y - 180); frontal is (0, 180, 0);
- crop (GazeML's recipe): corners = mean(caruncle_2d) and interior_margin_2d[8]; eye width =
  1.5 x |corner x distance|; scale = 60 / eye width; the centre of the interior-margin bounding
  box goes to the patch centre; one bilinear affine warp of the grayscale render to 36x60.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from estimators.geometry import vector_to_pitchyaw

PATCH_H, PATCH_W = 36, 60
EYE_WIDTH_FACTOR = 1.5  # GazeML: the patch spans 1.5x the corner-to-corner distance
NEAR_FRONTAL_DEG = 20.0  # GazeML's head filter: |wrapped pitch| and |yaw - 180| <= 20


class PairFault(Exception):
    """This pair cannot be used; the message says why (the caller adds the file name)."""


class ImageFault(PairFault):
    """A PairFault that is about the image (named by the jpg, not the json)."""


def parse_points(values, name: str) -> np.ndarray:
    """A json list of ``"(x, y, z)"`` strings -> (k, 3) float64 array."""
    if not isinstance(values, list) or not values:
        raise PairFault(f"field {name} is not a non-empty list")
    try:
        flat = ",".join(v.strip().strip("()") for v in values).split(",")
        pts = np.array(flat, dtype=np.float64).reshape(len(values), 3)
    except (AttributeError, ValueError) as e:
        raise PairFault(f"field {name} is not a list of '(x, y, z)' strings ({e})") from None
    return pts


def parse_tuple(value, name: str, size: int) -> np.ndarray:
    """A json string ``"(a, b, c[, d])"`` -> (size,) float64 array."""
    try:
        out = np.array(value.strip().strip("()").split(","), dtype=np.float64)
    except (AttributeError, ValueError) as e:
        raise PairFault(f"field {name} is not a '(...)' string of numbers ({e})") from None
    if out.shape != (size,):
        raise PairFault(f"field {name} has {out.size} values, expected {size}")
    return out


def gaze_from_look_vec(look_vec: np.ndarray) -> np.ndarray:
    """(3,) or (n, 3) Unity look vectors (camera frame, y up) -> (…, 2) gaze pitch/yaw rad."""
    look = np.asarray(look_vec, dtype=np.float64)
    g = look[..., :3] * np.array([1.0, -1.0, 1.0])  # Unity y up -> MPIIGaze y down
    return vector_to_pitchyaw(g)


def wrapped_camera_angles_deg(head_pose_deg: np.ndarray) -> tuple[float, float]:
    """Camera Euler (p, y, r) degrees -> (p wrapped to (-180, 180], y - 180): 0, 0 is frontal."""
    p, y = float(head_pose_deg[0]), float(head_pose_deg[1])
    return (p - 360.0 if p > 180.0 else p), y - 180.0


def head_from_camera_euler(head_pose_deg: np.ndarray) -> np.ndarray:
    """UnityEyes ``head_pose`` (camera Euler degrees) -> (2,) head pitch/yaw rad, MPIIGaze terms."""
    p, y = wrapped_camera_angles_deg(head_pose_deg)
    return np.radians(np.array([-p, -y]))


def is_near_frontal(head_pose_deg: np.ndarray, limit_deg: float = NEAR_FRONTAL_DEG) -> bool:
    p, y = wrapped_camera_angles_deg(head_pose_deg)
    return abs(p) <= limit_deg and abs(y) <= limit_deg


def crop_matrix(margin_xy: np.ndarray, caruncle_xy: np.ndarray) -> np.ndarray:
    """(2, 3) affine map from render pixels (y down) to the 36x60 patch (GazeML recipe)."""
    inner = caruncle_xy.mean(axis=0)
    outer = margin_xy[8]
    eye_width = EYE_WIDTH_FACTOR * abs(inner[0] - outer[0])
    if not eye_width > 1.0:
        raise PairFault(f"eye corners are {eye_width / EYE_WIDTH_FACTOR:.2f} px apart")
    scale = PATCH_W / eye_width
    centre = (margin_xy.min(axis=0) + margin_xy.max(axis=0)) / 2
    tx = PATCH_W / 2 - scale * centre[0]
    ty = PATCH_H / 2 - scale * centre[1]
    return np.array([[scale, 0.0, tx], [0.0, scale, ty]])


def read_label(json_path: Path) -> dict:
    """Parse the fields a pair needs; raise PairFault naming the missing or malformed field."""
    try:
        data = json.loads(Path(json_path).read_bytes())
    except (OSError, ValueError) as e:
        raise PairFault(f"unreadable json ({e})") from None
    if not isinstance(data, dict):
        raise PairFault("json is not an object")
    try:
        margin, caruncle = data["interior_margin_2d"], data["caruncle_2d"]
        look_vec, head_pose = data["eye_details"]["look_vec"], data["head_pose"]
    except (KeyError, TypeError) as e:
        raise PairFault(f"json is missing field {e}") from None
    out = {
        "margin": parse_points(margin, "interior_margin_2d"),
        "caruncle": parse_points(caruncle, "caruncle_2d"),
        "look_vec": parse_tuple(look_vec, "eye_details.look_vec", 4),
        "head_pose": parse_tuple(head_pose, "head_pose", 3),
    }
    if len(out["margin"]) < 9:
        raise PairFault(f"interior_margin_2d has {len(out['margin'])} points, need 16")
    for name, a in out.items():
        if not np.isfinite(a).all():
            raise PairFault(f"field {name} holds NaN/inf")
    if np.linalg.norm(out["look_vec"][:3]) < 1e-6:  # no direction: would store gaze (0, -180 deg)
        raise PairFault("eye_details.look_vec is (0, 0, 0): the render has no gaze direction")
    return out


def convert_pair(
    gray: np.ndarray, label: dict, near_frontal: bool = False
) -> dict[str, np.ndarray] | None:
    """Grayscale render (H, W) uint8 + parsed label -> one store row (dict of (1, ...) arrays).

    Returns None when ``near_frontal`` filters the render out. Raises PairFault for bad pairs.
    """
    if near_frontal and not is_near_frontal(label["head_pose"]):
        return None
    h, w = gray.shape
    margin = label["margin"][:, :2] * [1.0, -1.0] + [0.0, h]  # y from the bottom -> y down
    caruncle = label["caruncle"][:, :2] * [1.0, -1.0] + [0.0, h]
    if caruncle[:, 0].mean() >= margin[8, 0]:
        raise PairFault(
            "caruncle (inner corner) is not left of interior_margin_2d[8]: not a left-eye render"
        )
    lo, hi = margin.min(axis=0), margin.max(axis=0)
    if lo[0] < 0 or lo[1] < 0 or hi[0] > w or hi[1] > h:
        raise ImageFault(f"eye landmarks fall outside this {w}x{h} image (wrong image size?)")
    patch = cv2.warpAffine(gray, crop_matrix(margin, caruncle), (PATCH_W, PATCH_H))
    return {
        "images": patch[None],
        "gaze_pitchyaw_rad": gaze_from_look_vec(label["look_vec"])[None].astype(np.float32),
        "head_pitchyaw_rad": head_from_camera_euler(label["head_pose"])[None].astype(np.float32),
        "subject": np.full(1, -1, np.int32),
        "eye": np.zeros(1, np.uint8),
    }


def decode_gray(jpg: Path) -> np.ndarray:
    """Decode a JPEG straight to grayscale; refuse truncated files, which libjpeg would
    otherwise "decode" with the missing rows filled grey (only a warning on stderr)."""
    try:
        buf = np.fromfile(jpg, np.uint8)
    except OSError as e:
        raise PairFault(f"{jpg}: unreadable image ({e})") from None
    tail = buf[-16:].tobytes()
    if buf[:2].tobytes() == b"\xff\xd8" and b"\xff\xd9" not in tail:
        raise PairFault(f"{jpg}: truncated JPEG (no end-of-image marker)")
    gray = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise PairFault(f"{jpg}: unreadable image (not a JPEG or damaged)")
    return gray


def read_pair(jpg: Path, json_path: Path, near_frontal: bool = False):
    """Decode (grayscale) and convert one pair; PairFault messages name the offending file."""
    try:
        label = read_label(json_path)
    except PairFault as e:
        raise PairFault(f"{json_path}: {e}") from None
    if near_frontal and not is_near_frontal(label["head_pose"]):
        return None  # skip the decode: the filter needs only the json
    gray = decode_gray(jpg)
    try:
        return convert_pair(gray, label, near_frontal=False)
    except PairFault as e:
        raise PairFault(f"{jpg if isinstance(e, ImageFault) else json_path}: {e}") from None
