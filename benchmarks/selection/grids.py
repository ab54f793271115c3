"""The search spaces of `bench select`, as data: one :class:`Target` per (estimator, source).

A grid is a list of blocks; each block maps a parameter to the values tried, and expands to the
product of its values in the order written (the first key varies slowest). Ties in the score go
to the config listed first. Every full grid contains the estimator's previous default
(``previous``), so its validation error is reported next to the chosen one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from estimators.base import UserError

Block = dict[str, list[Any]]
HEAD_WEIGHTS = [0.0, 1.0, 10.0, 30.0]


@dataclass(frozen=True)
class Target:
    """One selection: ``estimator`` (registry name) fitted on the ``source`` role's store.

    fixed: parameters held constant for every config (e.g. n_jobs). previous: the defaults in use
    before `bench select` existed (the baseline of the comparison; None where it is not in grid).
    """

    name: str
    estimator: str
    source: str  # "real-lab" or "synthetic": a training role, never "test"
    blocks: list[Block]
    previous: dict[str, Any] | None = None
    fixed: dict[str, Any] = field(default_factory=dict)


def expand(blocks: list[Block]) -> list[dict[str, Any]]:
    """Blocks -> the list of configs, in grid order (duplicates kept once, first place)."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        keys = list(block)
        for values in itertools.product(*(block[k] for k in keys)):
            config = dict(zip(keys, values, strict=True))
            if config not in out:
                out.append(config)
    return out


_KNN: list[Block] = [
    {"feature": ["pixels", "lcn"], "head_weight": HEAD_WEIGHTS, "n_neighbors": [5, 10, 20]},
    # HOG costs ~10x the other features to compute (1,620 values): one k only.
    {"feature": ["hog"], "head_weight": HEAD_WEIGHTS, "n_neighbors": [10]},
]
_KNN_PREVIOUS = {"feature": "lcn", "head_weight": 10.0, "n_neighbors": 10}

FULL: dict[str, Target] = {
    t.name: t
    for t in [
        Target("knn", "knn", "real-lab", _KNN, _KNN_PREVIOUS),
        # sim has no people: a seeded row split (folds.py), which is person-disjoint there.
        Target("knn-synthetic", "knn", "synthetic", _KNN, _KNN_PREVIOUS),
        # SVR standardises its features, so head_weight (a scale) cannot matter: not searched.
        Target(
            "svr",
            "svr",
            "real-lab",
            [{"feature": ["pixels", "lcn"], "C": [0.3, 1.0, 3.0], "epsilon": [0.01, 0.05]}],
            {"feature": "lcn", "C": 1.0, "epsilon": 0.01},
        ),
        Target(
            "rf",
            "rf",
            "real-lab",
            [{"feature": ["pixels", "lcn"], "n_clusters": [8, 16]}],
            {"feature": "pixels", "n_clusters": 16},
        ),
        # Trees are invariant to feature scale: head pose enters unweighted, nothing to search.
        Target(
            "rf-plain",
            "rf-plain",
            "real-lab",
            [
                {"feature": ["lcn"], "n_estimators": [50, 100], "max_features": [0.3, 0.5]},
                {"feature": ["pixels"], "n_estimators": [100], "max_features": [0.5]},
            ],
            {"feature": "lcn", "n_estimators": 100, "max_features": 0.5},
        ),
        Target(
            "alr",
            "alr",
            "real-lab",
            [{"n_neighbors": [32, 48], "epsilon": [0.0003, 0.001]}],
            {"n_neighbors": 48, "epsilon": 0.0003},
        ),
        Target(
            "alr-nnls",
            "alr-nnls",
            "real-lab",
            [{"head_weight": [1.0, 10.0], "n_neighbors": [32, 64]}],
            {"head_weight": 10.0, "n_neighbors": 64},
        ),
    ]
}

# CI size: two configs per target, the previous default first (seconds, not minutes).
TINY: dict[str, Target] = {
    "knn": Target("knn", "knn", "real-lab", [{"n_neighbors": [10, 5]}], {"n_neighbors": 10}),
    "knn-synthetic": Target(
        "knn-synthetic", "knn", "synthetic", [{"n_neighbors": [10, 5]}], {"n_neighbors": 10}
    ),
    "svr": Target("svr", "svr", "real-lab", [{"C": [1.0, 3.0]}], {"C": 1.0}),
}
GRIDS = {"full": FULL, "tiny": TINY}


def pick_targets(grid: str, estimators: list[str] | None) -> list[Target]:
    """The targets of grid ``grid`` whose estimator (or target name) is in ``estimators``
    (None: all). Unknown names raise one-line UserErrors that list the valid ones."""
    if grid not in GRIDS:
        raise UserError(f"unknown grid {grid!r}; choose from {', '.join(GRIDS)}")
    targets = list(GRIDS[grid].values())
    if not estimators:
        return targets
    valid = sorted({t.estimator for t in targets} | {t.name for t in targets})
    unknown = [e for e in estimators if e not in valid]
    if unknown:
        raise UserError(
            f"bench select: no {grid} grid for estimator(s) {', '.join(unknown)}; "
            f"choose from {', '.join(valid)}"
        )
    return [t for t in targets if t.estimator in estimators or t.name in estimators]
