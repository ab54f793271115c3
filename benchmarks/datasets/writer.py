"""Streaming, resumable store writes for stores too large to hold in memory (1.2 M images).

The writer preallocates every field as a ``.npy`` memory map inside ``.<name>.partial/`` next to
the target, fills rows chunk by chunk, and records how many leading rows are final in
``progress.json`` (written atomically after the data is flushed). A killed run leaves the partial
directory behind; a new writer with the same ``key`` picks it up at ``n_done`` and rewrites
nothing before it. ``finalize()`` checks every row was written, adds the manifest and renames the
directory into place, so the target only ever appears complete.

    with StoreWriter(out, n, source="refined:...", key=config_hash) as w:
        for start in range(w.n_done, n, batch):
            w.write(start, images=..., gaze_pitchyaw_rad=..., ...)
            w.commit(start + len(chunk))
        store = w.finalize()
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets.store import (
    FIELDS,
    Store,
    StoreError,
    _manifest,
    _publish,
    open_store,
    validate_arrays,
)
from torchkit.files import write_json_atomic


class StoreWriter:
    """Write a store of ``n`` rows in chunks, resumable after a kill (see module doc)."""

    def __init__(
        self,
        path: str | Path,
        n: int,
        *,
        source: str,
        key: str = "",
        options: dict | None = None,
        extra: dict | None = None,
        overwrite: bool = False,
    ):
        self.path = Path(path)
        self.n = int(n)
        self.source, self.key = source, key
        self.options, self.extra, self.overwrite = options, extra, overwrite
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and not overwrite:
            raise StoreError(
                f"{self.path}: already exists (pass overwrite=True / --force to replace it)"
            )
        self._arrays: dict[str, np.memmap] = {}
        self.n_done = self._open_or_create()

    # -- setup -------------------------------------------------------------------------------
    def _progress_path(self) -> Path:
        return self.partial / "progress.json"

    def _open_or_create(self) -> int:
        ident = {"n": self.n, "source": self.source, "key": self.key}
        prog = self._progress_path()
        if prog.is_file():
            try:
                state = json.loads(prog.read_text())
            except json.JSONDecodeError:
                state = {}
            if {k: state.get(k) for k in ident} == ident:
                try:
                    for name in FIELDS:
                        self._arrays[name] = np.load(self.partial / f"{name}.npy", mmap_mode="r+")
                    return int(state["n_done"])
                except (OSError, ValueError, KeyError):
                    self._arrays.clear()  # damaged partial: start over below
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.mkdir(parents=True)
        for name, (dtype, row_shape) in FIELDS.items():
            self._arrays[name] = np.lib.format.open_memmap(
                self.partial / f"{name}.npy", mode="w+", dtype=dtype, shape=(self.n, *row_shape)
            )
        write_json_atomic(prog, {**ident, "n_done": 0})
        return 0

    # -- writing -----------------------------------------------------------------------------
    def write(self, start: int, **chunk: np.ndarray) -> None:
        """Write rows [start, start + len) of every field. Missing subject/eye default to -1/0."""
        k = len(chunk["images"])
        chunk.setdefault("subject", np.full(k, -1, np.int32))
        chunk.setdefault("eye", np.zeros(k, np.uint8))
        validate_arrays(chunk, f"{self.path} rows {start}..{start + k}")
        if start < 0 or start + k > self.n:
            raise StoreError(f"{self.path}: rows {start}..{start + k} fall outside 0..{self.n}")
        for name, a in chunk.items():
            self._arrays[name][start : start + k] = a

    def commit(self, n_done: int) -> None:
        """Declare the first ``n_done`` rows final: flush data, then record progress atomically."""
        for a in self._arrays.values():
            a.flush()
        self.n_done = int(n_done)
        write_json_atomic(
            self._progress_path(),
            {"n": self.n, "source": self.source, "key": self.key, "n_done": self.n_done},
        )

    def finalize(self) -> Store:
        """Add the manifest and rename into place. Every row must have been committed."""
        if self.n_done != self.n:
            raise StoreError(f"{self.path}: only {self.n_done} of {self.n} rows were written")
        for a in self._arrays.values():
            a.flush()
        arrays = {name: np.load(self.partial / f"{name}.npy", mmap_mode="r") for name in FIELDS}
        validate_arrays(arrays, self.path)
        manifest: dict[str, Any] = _manifest(arrays, self.source, self.options, self.extra)
        self._arrays.clear()
        del arrays
        os.remove(self._progress_path())
        write_json_atomic(self.partial / "manifest.json", manifest)
        _publish(self.partial, self.path, self.overwrite)
        return open_store(self.path)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc) -> None:
        # On error the partial directory stays on purpose: it is what a resume continues from.
        for a in self._arrays.values():
            a.flush()
