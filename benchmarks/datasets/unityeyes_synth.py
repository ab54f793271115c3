"""Write UnityEyes-format pairs (``N.jpg`` + ``N.json``) with known labels: test and perf fixtures.

The json copies the renderer's *layout* (docs/conventions.md), not any real file: pretty-printed
with a trailing space after ``{``, ``[`` and ``,``, no final newline, every value a string,
16 interior-margin / 7 caruncle / 32 iris points ``"(x, y, z)"`` with y counted from the image
bottom, ``look_vec`` with a 4th value 0, and the extra blocks a reader must ignore. The image is
a drawn eye: skin, an almond-shaped opening, and an iris displaced toward where the gaze points
(left-eye render: the caruncle, the inner corner, on the image's left).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def eye_landmarks(
    width: int, height: int, look_vec=(0.0, 0.0, -1.0), eye_frac: float = 0.17
) -> dict[str, np.ndarray]:
    """Landmarks (image pixels, y down) of an eye centred in a ``width`` x ``height`` render.

    Returns margin (16, 2), caruncle (7, 2), iris (32, 2), in the renderer's point order:
    margin[0] near the inner corner, margin[8] the outer corner.
    """
    cx, cy = width / 2, height / 2
    half_w = eye_frac * width / 2
    half_h = 0.45 * half_w
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)  # t=0 inner corner (left), pi outer
    margin = np.stack([cx - half_w * np.cos(t), cy + half_h * np.sin(t)], 1)
    inner = margin[0] - [0.12 * half_w, 0.0]
    u = np.linspace(0, 2 * np.pi, 7, endpoint=False)
    caruncle = inner + 0.06 * half_w * np.stack([np.cos(u), np.sin(u)], 1)
    lx, ly = float(look_vec[0]), float(look_vec[1])
    # The pupil moves toward where the eye looks: image x with look x, image up with look y (up).
    iris_c = np.array([cx + 0.9 * half_w * lx, cy - 0.9 * half_w * ly])
    v = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    iris = iris_c + 0.42 * half_w * np.stack([np.cos(v), np.sin(v)], 1)
    return {"margin": margin, "caruncle": caruncle, "iris": iris}


def draw_eye(width: int, height: int, marks: dict[str, np.ndarray], seed: int = 0) -> np.ndarray:
    """A colour (BGR) render showing the eye described by ``marks``."""
    rng = np.random.default_rng(seed)
    # Skin: smooth low-frequency shading plus faint grain, like a render (not white noise,
    # which would make the JPEG several times larger and slower to decode than a real one).
    low = rng.integers(0, 40, (height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
    img = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    img = img + np.array([100, 130, 170], np.uint8) + rng.integers(0, 4, img.shape, np.uint8)
    cv2.fillPoly(img, [np.round(marks["margin"]).astype(np.int32)], (225, 225, 230))
    c = marks["iris"].mean(0)
    r = float(np.linalg.norm(marks["iris"][0] - c))
    cv2.circle(img, tuple(int(round(x)) for x in c), int(round(r)), (40, 70, 110), -1)
    cv2.circle(img, tuple(int(round(x)) for x in c), max(1, int(round(r / 2.5))), (10, 10, 10), -1)
    return cv2.GaussianBlur(img, (3, 3), 0)


def _pt(x: float, y: float, z: float) -> str:
    return f"({x:.4f}, {y:.4f}, {z:.4f})"


def _block(name: str, items: list[str], indent: str = "  ") -> str:
    body = ", \n".join(f'{indent}  "{s}"' for s in items)
    return f'{indent}"{name}": [ \n{body}\n{indent}  ]'


def label_json(
    marks: dict[str, np.ndarray], height: int, look_vec, head_pose, drop: tuple[str, ...] = ()
) -> str:
    """The json text for ``marks`` (y down) in UnityEyes' layout (y up from the bottom)."""

    def pts(a):
        return [_pt(x, height - y, 9.0 + 0.01 * k) for k, (x, y) in enumerate(a)]

    lx, ly, lz = look_vec
    blocks = {
        "interior_margin_2d": _block("interior_margin_2d", pts(marks["margin"])),
        "caruncle_2d": _block("caruncle_2d", pts(marks["caruncle"])),
        "iris_2d": _block("iris_2d", pts(marks["iris"])),
        "eye_details": '  "eye_details": { \n'
        f'    "look_vec": "({lx:.4f}, {ly:.4f}, {lz:.4f}, 0.0000)", \n'
        '    "pupil_size": "0.08", \n    "iris_size": "0.95", \n'
        '    "iris_texture": "eyeball_amber"\n    }',
        "lighting_details": '  "lighting_details": { \n    "skybox_texture": "sky_1k", \n'
        '    "light_rotation": "(25.0, 120.0, 0.0)"\n    }',
        "eye_region_details": '  "eye_region_details": { \n'
        + _block("pca_shape_coeffs", ["0.0125", "-0.0031", "2.5E-17"], "    ")
        + ', \n    "primary_skin_texture": "m01_color"\n    }',
        "head_pose": f'  "head_pose": "({head_pose[0]:.4f}, {head_pose[1]:.4f}, 0.0000)"',
    }
    return "{ \n" + ", \n".join(b for k, b in blocks.items() if k not in drop) + "\n  }"


def write_unityeyes_pair(
    folder: Path,
    stem: str | int,
    *,
    size: tuple[int, int] = (640, 480),
    look_vec=(0.0, 0.0, -1.0),
    head_pose=(0.0, 180.0, 0.0),
    seed: int = 0,
    quality: int = 90,
) -> dict[str, np.ndarray]:
    """Write ``folder/stem.jpg`` (``size`` = (width, height)) and ``folder/stem.json``.

    Returns the landmarks (image pixels, y down) so a test can compute expected crops.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    marks = eye_landmarks(w, h, look_vec)
    ok, buf = cv2.imencode(".jpg", draw_eye(w, h, marks, seed), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    (folder / f"{stem}.jpg").write_bytes(buf.tobytes())
    (folder / f"{stem}.json").write_text(label_json(marks, h, look_vec, head_pose))
    return marks


def write_unityeyes_folder(folder: Path, n: int, size=(640, 480), seed: int = 0) -> None:
    """``n`` pairs 1..n with random gaze (|pitch|, |yaw| <= 30 deg) and near-frontal cameras."""
    rng = np.random.default_rng(seed)
    for k in range(1, n + 1):
        pitch, yaw = np.radians(rng.uniform(-30, 30, 2))
        look = (np.cos(pitch) * np.sin(yaw), np.sin(pitch), -np.cos(pitch) * np.cos(yaw))
        head = (rng.uniform(-25, 25) % 360, 180 + rng.uniform(-25, 25), 0)
        write_unityeyes_pair(folder, k, size=size, look_vec=look, head_pose=head, seed=k)
