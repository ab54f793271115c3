"""The dataset store: the one container every reader writes and every stage reads.

On disk a store is a directory::

    images.npy             (N, 36, 60) uint8   grayscale eye patches, left-eye orientation
    gaze_pitchyaw_rad.npy  (N, 2)      float32 gaze pitch/yaw, radians, MPIIGaze convention
    head_pitchyaw_rad.npy  (N, 2)      float32 head pose pitch/yaw, radians
    subject.npy            (N,)        int32   person index (-1 when unknown, e.g. synthetic)
    eye.npy                (N,)        uint8   0 = left eye, 1 = right eye (already mirrored)
    manifest.json          counts, shapes, dtypes, source, options, content checksum

Stores open memory-mapped and are validated on open. Writes go to a hidden temporary directory
next to the target and are renamed into place, so a killed write never leaves a half store that
looks whole. :class:`StoreWriter` streams large stores in chunks and resumes after a kill.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets.verify import FINGERPRINT_VERSION, SAMPLE_ROWS, digest, fingerprint
from estimators.base import EyeData, UserError
from torchkit.files import write_json_atomic

FORMAT = "gazebench-store"
VERSION = 1
LEFT, RIGHT = 0, 1

# name -> (dtype, per-row shape)
FIELDS: dict[str, tuple[np.dtype, tuple[int, ...]]] = {
    "images": (np.dtype(np.uint8), (36, 60)),
    "gaze_pitchyaw_rad": (np.dtype(np.float32), (2,)),
    "head_pitchyaw_rad": (np.dtype(np.float32), (2,)),
    "subject": (np.dtype(np.int32), ()),
    "eye": (np.dtype(np.uint8), ()),
}
LABEL_FIELDS = ("gaze_pitchyaw_rad", "head_pitchyaw_rad")
_CHUNK_ROWS = 65536


class StoreError(UserError):
    """A store (or data about to become one) is malformed. The message is one line naming it."""


@dataclass
class Store:
    """An opened store. Arrays are read-only memory maps; ``manifest`` is the parsed JSON."""

    path: Path
    manifest: dict[str, Any]
    images: np.ndarray
    gaze_pitchyaw_rad: np.ndarray
    head_pitchyaw_rad: np.ndarray
    subject: np.ndarray
    eye: np.ndarray

    def __len__(self) -> int:
        return int(self.manifest["count"])

    @property
    def source(self) -> str:
        return str(self.manifest.get("source", "unknown"))

    @property
    def checksum(self) -> str:
        return str(self.manifest["checksum"])

    def eye_data(self, index=slice(None)) -> EyeData:
        """Estimator input for the rows ``index`` (default: all, lazily memory-mapped), with the
        rows' person index (for person-disjoint validation splits)."""
        return EyeData(self.images[index], self.head_pitchyaw_rad[index], self.subject[index])

    def arrays(self, index=slice(None)) -> dict[str, np.ndarray]:
        """All fields for the rows ``index``, loaded into memory."""
        return {name: np.asarray(getattr(self, name)[index]) for name in FIELDS}


def _fail(where: Path | str, msg: str) -> StoreError:
    return StoreError(f"{where}: {msg}")


def validate_arrays(arrays: dict[str, np.ndarray], where: Path | str) -> int:
    """Check a full set of fields (or a chunk of rows) against the schema; return the row count."""
    missing = [name for name in FIELDS if name not in arrays]
    if missing:
        raise _fail(where, f"missing field(s) {', '.join(missing)}")
    unknown = sorted(set(arrays) - set(FIELDS))
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(unknown)}")
    n = None
    for name, (dtype, row_shape) in FIELDS.items():
        a = arrays[name]
        if not isinstance(a, np.ndarray):
            raise _fail(where, f"field {name}: expected a numpy array, got {type(a).__name__}")
        if tuple(a.shape[1:]) != row_shape or a.ndim != 1 + len(row_shape):
            raise _fail(
                where,
                f"field {name}: expected shape (N, {', '.join(map(str, row_shape))}) "
                f"got {tuple(a.shape)}".replace("(N, )", "(N,)"),
            )
        if a.dtype != dtype:
            raise _fail(where, f"field {name}: expected dtype {dtype}, got {a.dtype}")
        if n is None:
            n = a.shape[0]
        elif a.shape[0] != n:
            raise _fail(where, f"field {name}: has {a.shape[0]} rows, images has {n}")
    for name in LABEL_FIELDS:
        bad = ~np.isfinite(arrays[name]).all(axis=1)
        if bad.any():
            raise _fail(
                where,
                f"field {name}: {int(bad.sum())} row(s) hold NaN/inf labels "
                f"(first at row {int(np.argmax(bad))})",
            )
    eye = arrays["eye"]
    if eye.size and eye.max() > RIGHT:
        raise _fail(
            where, f"field eye: values must be 0 (left) or 1 (right), found {int(eye.max())}"
        )
    return int(n)


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in FIELDS:
        a = arrays[name]
        h.update(f"{name}:{a.dtype}:{a.shape}".encode())
        for start in range(0, a.shape[0], _CHUNK_ROWS):
            h.update(np.ascontiguousarray(a[start : start + _CHUNK_ROWS]).tobytes())
    return "sha256:" + h.hexdigest()


def _manifest(
    arrays: dict[str, np.ndarray], source: str, options: dict | None, extra: dict | None
) -> dict[str, Any]:
    n = arrays["images"].shape[0]
    return {
        "format": FORMAT,
        "version": VERSION,
        "count": int(n),
        "source": source,
        "label_convention": "MPIIGaze normalized camera; pitch/yaw radians; right eyes mirrored",
        "fields": {
            name: {"file": f"{name}.npy", "dtype": str(dtype), "shape": [int(n), *row_shape]}
            for name, (dtype, row_shape) in FIELDS.items()
        },
        "options": options or {},
        **(extra or {}),
        "checksum": _checksum(arrays),
        "fingerprint": fingerprint(arrays),  # what a reuse re-checks cheaply (verify.py)
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _publish(tmp_dir: Path, path: Path, overwrite: bool) -> None:
    """Rename a finished temp store into place; an existing store is replaced only if asked."""
    if path.exists():
        if not overwrite:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise _fail(path, "already exists (pass overwrite=True / --force to replace it)")
        trash = path.with_name(f".{path.name}.old-{os.getpid()}")
        os.replace(path, trash)
        os.replace(tmp_dir, path)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp_dir, path)


def write_store(
    path: str | Path,
    *,
    images: np.ndarray,
    gaze_pitchyaw_rad: np.ndarray,
    head_pitchyaw_rad: np.ndarray,
    subject: np.ndarray | None = None,
    eye: np.ndarray | None = None,
    source: str,
    options: dict | None = None,
    extra: dict | None = None,
    overwrite: bool = False,
) -> Store:
    """Validate and atomically write a whole store that fits in memory; return it opened.

    ``subject`` defaults to -1 (unknown) and ``eye`` to 0 (left) for every row.
    ``extra`` adds top-level manifest keys (e.g. ``subject_names``, ``skipped``).
    """
    path = Path(path)
    n = images.shape[0] if hasattr(images, "shape") else 0
    arrays = {
        "images": images,
        "gaze_pitchyaw_rad": gaze_pitchyaw_rad,
        "head_pitchyaw_rad": head_pitchyaw_rad,
        "subject": np.full(n, -1, np.int32) if subject is None else subject,
        "eye": np.zeros(n, np.uint8) if eye is None else eye,
    }
    validate_arrays(arrays, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = path.with_name(f".{path.name}.tmp-{os.getpid()}-{time.time_ns()}")
    tmp_dir.mkdir()
    try:
        for name in FIELDS:
            np.save(tmp_dir / f"{name}.npy", np.ascontiguousarray(arrays[name]))
        write_json_atomic(tmp_dir / "manifest.json", _manifest(arrays, source, options, extra))
        _publish(tmp_dir, path, overwrite)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return open_store(path)


def reuse_store(out: str | Path, options: dict[str, Any], force: bool) -> Store | None:
    """The finished store at ``out`` if it was made with exactly ``options`` (so a re-run does
    nothing) and its files still match its fingerprint (verify.verify_store); None when there is
    none, or with ``force`` (the caller then replaces it).

    The one reuse rule of every ``prepare_*``: a finished store made with other options is
    refused with a one-line StoreError naming it and the options that differ, so a different
    request never silently overwrites finished work.
    """
    if force or not is_store(out):
        return None
    store = open_store(out)
    have = store.manifest.get("options") or {}
    if have == options:
        return verify_store(store)
    differ = ", ".join(
        f"{k}: {have.get(k)!r} -> {options.get(k)!r}"
        for k in sorted(set(have) | set(options))
        if have.get(k) != options.get(k)
    )
    raise StoreError(
        f"{out}: already holds a store made with other options ({differ}); "
        "pass --force (force=True) to replace it"
    )


def is_store(path: str | Path) -> bool:
    """True when ``path`` holds a finished store (its manifest exists)."""
    return (Path(path) / "manifest.json").is_file()


def open_store(path: str | Path, verify_checksum: bool = False) -> Store:
    """Open a store memory-mapped and validate it; raise StoreError naming the store and field."""
    path = Path(path)
    if not path.is_dir():
        raise _fail(path, "no such store directory")
    mpath = path / "manifest.json"
    if not mpath.is_file():
        raise _fail(
            path, "not a store: manifest.json is missing (an unfinished or foreign directory)"
        )
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _fail(mpath, f"unreadable JSON ({e.msg if hasattr(e, 'msg') else e})") from None
    if manifest.get("format") != FORMAT:
        raise _fail(mpath, f"format is {manifest.get('format')!r}, expected {FORMAT!r}")
    n = manifest.get("count")
    if not isinstance(n, int) or n < 0:
        raise _fail(mpath, f"count must be a non-negative integer, got {n!r}")
    arrays = {}
    for name, (dtype, row_shape) in FIELDS.items():
        fpath = path / f"{name}.npy"
        if not fpath.is_file():
            raise _fail(path, f"field {name}: file {fpath.name} is missing")
        try:
            a = np.load(fpath, mmap_mode="r", allow_pickle=False)
        except ValueError as e:
            raise _fail(fpath, f"field {name}: not a readable .npy file ({e})") from None
        if a.dtype != dtype:
            raise _fail(path, f"field {name}: dtype {a.dtype} on disk, expected {dtype}")
        if tuple(a.shape) != (n, *row_shape):
            raise _fail(
                path,
                f"field {name}: shape {tuple(a.shape)} on disk, manifest count {n} "
                f"needs {(n, *row_shape)}",
            )
        arrays[name] = a
    for name in LABEL_FIELDS:
        bad = ~np.isfinite(arrays[name]).all(axis=1)
        if bad.any():
            raise _fail(
                path,
                f"field {name}: {int(bad.sum())} row(s) hold NaN/inf labels "
                f"(first at row {int(np.argmax(bad))})",
            )
    if verify_checksum and _checksum(arrays) != manifest.get("checksum"):
        raise _fail(path, "content checksum does not match the manifest (files changed or corrupt)")
    return Store(path=path, manifest=manifest, **arrays)


def verify_store(store: Store) -> Store:
    """``store`` itself when its files still match its manifest's fingerprint (or, for a store
    written before fingerprints, its full checksum); else a one-line StoreError naming it."""
    recorded = store.manifest.get("fingerprint")
    if not isinstance(recorded, dict) or recorded.get("version") != FINGERPRINT_VERSION:
        return open_store(store.path, verify_checksum=True)
    if recorded.get("sample_rows") != SAMPLE_ROWS:
        raise StoreError(f"{store.path}: fingerprint of another sample size; rebuild the store")
    arrays = {name: getattr(store, name) for name in FIELDS}
    if digest(arrays) != recorded.get("sha256"):
        raise StoreError(
            f"{store.path}: its files changed since it was written (labels or sampled image rows "
            "differ from its manifest's fingerprint); delete it so the next run rebuilds it"
        )
    return store
