"""The (row, seed) cells of a run: which still need fitting, their cache key, and the row each
finished cell appends to rows.jsonl.

A cell's key hashes everything that changes its numbers (row, params, input checksums, n_train,
seed, data mode, refiner, thread count, PIPELINE_VERSION); a re-run skips cells whose key is done.
``plan`` is the run's plan (``benchmarks.pipeline.run._Plan``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.pipeline.fit_row import training_indices
from benchmarks.pipeline.provenance import config_hash, now_iso, provenance
from benchmarks.pipeline.refiner_stage import refiner_name
from benchmarks.pipeline.suite import SuiteRow, data_seed, row_params
from benchmarks.reporting.results import SCHEMA

PIPELINE_VERSION = 2  # bump when a change must invalidate cached row results
# 2: CPU "auto" precision became fp32 (rows cached as bf16 under the same params must not count)


@dataclass
class Cell:
    """One (row, seed) cell still to fit: its training rows, cache config and identity."""

    row: SuiteRow
    train_store: Any
    idx: Any
    config: dict[str, Any]
    identity: dict[str, Any]


def pending_cells(
    plan: Any, stores: dict, refiners: dict[str, str], seed: int, done: set[str]
) -> list[Cell]:
    """The seed's (row, seed) cells whose result is not in rows.jsonl yet."""
    n_train = plan.profile["train"].get("n_train")
    seed_of_data = data_seed(plan.profile)
    tasks = []
    for r in plan.rows:
        train_store = stores[r.train]
        want = None if n_train is None else int(n_train) * r.train_scale
        idx = training_indices(len(train_store), want, seed_of_data, seed)
        params = row_params(r, plan.profile)
        config = {
            "row": r.to_dict(),
            "params": params,
            "train": train_store.checksum,
            "test": stores["test"].checksum,
            "n_train": len(idx),
            "seed": seed,
            "data_mode": plan.opts.data_mode,
            "pipeline": PIPELINE_VERSION,
            "refiner": refiner_name(r.train, plan.profile),
            # float sums (and so the numbers) depend on the thread count
            "threads": plan.row_threads,
        }
        key = config_hash(config)
        if key in done:
            continue
        identity = row_identity(plan, r, params, train_store, seed, key, refiners.get(r.train))
        tasks.append(Cell(r, train_store, idx, config, identity))
    return tasks


def finished_row(task: Cell, measured: dict[str, Any], seed: int) -> dict[str, Any]:
    """A cell's identity joined with its measurements and provenance."""
    used = measured["numerics"]
    return {
        **task.identity,
        **measured,
        # the device and precision the row's estimator really used, not the requested ones
        "provenance": provenance(
            task.config, used["device"], seed, task.identity["train_dataset"], used.get("precision")
        ),
        "finished_at": now_iso(),
    }


def row_identity(
    plan: Any, r: SuiteRow, params, train_store, seed: int, key: str, refiner: str | None
) -> dict[str, Any]:
    """What a result row says about what ran; the measurements and provenance join it later.
    ``refiner``: the description of the row's refiner (None: the row trains on no refiner)."""
    train_desc = f"{train_store.source} ({len(train_store):,} pool, {train_store.checksum[7:19]})"
    if refiner is not None:
        train_desc += f"; refiner {refiner}"
    return {
        "schema": SCHEMA,
        "suite": plan.suite.name,
        "row_id": r.id,
        "label": r.label,
        "method": r.method,
        "params": params,
        "train_source": r.train,
        "refiner": refiner_name(r.train, plan.profile),
        "train_scale": r.train_scale,
        "train_dataset": train_desc,
        "test_source": plan.sources.describe("test"),
        "rs": r.rs,
        "extra": r.extra,
        "paper_err_deg": r.paper_err_deg,
        "paper_within7_pct": r.paper_within7_pct,
        "seed": seed,
        "data_mode": plan.opts.data_mode,
        "eval_split": plan.opts.eval_split,
        "profile": plan.profile["profile"]["name"],
        "stage_key": key,
        "preds_file": f"preds/{r.id}-seed{seed}-{key}.npz",
    }
