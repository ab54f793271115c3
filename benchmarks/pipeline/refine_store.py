"""The one writer of refined stores: a store with every image replaced by a refiner's output.

:func:`write_refined_store` streams any registered refiner's ``transform`` over a store a chunk
at a time into a :class:`~benchmarks.datasets.writer.StoreWriter`, so memory stays bounded for
1.2 M images and a killed run continues at its last commit. Labels, head pose, subject and
eye are copied untouched. The manifest's ``refiner`` entry carries the output's key, so a
partial output is only ever continued, and a finished one only reused, by the same refiner from
the same input.

:func:`refine_store` applies a finished SimGAN run directory (`bench refine apply`, the
pipeline's SimGAN stage, `bench perf --scale`); its key names the run's config hash, the
refiner weights' sha256 and the input store's checksum. Other refiners are fitted and written by
``benchmarks.pipeline.refiner_fit``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets.store import Store, StoreError, is_store, open_store, verify_store
from benchmarks.datasets.writer import StoreWriter
from estimators.base import UserError
from refine.registry import checked_transform, get_refiner_class

LABELS = ("gaze_pitchyaw_rad", "head_pitchyaw_rad", "subject", "eye")  # copied untouched
CHUNK = 4096  # images per transform() call and per resumable commit
COMMIT_ROWS = 8192  # a SimGAN run's rows between commits (each flushes the memory maps)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def refiner_identity(run_dir: Path, input_store: Store) -> dict[str, str]:
    """What a refined store is a function of: the run's config and weights, and the input."""
    from refine.config import RefinerConfig
    from refine.train import is_complete

    run_dir = Path(run_dir)
    if not is_complete(run_dir):
        raise UserError(
            f"{run_dir}: refiner run is not complete (no complete.json); train it first"
        )
    config = RefinerConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    return {
        "run_dir": str(run_dir),
        "config_hash": config.config_hash(),
        "weights_sha256": _file_sha256(run_dir / "refiner.pt"),
        "input_store": str(input_store.path),
        "input_checksum": input_store.checksum,
    }


def finished_refined_store(out: Path, key: str) -> Store | None:
    """The finished store at ``out`` when it was refined with ``key`` (verified), None when
    there is none; one refined otherwise is refused (StoreError)."""
    if not is_store(out):
        return None
    done = open_store(out)
    if done.manifest.get("refiner", {}).get("key") == key:
        return verify_store(done)
    raise StoreError(f"{out}: already exists and was not refined by this run from this input")


def write_refined_store(
    refiner: Any,
    name: str,
    src: Store,
    out: str | Path,
    meta: dict[str, Any],
    *,
    source: str,
    options: dict[str, Any] | None = None,
    chunk: int = CHUNK,
    commit_rows: int | None = None,
    progress: bool = False,
) -> Store:
    """Write ``out``: ``src`` with every image replaced by ``refiner.transform(image)`` (checked:
    (n, 36, 60) uint8, no NaN), ``chunk`` images per call, committed (a resume point) once at
    least ``commit_rows`` rows (default: ``chunk``) are new, and at the end.

    ``meta`` is the manifest's ``refiner`` entry and must hold the output's ``key``; ``source``
    and ``options`` are the manifest's. A finished output with that key is returned as it is, a
    partial one continued; one with another key is refused (StoreError)."""
    out, key = Path(out), meta["key"]
    commit_rows = chunk if commit_rows is None else commit_rows
    done = finished_refined_store(out, key)
    if done is not None:
        return done
    n = len(src)
    writer = StoreWriter(out, n, source=source, key=key, options=options, extra={"refiner": meta})
    bar = None
    if progress:
        from torchkit.progress import progress_bar

        bar = progress_bar(total=n, initial=writer.n_done, desc="refine", unit="img")
    with writer:
        committed = writer.n_done
        for start in range(writer.n_done, n, chunk):
            stop = min(start + chunk, n)
            images = np.ascontiguousarray(src.images[start:stop])
            refined = checked_transform(refiner, name, images)
            labels = {f: np.asarray(getattr(src, f)[start:stop]) for f in LABELS}
            writer.write(start, images=refined, **labels)
            if stop - committed >= commit_rows or stop == n:
                writer.commit(stop)
                committed = stop
            if bar is not None:
                bar.update(stop - start)
        if bar is not None:
            bar.close()
        return writer.finalize()


def refine_store(
    run_dir: str | Path,
    input_store_path: str | Path,
    out_path: str | Path,
    *,
    batch_size: int = 256,
    device: str = "auto",
    progress: bool = True,
) -> Store:
    """Write ``out_path``: the input store with every image replaced by R(image), R the trained
    refiner of the SimGAN run ``run_dir``, ``batch_size`` images per forward pass.

    An existing finished output made by the same refiner from the same input is returned as it
    is; one made otherwise is refused (StoreError). A partial output left by a killed run with
    the same refiner and input is continued.
    """
    src = open_store(input_store_path)
    ident = refiner_identity(Path(run_dir), src)
    key = f"{ident['config_hash']}|{ident['weights_sha256']}|{ident['input_checksum']}"
    done = finished_refined_store(Path(out_path), key)
    if done is not None:
        return done
    refiner = get_refiner_class("simgan").from_run(run_dir, device, batch_size)
    meta = {**ident, "key": key, "input_hw": list(refiner.refiner_.input_hw)}
    return write_refined_store(
        refiner,
        "simgan",
        src,
        out_path,
        meta,
        source=f"refined:{src.source}",
        options={"batch_size": batch_size},
        chunk=batch_size,  # one batch per call: the bar moves by batches
        commit_rows=COMMIT_ROWS,
        progress=progress,
    )
