"""Refine a whole store through a trained SimGAN refiner, streaming and resumable.

Images go through ``refine.apply.iter_refined`` a batch at a time and into a
:class:`~benchmarks.datasets.writer.StoreWriter`, so memory stays bounded for 1.2 M images and a
killed run continues at the last committed row. Labels, head pose, subject and eye are copied
untouched. The writer's resume key (and the manifest's ``refiner`` entry) names the run's config
hash, the refiner weights' sha256 and the input store's checksum, so a partial output is only
ever continued with the same refiner and input.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from benchmarks.datasets.store import Store, StoreError, is_store, open_store
from benchmarks.datasets.verify import verify_store
from benchmarks.datasets.writer import StoreWriter
from estimators.base import UserError
from refine.apply import iter_refined, load_refiner

LABELS = ("gaze_pitchyaw_rad", "head_pitchyaw_rad", "subject", "eye")  # copied untouched
COMMIT_ROWS = 8192  # rows between progress commits (each flushes the memory maps)


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


def refine_store(
    run_dir: str | Path,
    input_store_path: str | Path,
    out_path: str | Path,
    *,
    batch_size: int = 256,
    device: str = "auto",
    progress: bool = True,
) -> Store:
    """Write ``out_path``: the input store with every image replaced by R(image).

    An existing finished output made by the same refiner from the same input is returned as it
    is; one made otherwise is refused (StoreError). A partial output left by a killed run with
    the same refiner and input is continued.
    """
    src = open_store(input_store_path)
    ident = refiner_identity(Path(run_dir), src)
    key = f"{ident['config_hash']}|{ident['weights_sha256']}|{ident['input_checksum']}"
    out_path = Path(out_path)
    if is_store(out_path):
        done = open_store(out_path)
        if done.manifest.get("refiner", {}).get("key") == key:
            return verify_store(done)
        raise StoreError(
            f"{out_path}: already exists and was not refined by this run from this input"
        )
    refiner = load_refiner(run_dir, device)
    n = len(src)
    writer = StoreWriter(
        out_path,
        n,
        source=f"refined:{src.source}",
        key=key,
        options={"batch_size": batch_size},
        extra={"refiner": {**ident, "key": key, "input_hw": list(refiner.input_hw)}},
    )
    bar = None
    if progress:
        from torchkit.progress import progress_bar

        bar = progress_bar(total=n, initial=writer.n_done, desc="refine", unit="img")
    with writer:
        committed = writer.n_done
        for start, refined in iter_refined(
            refiner, src.images, start=writer.n_done, batch_size=batch_size, device=device
        ):
            stop = start + len(refined)
            labels = {name: np.asarray(getattr(src, name)[start:stop]) for name in LABELS}
            writer.write(start, images=refined, **labels)
            if stop - committed >= COMMIT_ROWS or stop == n:
                writer.commit(stop)
                committed = stop
            if bar is not None:
                bar.update(len(refined))
        if bar is not None:
            bar.close()
        return writer.finalize()
