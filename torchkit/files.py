"""Small file and hashing helpers shared by every layer (refine/ and benchmarks/); no torch.

:func:`config_hash` is the one hasher of settings: the pipeline's cache keys (through
benchmarks.pipeline.keys.stage_key: work/refiner/<key>-seed<s>/, stores/real/<name>-<key>/,
result rows' stage_key), shard keys and the refiner's config hash all hash :func:`canonical_json`,
so equal settings give equal keys everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """``data`` to ``path`` via a temporary file in the same folder, fsync and rename (never a
    half-written file: a killed writer leaves the old file or none); creates the parent folder.
    The temporary name is unique (mkstemp), so writers of one path in threads or processes
    never share one; it is removed when the write fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """``text`` (UTF-8) to ``path`` atomically, as :func:`write_bytes_atomic`."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, obj: Any) -> None:
    """JSON (indented, newline-terminated) to ``path`` atomically, as :func:`write_text_atomic`."""
    write_text_atomic(path, json.dumps(obj, indent=2) + "\n")


def canonical_json(obj: Any) -> str:
    """The one canonical JSON text of ``obj``: keys sorted, compact separators, non-JSON values
    (paths, numpy scalars) as ``str``. Changing it renames every cache key: don't."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(obj: Any, length: int = 12) -> str:
    """The first ``length`` hex digits (at most 64) of the sha256 of ``canonical_json(obj)``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]
