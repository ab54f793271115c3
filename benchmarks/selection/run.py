"""What `bench select` does: open the training stores, search each target, write the tables.

Stores come from the pipeline's own demo renderer and cache (``prepare_sources``, the profile's
``data_seed`` and sizes), asked for the training roles only, or from ``--*-store`` paths; a
store from a test domain (demo ``wild``, MPIIGaze) is refused before anything is fitted.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

from benchmarks.datasets.store import Store, open_store
from benchmarks.selection.folds import make_folds
from benchmarks.selection.grids import Target, expand
from benchmarks.selection.search import choose, find, search
from benchmarks.selection.writer import Outcome, write_outputs
from estimators.base import EyeData, UserError
from estimators.features import subsample_rows
from torchkit.files import config_hash

TRAINING_ROLES = ("real-lab", "synthetic")
TEST_SOURCES = ("demo:wild", "mpiigaze")  # target-domain stores: labels we must not select on


def check_training_store(store: Store, role: str) -> Store:
    """Refuse a target-domain store for selection (one-line UserError naming it)."""
    if store.source.startswith(TEST_SOURCES):
        raise UserError(
            f"{store.path}: source {store.source!r} is a test-domain store; bench select "
            f"reads only training sources ({role} here), never target labels"
        )
    return store


def open_training_stores(
    roles: set[str],
    profile: dict[str, Any],
    work_dir: Path,
    paths: dict[str, Path | None],
    progress: bool,
) -> dict[str, Store]:
    """role -> store: the given path where there is one, else the demo store the pipeline renders
    for that role (only training roles are ever asked for)."""
    unknown = roles - set(TRAINING_ROLES)
    if unknown:
        raise UserError(f"bench select reads training roles only, not {', '.join(sorted(unknown))}")
    out = {r: open_store(p) for r, p in paths.items() if r in roles and p is not None}
    render = roles - set(out)
    if render:
        from benchmarks.pipeline.sources import prepare_sources

        out.update(prepare_sources("demo", profile, work_dir, render, progress=progress).stores)
    return {r: check_training_store(s, r) for r, s in out.items()}


def _device() -> str:
    return f"cpu ({platform.machine()}, {os.cpu_count()} cores, scikit-learn {sklearn.__version__})"


def run_selection(
    targets: list[Target],
    stores: dict[str, Store],
    out_dir: Path,
    *,
    n_rows: int,
    n_folds: int,
    seed: int,
    data_seed: int | None,
    command: str,
    log: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Search every target on a seeded ``n_rows`` subset of its store; write out_dir's files.

    seed: draws the subset, shuffles a row split and is every estimator's random_state.
    """
    from benchmarks.pipeline.provenance import git_info

    git = git_info()  # the checkout as it was when the search started (edits after do not count)
    outcomes = []
    for t in targets:
        store = stores[t.source]
        rows = subsample_rows(len(store), n_rows, seed)
        X = EyeData(np.asarray(store.images[rows]), np.asarray(store.head_pitchyaw_rad[rows]))
        y = np.asarray(store.gaze_pitchyaw_rad[rows], np.float64)
        folds = make_folds(np.asarray(store.subject[rows]), len(rows), n_folds, seed)
        if log:
            log(f"{t.name}: {t.estimator} on {store.source}, {len(rows)} rows, {folds.describe()}")
        results = search(t.estimator, expand(t.blocks), X, y, folds, t.fixed, seed, log)
        data = f"{store.source}, {len(rows):,} of {len(store):,} rows, {store.checksum[:19]}"
        outcomes.append(
            Outcome(t, results, choose(results), find(results, t.previous), folds, data)
        )
    settings = {
        "targets": {t.name: [t.estimator, t.source, t.blocks, t.fixed] for t in targets},
        "n_rows": n_rows, "n_folds": n_folds, "seed": seed, "data_seed": data_seed,
        "stores": {r: s.checksum for r, s in sorted(stores.items())},
    }  # fmt: skip
    provenance = {
        "git_sha": git["git_sha"],
        "git_dirty": git["git_dirty"],
        "config_hash": config_hash(settings),
        "data_seed": data_seed,
        "fold_seed": seed,
        "data_source": "; ".join(
            f"{r}: {s.source} {s.checksum[:19]}" for r, s in sorted(stores.items())
        ),
        "device": _device(),
    }
    write_outputs(out_dir, outcomes, provenance, command)
    return outcomes
