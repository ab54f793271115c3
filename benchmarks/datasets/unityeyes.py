"""UnityEyes renders (a folder of ``N.jpg`` + ``N.json``) -> one store of 36x60 eye patches.

Parallel over cores (one process per core, OpenCV single-threaded in each, JPEGs decoded straight
to grayscale), with a progress bar and ETA. Work is cut into shards of ``shard_size`` pairs in
numeric file order; each finished shard is saved atomically (:mod:`benchmarks.datasets.shards`),
so a killed run resumes with the unfinished shards and a re-run over a finished store returns it
without touching a file. Bad pairs (a jpg without json, an unreadable jpg, a json missing a field,
NaN labels, landmarks outside the image) are skipped and listed in ``<store>.skipped.txt``.
Per-pair conversion: :mod:`benchmarks.datasets.unityeyes_pair`.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import cv2

from benchmarks.datasets.faults import FaultLog
from benchmarks.datasets.shards import ShardDir, stack_fields
from benchmarks.datasets.store import Store, StoreError, reuse_store
from benchmarks.datasets.unityeyes_pair import NEAR_FRONTAL_DEG, PairFault, read_pair
from torchkit.files import config_hash
from torchkit.progress import progress_bar

SOURCE = "unityeyes"
DEFAULT_SHARD_SIZE = 4096
RECIPE = "GazeML crop: 1.5x corner distance -> 60 px, margin-box centre, bilinear, 36x60 gray"


def _numeric_key(stem: str) -> tuple:
    """Sort ``2`` before ``10``; non-numeric stems after all numeric ones, by name."""
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


def list_pairs(root: Path, faults: FaultLog) -> list[str]:
    """Stems having both ``.jpg`` and ``.json`` in ``root``, numerically sorted.

    A jpg without its json (or the reverse) is recorded in ``faults``.
    """
    jpgs, jsons = set(), set()
    with os.scandir(root) as it:
        for entry in it:
            stem, dot, ext = entry.name.rpartition(".")
            if dot and ext == "jpg":
                jpgs.add(stem)
            elif dot and ext == "json":
                jsons.add(stem)
    for stem in sorted(jpgs - jsons, key=_numeric_key):
        faults.add(root / f"{stem}.jpg", "no matching .json label file")
    for stem in sorted(jsons - jpgs, key=_numeric_key):
        faults.add(root / f"{stem}.json", "no matching .jpg image")
    return sorted(jpgs & jsons, key=_numeric_key)


def process_shard(shards: ShardDir, i: int, root: str, stems: list[str], near_frontal: bool):
    """Convert the pairs ``stems`` and save shard ``i``. Returns how many pairs it covered."""
    rows, fault_lines, filtered = [], [], 0
    base = Path(root)
    for stem in stems:
        try:
            row = read_pair(base / f"{stem}.jpg", base / f"{stem}.json", near_frontal)
        except PairFault as e:
            fault_lines.append(str(e))
            continue
        if row is None:
            filtered += 1
        else:
            rows.append(row)
    shards.save(i, stack_fields(rows), fault_lines, {"filtered_out": filtered})
    return len(stems)


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already; OpenCV threads would oversubscribe


def _run_shards(shards, todo, root, chunks, near_frontal, jobs, bar) -> None:
    if jobs <= 1:
        for i in todo:
            bar.update(process_shard(shards, i, root, chunks[i], near_frontal))
        return
    # spawn, not fork: a forked child inherits OpenCV's thread pool mid-state and can deadlock.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker) as pool:
        pending = set()
        queue = list(todo)
        while queue or pending:
            # Keep ~2 shards per worker in flight: bounded memory, workers never idle.
            while queue and len(pending) < 2 * jobs:
                i = queue.pop(0)
                pending.add(pool.submit(process_shard, shards, i, root, chunks[i], near_frontal))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                bar.update(fut.result())


def prepare_unityeyes(
    root: Path,
    out: Path,
    *,
    near_frontal: bool = False,
    jobs: int | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    force: bool = False,
    progress: bool = True,
) -> Store:
    """Prepare the UnityEyes folder ``root`` into the store ``out`` (resumable; see module doc).

    near_frontal: keep only GazeML's near-frontal renders (|head pitch|, |head yaw| <= 20 deg).
    jobs: worker processes (default: every core; 1 runs in this process).
    A finished store made with the same options is returned as is; other options need ``force``.
    """
    root, out = Path(root), Path(out)
    options = {"root": str(root.resolve()), "near_frontal": near_frontal, "recipe": RECIPE}
    if (done := reuse_store(out, options, force)) is not None:
        return done
    if not root.is_dir():
        raise StoreError(f"{root}: UnityEyes folder not found")
    faults = FaultLog()
    stems = list_pairs(root, faults)
    if not stems:
        raise StoreError(
            f"{root}: no UnityEyes pairs (N.jpg + N.json) found ({len(faults)} unpaired files)"
        )
    chunks = [stems[s : s + shard_size] for s in range(0, len(stems), shard_size)]
    key = config_hash({**options, "stems": stems, "shard_size": shard_size, "v": 1}, length=16)
    shards = ShardDir(out, key).open()
    todo = [i for i in range(len(chunks)) if not shards.is_done(i)]
    done_pairs = len(stems) - sum(len(chunks[i]) for i in todo)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    with progress_bar(
        total=len(stems),
        initial=done_pairs,
        desc="unityeyes",
        unit="img",
        enabled=progress,
        smoothing=0.1,
    ) as bar:
        _run_shards(shards, todo, str(root), chunks, near_frontal, jobs, bar)
    extra = {
        "n_pairs": len(stems),
        "near_frontal_limit_deg": NEAR_FRONTAL_DEG if near_frontal else None,
        "note": "subject -1 (synthetic); every render is a left eye (no mirroring)",
    }
    return shards.assemble(
        list(range(len(chunks))),
        source=SOURCE,
        options=options,
        extra=extra,
        faults=faults,
        overwrite=force and out.exists(),
    )
