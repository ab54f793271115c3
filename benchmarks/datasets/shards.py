"""Resumable sharded preparation: work is cut into shards, each saved atomically once finished.

A reader splits its input into shards (e.g. 4,096 UnityEyes pairs, or one UT Multiview person
and part), processes each into store fields and saves ``shard-000123.npz`` in a hidden work
directory next to the target (temp file, then rename: a shard file exists only when whole). A
killed run leaves the finished shards behind; the next run with the same ``key`` skips them and
processes only the rest. :meth:`ShardDir.assemble` then streams the shards, in order, into the
store through :class:`StoreWriter` (itself resumable) and removes the work directory.

A different ``key`` (other input files or options) discards the old shards instead of mixing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from benchmarks.datasets.faults import FaultLog, manifest_entry, write_report
from benchmarks.datasets.store import FIELDS, Store
from benchmarks.datasets.writer import StoreWriter


class ShardDir:
    """The hidden work directory ``.<store>.shards/`` for building the store at ``out``."""

    def __init__(self, out: Path, key: str):
        self.out = Path(out)
        self.key = key
        self.path = self.out.with_name(f".{self.out.name}.shards")

    def open(self) -> ShardDir:
        """Keep shards made under the same key; otherwise start from an empty directory."""
        key_file = self.path / "key.txt"
        if not (key_file.is_file() and key_file.read_text().strip() == self.key):
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir(parents=True)
            key_file.write_text(self.key + "\n")
        return self

    def shard_path(self, i: int) -> Path:
        return self.path / f"shard-{i:06d}.npz"

    def is_done(self, i: int) -> bool:
        return self.shard_path(i).is_file()

    def save(
        self, i: int, arrays: dict[str, np.ndarray], faults: list[str], counts: dict | None = None
    ) -> None:
        """Save shard ``i`` (store fields, its fault lines, extra counts) atomically."""
        tmp = self.path / f".shard-{i:06d}.tmp-{os.getpid()}.npz"
        meta = json.dumps({"faults": faults, "counts": counts or {}})
        np.savez(tmp, **arrays, _meta=np.array(meta))
        os.replace(tmp, self.shard_path(i))

    def load_meta(self, i: int) -> dict:
        with np.load(self.shard_path(i), allow_pickle=False) as z:
            meta = json.loads(str(z["_meta"]))
            meta["n"] = int(z["images"].shape[0]) if "images" in z.files else 0
        return meta

    def load(self, i: int) -> dict[str, np.ndarray]:
        with np.load(self.shard_path(i), allow_pickle=False) as z:
            return {name: z[name] for name in FIELDS}

    def assemble(
        self,
        ids: list[int],
        *,
        source: str,
        options: dict,
        extra: dict,
        faults: FaultLog,
        overwrite: bool = False,
        progress: bool = False,
    ) -> Store:
        """Stream shards ``ids`` in order into the store; add shard faults to ``faults``.

        The manifest gets ``extra``, the skip count/report, and ``counts`` summed over shards.
        Raises StoreError when every input was skipped (nothing to store).
        """
        from benchmarks.datasets.faults import require_some

        metas = [self.load_meta(i) for i in ids]
        for meta in metas:
            faults.extend(meta["faults"])
        sizes = [m["n"] for m in metas]
        counts: dict[str, int] = {}
        for m in metas:
            for k, v in m["counts"].items():
                counts[k] = counts.get(k, 0) + int(v)
        require_some(sum(sizes), Path(options.get("root", self.out)), faults, "images")
        manifest_extra = {**extra, **counts, **manifest_entry(self.out, faults)}
        with StoreWriter(
            self.out,
            sum(sizes),
            source=source,
            key=self.key,
            options=options,
            extra=manifest_extra,
            overwrite=overwrite,
        ) as w:
            start = 0
            for i, k in zip(ids, sizes, strict=True):
                # Commits happen only at shard boundaries, so n_done is always one of them.
                if start + k > w.n_done and k:
                    w.write(start, **self.load(i))
                    w.commit(start + k)
                start += k
            store = w.finalize()
        write_report(self.out, faults)
        shutil.rmtree(self.path, ignore_errors=True)
        return store


def empty_fields() -> dict[str, np.ndarray]:
    """Zero-row store fields (a shard whose every input was skipped)."""
    return {name: np.zeros((0, *shape), dtype) for name, (dtype, shape) in FIELDS.items()}


def stack_fields(rows: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate per-file field dicts (each holding a few rows) into one dict of arrays."""
    if not rows:
        return empty_fields()
    return {
        name: np.concatenate([r[name] for r in rows]).astype(dtype, copy=False)
        for name, (dtype, _) in FIELDS.items()
    }
