"""Read one MPIIGaze ``Data/Normalized/pXX/dayYY.mat`` into checked arrays and store rows.

Format (docs/conventions.md, confirmed against hysts/pytorch_mpiigaze's preprocess_mpiigaze.py):
a MATLAB v5 file with ``data.left`` / ``data.right`` structs holding ``image`` (N, 36, 60) uint8,
``gaze`` (N, 3) gaze vectors and ``pose`` (N, 3) Rodrigues head rotations, and ``filenames``
(N names like ``0069.jpg``). Loaded with ``struct_as_record=False, squeeze_me=True``, a day with a
single image comes back squeezed (image (36, 60), gaze (3,), filenames a str): restored here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.datasets.store import LEFT, RIGHT, StoreError
from estimators.geometry import rodrigues_to_pitchyaw, vector_to_pitchyaw

SIDES = ("left", "right")


@dataclass
class Day:
    """One day of one person: filenames (N,) str and per side image/gaze/pose arrays."""

    path: Path
    filenames: np.ndarray
    image: dict[str, np.ndarray]  # side -> (N, 36, 60) uint8
    gaze: dict[str, np.ndarray]  # side -> (N, 3) float64
    pose: dict[str, np.ndarray]  # side -> (N, 3) float64

    def __len__(self) -> int:
        return len(self.filenames)

    def index(self) -> dict[str, int]:
        return {str(name): k for k, name in enumerate(self.filenames)}


def _field(struct, name: str, path: Path, where: str):
    try:
        return getattr(struct, name)
    except AttributeError:
        raise StoreError(f"{path}: {where} has no field '{name}'") from None


def load_day(path: Path) -> Day:
    """Load and check one day file; raise StoreError naming the file and what is wrong."""
    import scipy.io

    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=True)
    except Exception as e:  # scipy raises ValueError/OSError/IndexError/... on damaged files
        raise StoreError(f"{path}: unreadable MATLAB file ({type(e).__name__}: {e})") from None
    if "data" not in mat or "filenames" not in mat:
        raise StoreError(
            f"{path}: expected variables 'data' and 'filenames', found {sorted(k for k in mat if not k.startswith('__'))}"
        )
    names = mat["filenames"]
    single = not isinstance(names, np.ndarray)  # squeeze_me turned a 1-image day into scalars
    names = np.atleast_1d(np.asarray(names, dtype=str)).reshape(-1)
    n = len(names)
    image, gaze, pose = {}, {}, {}
    for side in SIDES:
        struct = _field(mat["data"], side, path, "data")
        img = np.asarray(_field(struct, "image", path, f"data.{side}"))
        g = np.asarray(_field(struct, "gaze", path, f"data.{side}"), dtype=np.float64)
        p = np.asarray(_field(struct, "pose", path, f"data.{side}"), dtype=np.float64)
        if single:
            img, g, p = img[None], g[None], p[None]
        if img.shape != (n, 36, 60):
            raise StoreError(
                f"{path}: data.{side}.image has shape {img.shape}, expected ({n}, 36, 60) "
                f"for {n} filenames"
            )
        for name, a in (("gaze", g), ("pose", p)):
            if a.shape != (n, 3):
                raise StoreError(
                    f"{path}: data.{side}.{name} has shape {a.shape}, expected ({n}, 3)"
                )
        if img.dtype != np.uint8:
            if img.min() < 0 or img.max() > 255:
                raise StoreError(f"{path}: data.{side}.image values outside 0..255")
            img = img.astype(np.uint8)
        image[side], gaze[side], pose[side] = img, g, p
    return Day(path, names, image, gaze, pose)


def day_rows(
    day: Day, side: str, index: np.ndarray, subject: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Store rows for samples ``index`` of one side; right eyes mirrored, yaws negated.

    Returns (fields, ok): ``ok`` (len(index),) bool marks rows with finite labels; fields hold
    only those rows.
    """
    gaze = vector_to_pitchyaw(day.gaze[side][index])
    head = rodrigues_to_pitchyaw(day.pose[side][index])
    images = day.image[side][index]
    if side == "right":
        images = images[:, :, ::-1]
        gaze = gaze * [1.0, -1.0]
        head = head * [1.0, -1.0]
    ok = np.isfinite(gaze).all(1) & np.isfinite(head).all(1)
    ok &= np.linalg.norm(day.gaze[side][index], axis=1) > 0
    k = int(ok.sum())
    fields = {
        "images": np.ascontiguousarray(images[ok]),
        "gaze_pitchyaw_rad": gaze[ok].astype(np.float32),
        "head_pitchyaw_rad": head[ok].astype(np.float32),
        "subject": np.full(k, subject, np.int32),
        "eye": np.full(k, LEFT if side == "left" else RIGHT, np.uint8),
    }
    return fields, ok
