"""Is a finished store still what its manifest says? Checked every time a stage reuses one.

A store's key says what *made* it; nothing said its files still hold that: zeroing half of a
store's images in place kept its key and its manifest checksum, and silently changed results.
The full content checksum (``open_store(verify_checksum=True)``) answers exactly, but reads every
byte: minutes for 1.2 M UnityEyes images, every run. So a store records a *fingerprint* at write
time (:func:`fingerprint`, in the manifest) and :func:`verify_store` recomputes it on reuse:

- **every label byte** (gaze, head pose, subject, eye: 21 bytes a row, 25 MB for 1.2 M rows,
  well under a second): a changed label changes every number trained on it, and labels are
  where a one-row edit would matter;
- **a fixed sample of image rows**: :data:`SAMPLE_ROWS` rows evenly spaced from the first to
  the last (always including both), so any damage to a contiguous block larger than N / 1024
  rows (a truncated copy, a zeroed half, a stale chunk of a resumed write) is caught. It reads
  about 2 MB of images whatever the store's size;
- **sizes**: ``open_store`` already refuses a field file whose shape disagrees with the count.

File mtimes are not used: copying a work dir changes them without changing a byte, so they would
refuse good stores. What the sample cannot see is an edit confined to unsampled image rows; for
that, the exact check reads every byte (``open_store(verify_checksum=True)``). A store written
before fingerprints existed is verified in full on each reuse (exact, slower).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

SAMPLE_ROWS = 1024  # image rows hashed by a fingerprint (evenly spaced; first and last included)
FINGERPRINT_VERSION = 1
_LABELS = ("gaze_pitchyaw_rad", "head_pitchyaw_rad", "subject", "eye")


def sample_rows(n: int) -> np.ndarray:
    """The image rows a fingerprint hashes: ascending, unique, int64."""
    if n == 0:
        return np.zeros(0, np.int64)
    return np.unique(np.linspace(0, n - 1, min(n, SAMPLE_ROWS)).round().astype(np.int64))


def digest(arrays: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for name in _LABELS:
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name]).tobytes())
    images = arrays["images"]
    h.update(b"images")
    h.update(np.ascontiguousarray(images[sample_rows(len(images))]).tobytes())
    return "sha256:" + h.hexdigest()


def fingerprint(arrays: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``fingerprint`` entry of a store's arrays (see the module doc)."""
    return {"version": FINGERPRINT_VERSION, "sample_rows": SAMPLE_ROWS, "sha256": digest(arrays)}
