"""`bench run --protocol strict`: person-disjoint folds, so no refiner sees the people it is
scored on.

The default protocol (transductive, as SimGAN's paper) fits one refiner per seed on every
real-unlabelled image, which in real mode is all of MPIIGaze, test people included. Under
``strict`` the test people are split into K person-disjoint folds (sorted names, dealt round
robin: fold f holds people f, f+K, f+2K, ...). For each fold, every stage that sees unlabelled
target images (the refiners, through their real pool) is fit on the real-unlabelled store minus
that fold's test people, and the rows trained on that fold's refined store predict that fold's
test people only. Rows that see no target image (real-lab, synthetic) are fit once and predict
once. Each refined row's fold predictions are pooled into one predictions file, in test-store
order, holding every test sample exactly once, and scored as one row.

In demo mode the refiner's pool is rendered from another seed than the test people, so removing
a fold's test people from it removes nothing: the fold pools are the whole pool (asserted), and
each fold reuses the one cached refiner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets.store import Store, is_store, open_store, verify_store
from benchmarks.datasets.writer import StoreWriter
from benchmarks.pipeline.cells import Cell, append_finished, fit_cells, pending_cells
from benchmarks.pipeline.keys import StageSpec, stage_key
from benchmarks.pipeline.people import UNKNOWN, people_of, person_names, refiner_view
from benchmarks.pipeline.refiner_stage import refiner_name
from benchmarks.records.rows import error_summary, save_predictions
from estimators.base import UserError

PROTOCOLS = ("transductive", "strict")
CHUNK = 16384  # rows per write of a fold's pool (bounded memory on all of MPIIGaze)


@dataclass(frozen=True)
class Fold:
    """One fold: its index, its test people (names) and their rows of the test store."""

    index: int
    test_people: tuple[str, ...]
    test_idx: np.ndarray  # int64 (m,), ascending rows of the test store


def make_folds(test: Store, k: int) -> list[Fold]:
    """K person-disjoint folds over the test store's people; a UserError when it has fewer than
    K people (asked for K refiners, the run would silently fit fewer)."""
    names = person_names(test)
    unknown = int((names == UNKNOWN).sum())
    if unknown:
        raise UserError(
            f"--protocol strict splits the test set by person, but {unknown:,} test images of "
            f"{test.source} have no person id"
        )
    people = people_of(test)
    if len(people) < 2:
        raise UserError(f"--protocol strict needs 2 or more test people; {test.source} has 1")
    if k > len(people):
        raise UserError(
            f"--folds {k}: the test set ({test.source}) has only {len(people)} people; "
            f"use --folds {len(people)} or fewer"
        )
    folds = []
    for f in range(k):
        mine = tuple(people[f::k])
        folds.append(Fold(f, mine, np.flatnonzero(np.isin(names, mine)).astype(np.int64)))
    return folds


def pool_without(real: Store, people: tuple[str, ...], work_dir: Path) -> Store:
    """The real-unlabelled store minus ``people`` (cached under WORK/stores/strict/); the store
    itself when it holds none of them (demo mode: other people by construction)."""
    keep = np.flatnonzero(~np.isin(person_names(real), list(people)))
    if len(keep) == len(real):
        return real
    if len(keep) == 0:
        raise UserError(f"{real.source}: nothing is left after removing the people {people}")
    key = stage_key("strict-pool", {"without": sorted(people)}, {"real": real.checksum}, None)
    out = work_dir / "stores" / "strict" / f"{real.checksum[7:19]}-without-{key}"
    if not is_store(out):
        kept = [p for p in people_of(real) if p not in people]
        writer = StoreWriter(
            out,
            len(keep),
            source=f"{real.source} without {len(people)} test people",
            key=key,
            options=real.manifest.get("options"),
            # the names travel with the subset, so its people stay comparable with the test's
            extra={
                "subject_names": real.manifest.get("subject_names"),
                "strict_pool": {"parent": real.checksum, "without": list(people), "kept": kept},
            },
        )
        with writer:
            for start in range(writer.n_done, len(keep), CHUNK):
                stop = min(start + CHUNK, len(keep))
                writer.write(start, **real.arrays(keep[start:stop]))
                writer.commit(stop)
            writer.finalize()
    pool = verify_store(open_store(out))  # freshly written or reused: checked either way
    leaked = set(people_of(pool)) & set(people)
    if leaked:  # the one promise of the protocol: checked on every use, not assumed
        raise RuntimeError(f"{out}: the strict pool holds test people {sorted(leaked)}")
    return pool


def merge_fold_predictions(
    results_dir: Path, parts: list[tuple[Fold, str]], n_test: int, out: Path
) -> np.ndarray:
    """Pool each fold's predictions file (``parts``: fold, file relative to results_dir) into
    ``out`` in test-store order; returns the pooled errors, degrees (n_test,). Raises when a
    test sample is predicted other than exactly once."""
    pred = np.zeros((n_test, 2), np.float32)
    true = np.zeros((n_test, 2), np.float32)
    err = np.zeros(n_test, np.float32)
    subject = np.full(n_test, -1, np.int32)
    count = np.zeros(n_test, np.int64)
    for fold, rel in parts:
        with np.load(results_dir / rel) as z:
            pred[fold.test_idx] = z["pred_pitchyaw_rad"]
            true[fold.test_idx] = z["true_pitchyaw_rad"]
            err[fold.test_idx] = z["err_deg"]
            subject[fold.test_idx] = z["subject"]
        np.add.at(count, fold.test_idx, 1)
    if not (count == 1).all():
        raise RuntimeError(
            f"{out.name}: pooled folds predict {int((count == 0).sum())} test samples never "
            f"and {int((count > 1).sum())} more than once"
        )
    save_predictions(out, pred, true, err, subject)
    return err.astype(np.float64)


def strict_seed(
    plan: Any,
    seed: int,
    done: set[str],
    fold_stores: Callable[[Store, str], tuple[dict, dict]],
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """One seed under the strict protocol; returns the rows it appended. ``fold_stores(pool,
    tag)`` -> (stores, refiner descriptions) with every refiner fit on ``pool``."""
    test = plan.sources.stores["test"]
    folds = make_folds(test, plan.opts.folds)
    proto = {"name": "strict", "folds": len(folds)}
    plain = [r for r in plan.rows if refiner_name(r.train, plan.profile) is None]
    target = [r for r in plan.rows if r not in plain]
    appended = []
    base = dict(plan.sources.stores)
    for t, measured in fit_cells(
        plan, pending_cells(plan, base, {}, seed, done, plain, proto), str(test.path), seed
    ):
        appended.append(append_finished(plan, t, measured, seed, log))
    if target:
        appended += _folded_rows(plan, target, folds, seed, done, fold_stores, proto, log)
    if not appended:
        log(f"seed {seed}: every row already scored (cached)")
    return appended


def _folded_rows(plan, target, folds, seed, done, fold_stores, proto, log) -> list[dict]:
    """The refined rows: one fit per fold, each predicting its fold's people, pooled per row."""
    real = plan.sources.stores["real-unlabeled"]
    per_fold = []  # (fold, the target rows' cells on that fold's refiners), rows in target order
    for fold in folds:
        pool = pool_without(real, fold.test_people, plan.work_dir)
        log(f"strict fold {fold.index}: test people {', '.join(fold.test_people)}; "
            f"refiner pool {len(pool):,} of {len(real):,} images")  # fmt: skip
        stores, refiners = fold_stores(pool, f"-fold{fold.index}")
        fold_proto = {**proto, "fold": fold.index, "test_people": list(fold.test_people)}
        cells = pending_cells(plan, stores, refiners, seed, set(), target, fold_proto)
        for c in cells:
            c.test_idx = fold.test_idx
            c.identity.update(refiner_view(pool, list(fold.test_people)))
        per_fold.append((fold, cells))
    pooled, fits = [], []
    for i, r in enumerate(target):
        parts = [(fold, cells[i]) for fold, cells in per_fold]
        fold_keys = [c.identity["stage_key"] for _, c in parts]
        spec = StageSpec("pooled-cell", {"protocol": proto, "folds": fold_keys}, {}, None)
        config, key = spec.to_dict(), spec.key
        if key not in done:
            pooled.append(Cell(r, parts[0][1].train_store, parts[0][1].idx, config, {}))
            pooled[-1].identity = _pooled_identity(parts, key, seed, len(folds))
            fits.append(parts)
    measured: dict[int, dict] = {}  # id(cell) -> its measurements (cells are unhashable)
    owner = {id(c): i for i, parts in enumerate(fits) for _, c in parts}
    left = [len(parts) for parts in fits]
    appended = []
    fold_cells = [c for parts in fits for _, c in parts]
    for c, m in fit_cells(plan, fold_cells, str(plan.sources.stores["test"].path), seed):
        measured[id(c)] = m
        i = owner[id(c)]
        left[i] -= 1
        if left[i] == 0:  # a row is written as soon as all its folds are in
            row_m = _pooled_measure(plan, pooled[i], fits[i], [measured[id(p)] for _, p in fits[i]])
            appended.append(append_finished(plan, pooled[i], row_m, seed, log))
    return appended


def _pooled_identity(parts: list[tuple[Fold, Cell]], key: str, seed: int, k: int) -> dict:
    """A refined row's identity under strict: the first fold's, with the pooled key and what
    every fold's refiner saw."""
    first = parts[0][1].identity
    seen = sorted({p for _, c in parts for p in c.identity["refiner_people"]})
    return {
        **first,
        "stage_key": key,
        "preds_file": f"preds/{first['row_id']}-seed{seed}-{key}.npz",
        "folds": k,
        "train_dataset": first["train_dataset"].split("; refiner")[0]
        + f"; one refiner per fold ({k} folds, each fit without that fold's test people)",
        "refiner_people": seen,  # over all folds; fold_details says which fold saw whom
        "refiner_sees_test_people": any(c.identity["refiner_sees_test_people"] for _, c in parts),
        # the most unlabelled target images any one of the row's refiners saw
        "target_unlabelled_n": max(c.identity["target_unlabelled_n"] for _, c in parts),
        "fold_details": [
            {
                "fold": f.index,
                "test_people": list(f.test_people),
                "n_test": int(len(f.test_idx)),
                "refiner_people": c.identity["refiner_people"],
                "refiner_sees_test_people": c.identity["refiner_sees_test_people"],
                "target_unlabelled_n": c.identity["target_unlabelled_n"],
                "train_dataset": c.identity["train_dataset"],
                "preds_file": c.identity["preds_file"],
            }
            for f, c in parts
        ],
    }


def _pooled_measure(plan: Any, cell: Cell, parts: list, measured: list[dict]) -> dict:
    """The pooled row's measurements: errors over every test sample, times summed over folds."""
    n_test = len(plan.sources.stores["test"])
    out = plan.results_dir / cell.identity["preds_file"]
    rel = [(f, c.identity["preds_file"]) for f, c in parts]
    err = merge_fold_predictions(plan.results_dir, rel, n_test, out)
    return {
        "n_train": measured[0]["n_train"],
        "n_train_used": min(m["n_train_used"] for m in measured),
        "n_test": n_test,
        "fit_s": sum(m["fit_s"] for m in measured),
        "predict_s": sum(m["predict_s"] for m in measured),
        "fit_reused": all(m["fit_reused"] for m in measured),  # False: strict keeps no models
        "numerics": measured[0]["numerics"],
        **error_summary(err),
    }
