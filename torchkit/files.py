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
from pathlib import Path
from typing import Any


def write_text_atomic(path: Path, text: str) -> Path:
    """``text`` to ``path`` via a temporary file, fsync and rename (never a half-written file);
    creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


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
