"""The (row, seed) cells of a run: which still need fitting, their cache key, and the row each
finished cell appends to rows.jsonl.

A cell's key (benchmarks.pipeline.keys.stage_key, stage "cell") hashes everything that changes its
numbers: the row minus its cosmetic fields, the merged params, n_train, seed, data mode, refiner
and protocol; the train and test stores' checksums; the run's device kind, resolved precision and
row thread count. A re-run skips cells whose key is done. ``plan`` is the run's plan
(``benchmarks.pipeline.run._Plan``).

A cell's *fit key* (stage "fit") hashes what determines its fitted model: the same settings,
inputs and numerics less the test store. Cells that differ only in the people they score (the
same run under ``--eval dev`` and ``--eval test``; ``bench stability --also-test``) share it, so
the later ones load the model the first one fitted (WORK/models/) and score the test people with
the very models frozen on the development people, instead of retraining them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from benchmarks.pipeline.fit_row import fit_predict_row, training_indices
from benchmarks.pipeline.keys import Numerics, StageSpec, row_settings
from benchmarks.pipeline.people import NO_REFINER, people_of, refiner_view
from benchmarks.pipeline.provenance import now_iso, provenance
from benchmarks.pipeline.refiner_stage import refiner_name
from benchmarks.pipeline.suite import SuiteRow, data_seed, profile_config_hash, row_params
from benchmarks.records.rows import SCHEMA, append_row


@dataclass
class Cell:
    """One (row, seed) cell still to fit: its training rows, cache config and identity."""

    row: SuiteRow
    train_store: Any
    idx: Any
    config: dict[str, Any]  # the StageSpec it is keyed by (provenance's config_hash = its key)
    identity: dict[str, Any]
    test_idx: Any = None  # int64 rows of the test store this cell predicts (None: all of them)
    # what its fitted model is keyed by (None: not kept, the cell fits its own; --protocol strict)
    fit_key: str | None = None


def pending_cells(
    plan: Any,
    stores: dict,
    refiners: dict[str, str],
    seed: int,
    done: set[str],
    rows: list[SuiteRow] | None = None,
    protocol: dict[str, Any] | None = None,
) -> list[Cell]:
    """The seed's (row, seed) cells whose result is not in rows.jsonl yet (of ``rows``, default
    the plan's). ``protocol`` (None under the default, transductive one, so its keys never
    moved) joins each cell's key config, e.g. {"name": "strict", "folds": 3}.

    Each cell also gets its fit key (:func:`fit_key`) under the default protocol; under strict
    none, so strict cells never share a model (conservatively: their settings name the fold).
    """
    n_train = plan.profile["train"].get("n_train")
    seed_of_data = data_seed(plan.profile)
    tasks = []
    for r in plan.rows if rows is None else rows:
        train_store = stores[r.train]
        want = None if n_train is None else int(n_train) * r.train_scale
        idx = training_indices(len(train_store), want, seed_of_data, seed)
        params = row_params(r, plan.profile)
        settings = {
            "row": row_settings(r),
            "params": params,
            "n_train": len(idx),
            "seed": seed,
            "data_mode": plan.opts.data_mode,
            "refiner": refiner_name(r.train, plan.profile),
        }
        if protocol is not None:
            settings["protocol"] = protocol
        inputs = {"train": train_store.checksum, "test": stores["test"].checksum}
        requested = plan.opts.precision or params.get("precision")
        numerics = Numerics.resolve(plan.device, requested, plan.row_threads)
        spec = StageSpec("cell", settings, inputs, numerics)
        config, key = spec.to_dict(), spec.key
        if key in done:
            continue
        fit = None if protocol is not None else fit_key(settings, train_store.checksum, numerics)
        identity = row_identity(plan, r, params, train_store, seed, key, refiners.get(r.train))
        identity["fit_key"] = fit
        if refiner_name(r.train, plan.profile) is not None:  # what its refiner's pool held
            identity.update(refiner_view(stores["real-unlabeled"], people_of(stores["test"])))
        tasks.append(Cell(r, train_store, idx, config, identity, fit_key=fit))
    return tasks


def fit_key(settings: dict[str, Any], train_checksum: str, numerics: Numerics) -> str:
    """The key of a cell's fitted model: the cell's ``settings`` (row, params, n_train, seed,
    data mode, refiner, protocol), its training store's checksum and its ``numerics``; not the
    test store, nor the eval split (a row's identity, not its settings). Two cells that score
    other people with the same fit share it, so the second loads the first's model."""
    return StageSpec("fit", settings, {"train": train_checksum}, numerics).key


def model_path(plan: Any, cell: Cell, seed: int) -> str | None:
    """Where a cell's fitted model is kept: WORK/models/<row>-seed<s>-<fit key>.pkl (None: the
    cell has no fit key and keeps none)."""
    if cell.fit_key is None:
        return None
    return str(plan.work_dir / "models" / f"{cell.row.id}-seed{seed}-{cell.fit_key}.pkl")


def fit_cells(
    plan: Any, tasks: list[Cell], test_path: str, seed: int
) -> Iterator[tuple[Cell, dict[str, Any]]]:
    """Fit the cells (in parallel with --jobs, on --backend); yield (cell, measured) as each
    finishes, so the caller can append its row at once."""
    from benchmarks.pipeline.backends import Call, run_cells
    from torchkit.progress import progress_bar

    opts = plan.opts
    calls = [
        Call(
            fit_predict_row,
            (
                t.row.method,
                t.identity["params"],
                str(t.train_store.path),
                t.idx,
                test_path,
                seed,
                str(plan.results_dir / t.identity["preds_file"]),
                plan.row_threads,
                opts.progress and opts.jobs == 1 and opts.backend == "joblib",
                plan.device,
                opts.precision,
                t.test_idx,
                model_path(plan, t, seed),
                t.fit_key,
            ),
        )
        for t in tasks
    ]
    bar = progress_bar(
        total=len(tasks), desc=f"rows (seed {seed})", unit="row", enabled=opts.progress
    )
    for i, measured in run_cells(calls, opts.backend, opts.jobs, plan.row_threads, opts.scheduler):
        bar.update(1)
        yield tasks[i], measured
    bar.close()


def finished_row(
    task: Cell, measured: dict[str, Any], seed: int, command: str | None = None
) -> dict[str, Any]:
    """A cell's identity joined with its measurements and provenance (``command``: the command
    line that made it)."""
    used = measured["numerics"]
    return {
        **task.identity,
        **measured,
        # the device and precision the row's estimator really used, not the requested ones
        "provenance": {
            **provenance(
                task.config,
                used["device"],
                seed,
                task.identity["train_dataset"],
                used.get("precision"),
            ),
            "protocol": task.identity["protocol"],
            "command": command,
        },
        "finished_at": now_iso(),
    }


def row_label(r: SuiteRow, profile: dict[str, Any]) -> str:
    """The row's label, naming the departures from the paper of the SimGAN it trains on (a row
    named after the paper's method says where it runs another)."""
    from benchmarks.pipeline.refiner_stage import SIMGAN_NAMES, simgan_variant_config
    from refine.config import departures

    name = refiner_name(r.train, profile)
    if name not in SIMGAN_NAMES:
        return r.label
    changed = departures(simgan_variant_config(name, profile, 0, "cpu"))
    return f"{r.label} (SimGAN departures: {', '.join(changed)})" if changed else r.label


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
        "label": row_label(r, plan.profile),
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
        # the profile as written + the eval split: what a baseline of these rows records
        "profile_config_hash": profile_config_hash(plan.profile, plan.opts.eval_split),
        # which protocol, and the target-domain (MPIIGaze / demo wild) images the row used:
        # labelled ones never (0 for every Table-1 row); unlabelled ones through its refiner
        "protocol": plan.opts.protocol,
        "folds": None,
        "test_people": people_of(plan.sources.stores["test"]),
        "target_labelled_n": 0,
        **NO_REFINER,
        "stage_key": key,
        "preds_file": f"preds/{r.id}-seed{seed}-{key}.npz",
    }


def append_finished(
    plan: Any, cell: Cell, measured: dict[str, Any], seed: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Append a finished cell's row to rows.jsonl at once (a killed run keeps those done), log
    it, and return it."""
    row = finished_row(cell, measured, seed, plan.opts.command)
    append_row(plan.results_dir, row)
    log_row(cell.row, row, seed, log)
    return row


def log_row(r: SuiteRow, row: dict[str, Any], seed: int, log: Callable[[str], None]) -> None:
    paper = r.paper_err_deg if r.paper_err_deg is not None else "-"
    log(
        f"  {r.id:<20} seed {seed}: {row['err_mean_deg']:6.2f} deg "
        f"(paper {paper}; fit {row['fit_s']:.1f} s)"
    )
