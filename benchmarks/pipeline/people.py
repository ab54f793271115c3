"""Who is in a store, by name, so "which real people did the refiner see?" is a set question.

A store's ``subject`` ids are local to how it was made: every demo render numbers its people
0..k-1 whatever its seed, so wild person 3 of ``data_seed`` (the refiner's pool) and wild person 3
of ``data_seed + 1000`` (the test set) are different people with the same id. A person's *name*
joins the id to what made it: the dataset's own name where the store records one (MPIIGaze's
``p03``, the same in its `all` and Evaluation Subset stores) or, for a demo render, domain, render
seed and index (``wild-s1000-p03``). Two stores share a person exactly when they share a name.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

UNKNOWN = ""  # the name of a sample whose person is unknown (subject -1, e.g. synthetic)


def _name_of(manifest: dict[str, Any], subject_id: int) -> str:
    if subject_id < 0:
        return UNKNOWN
    names = manifest.get("subject_names")
    if names and str(subject_id) in names:
        return str(names[str(subject_id)])
    opts = manifest.get("options") or {}
    if "domain" in opts and "seed" in opts:  # a demo render: its people belong to its seed
        return f"{opts['domain']}-s{opts['seed']}-p{subject_id:02d}"
    return f"{manifest.get('source', 'unknown')}-p{subject_id:02d}"


@functools.lru_cache(maxsize=32)
def _store_names(path: str, checksum: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """(per-sample index into the names, int64 (N,); the names), cached per store version."""
    from benchmarks.datasets.store import open_store

    store = open_store(path)
    ids, inverse = np.unique(np.asarray(store.subject), return_inverse=True)
    return inverse.astype(np.int64), tuple(_name_of(store.manifest, int(i)) for i in ids)


def person_names(store: Any) -> np.ndarray:
    """The person name of every sample of ``store``: str array (N,), ``""`` where unknown."""
    inverse, names = _store_names(str(store.path), store.checksum)
    return np.asarray(names, dtype=object)[inverse] if len(inverse) else np.zeros(0, object)


def people_of(store: Any) -> list[str]:
    """The store's people (known ones), sorted by name."""
    _, names = _store_names(str(store.path), store.checksum)
    return sorted(n for n in names if n != UNKNOWN)


# what a row that trains on no refiner says about target images (none seen)
NO_REFINER: dict[str, Any] = {
    "refiner_people": [],
    "refiner_sees_test_people": None,
    "target_unlabelled_n": 0,
}


def refiner_view(pool: Any, predicted_people: list[str]) -> dict[str, Any]:
    """What a refiner fit on ``pool`` (the real-unlabelled store) saw, for a row that predicts
    ``predicted_people``: the pool's people, whether any of them is one the row predicts, and
    the pool's size (unlabelled target-domain images)."""
    seen = people_of(pool)
    return {
        "refiner_people": seen,
        "refiner_sees_test_people": bool(set(seen) & set(predicted_people)),
        "target_unlabelled_n": len(pool),
    }
