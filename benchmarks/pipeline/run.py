"""`bench run`: prepare -> train refiner -> refine -> fit each row -> score, cached and resumable.

Every stage's output is keyed by a hash of its config and its inputs' checksums:
- stores under WORK/stores/ (demo renders or converted datasets),
- the refiner under WORK/refiner/<key>-seed<s>/ (resumes from its last checkpoint after a kill),
- the refined store under WORK/stores/refined/,
- each (row, seed) result as one line in RESULTS/rows.jsonl plus RESULTS/preds/<...>.npz.
A re-run skips every finished piece; a killed run resumes at the stage (and row) where it died.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.pipeline.fit_row import fit_predict_row, training_indices
from benchmarks.pipeline.provenance import config_hash, now_iso, provenance
from benchmarks.pipeline.refiner_stage import (
    copy_refiner_outputs,
    refine_stage,
    refiner_kind,
    train_stage,
)
from benchmarks.pipeline.sources import missing_roots_message, prepare_sources, roles_for
from benchmarks.pipeline.suite import Suite, SuiteRow, row_params
from benchmarks.reporting.results import SCHEMA, append_row, read_rows
from estimators.base import UserError

PIPELINE_VERSION = 1  # bump when a change must invalidate cached row results


@dataclass
class RunOptions:
    data_mode: str = "demo"
    work_dir: Path = Path("work")
    results_dir: Path = Path("results/runs/table1-demo-quick")
    seeds: int | None = None  # None: the profile's
    jobs: int = 1
    device: str = "auto"
    threads: int | None = None  # torch threads (None: all cores); rows get threads // jobs
    precision: str | None = None  # None: each stage's own (the profile's / the estimator's)
    roots: dict[str, str | None] | None = None
    only_rows: list[str] | None = None
    eval_split: str = "test"  # demo only: "dev" scores on development people instead
    progress: bool = True


def selected_rows(suite: Suite, profile: dict[str, Any], only: list[str] | None) -> list[SuiteRow]:
    if only:
        for row_id in only:
            suite.row(row_id)  # raises naming the unknown id
        return [r for r in suite.rows if r.id in only]
    skip = set(profile["rows"].get("skip", []))
    return [r for r in suite.rows if r.id not in skip]


def _done_keys(results_dir: Path) -> set[str]:
    try:
        rows = read_rows(results_dir)
    except FileNotFoundError:
        return set()
    return {r["stage_key"] for r in rows if (results_dir / r.get("preds_file", "?")).is_file()}


def _with_eval_split(profile: dict[str, Any], opts: RunOptions) -> dict[str, Any]:
    if opts.eval_split not in ("test", "dev"):
        raise UserError(f"eval split must be test or dev, not {opts.eval_split!r}")
    if opts.eval_split == "test":
        return profile
    if opts.data_mode != "demo":
        raise UserError(
            "--eval dev exists on the demo domain only; on real data, select on held-out "
            "training people"
        )
    return {**profile, "demo": {**profile["demo"], "eval_split": "dev"}}


def _set_threads(threads: int | None) -> int:
    from torchkit.device import set_threads

    return set_threads(threads)


def _resolve_device(device: str) -> str:
    from torchkit.device import resolve_device

    return resolve_device(device)


def run_suite(
    suite: Suite, profile: dict[str, Any], opts: RunOptions, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Run every selected row for every seed; returns the result rows appended by this call."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    started = time.perf_counter()
    profile = _with_eval_split(profile, opts)
    rows = selected_rows(suite, profile, opts.only_rows)
    seeds = list(range(int(opts.seeds or profile["profile"].get("seeds", 1))))
    device = _resolve_device(opts.device)
    threads = _set_threads(opts.threads)
    work_dir, results_dir = Path(opts.work_dir), Path(opts.results_dir)
    needed_by: dict[str, list[str]] = {}
    for r in rows:
        for role in roles_for({r.train}):
            needed_by.setdefault(role, []).append(r.id)
    roles = set(needed_by)
    if opts.data_mode == "real":  # fail before any work when a dataset root is missing
        msg = missing_roots_message(roles, opts.roots or {}, needed_by)
        if msg:
            raise UserError(msg)
    log(
        f"[{suite.name}] {len(rows)} rows x {len(seeds)} seed(s), data={opts.data_mode}, "
        f"profile={profile['profile']['name']}, device={device}, threads={threads}"
    )
    t0 = time.perf_counter()
    sources = prepare_sources(
        opts.data_mode, profile, work_dir, roles, opts.roots, needed_by, opts.progress
    )
    log(
        f"prepare: {', '.join(f'{k}={len(v):,}' for k, v in sources.stores.items())} "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    n_train = profile["train"].get("n_train")
    data_seed = int(profile["demo"].get("data_seed", 0))
    done = _done_keys(results_dir)
    row_threads = max(1, threads // max(1, opts.jobs))  # rows share the cores of the run
    appended: list[dict[str, Any]] = []
    for seed in seeds:
        stores = dict(sources.stores)
        refiner_run = None
        if any(r.train == "refined" for r in rows):
            t0 = time.perf_counter()
            refiner_run = train_stage(
                stores["synthetic"],
                stores["real-unlabeled"],
                profile,
                seed,
                device,
                work_dir,
                opts.progress,
                log,
                threads=threads,
                precision=opts.precision,
            )
            stores["refined"] = refine_stage(
                refiner_run, stores["synthetic"], work_dir, opts.progress, log, device=device
            )
            copy_refiner_outputs(refiner_run, results_dir / "refiner" / f"seed{seed}")
            log(f"refiner stages for seed {seed}: {time.perf_counter() - t0:.0f} s")
        tasks = []
        for r in rows:
            train_store = stores[r.train]
            want = None if n_train is None else int(n_train) * r.train_scale
            idx = training_indices(len(train_store), want, data_seed, seed)
            params = row_params(r, profile)
            config = {
                "row": r.to_dict(),
                "params": params,
                "train": train_store.checksum,
                "test": stores["test"].checksum,
                "n_train": len(idx),
                "seed": seed,
                "data_mode": opts.data_mode,
                "pipeline": PIPELINE_VERSION,
                "refiner": refiner_kind(profile) if r.train == "refined" else None,
                # float sums (and so the numbers) depend on the thread count
                "threads": row_threads,
            }
            key = config_hash(config)
            if key not in done:
                row = _row_identity(
                    suite, profile, opts, sources, r, params, train_store, seed, key, refiner_run
                )
                tasks.append((r, train_store, idx, config, row))
        if not tasks:
            log(f"seed {seed}: every row already scored (cached)")
            continue
        calls = (
            delayed(fit_predict_row)(
                r.method,
                row["params"],
                str(st.path),
                idx,
                str(stores["test"].path),
                seed,
                str(results_dir / row["preds_file"]),
                row_threads,
                opts.progress and opts.jobs == 1,
                device,
                opts.precision,
            )
            for r, st, idx, _config, row in tasks
        )
        bar = tqdm(
            total=len(tasks), desc=f"rows (seed {seed})", unit="row", disable=not opts.progress
        )
        outputs = Parallel(n_jobs=opts.jobs, return_as="generator")(calls)
        for (r, _st, _idx, config, row), measured in zip(tasks, outputs, strict=True):
            used = measured["numerics"]
            row = {
                **row,
                **measured,
                # the device and precision the row's estimator really used, not the requested
                "provenance": provenance(
                    config, used["device"], seed, row["train_dataset"], used.get("precision")
                ),
                "finished_at": now_iso(),
            }
            append_row(results_dir, row)
            appended.append(row)
            bar.update(1)
            log(
                f"  {r.id:<20} seed {seed}: {row['err_mean_deg']:6.2f} deg "
                f"(paper {r.paper_err_deg if r.paper_err_deg is not None else '-'}; "
                f"fit {row['fit_s']:.1f} s)"
            )
        bar.close()
    log(f"[{suite.name}] done in {time.perf_counter() - started:.0f} s; results in {results_dir}")
    return appended


def _row_identity(
    suite, profile, opts, sources, r: SuiteRow, params, train_store, seed, key, refiner_run
) -> dict[str, Any]:
    """What a result row says about what ran; the measurements and provenance join it later."""
    train_desc = f"{train_store.source} ({len(train_store):,} pool, {train_store.checksum[7:19]})"
    if r.train == "refined":
        train_desc += f"; refiner {refiner_run.name if refiner_run else 'identity'}"
    return {
        "schema": SCHEMA,
        "suite": suite.name,
        "row_id": r.id,
        "label": r.label,
        "method": r.method,
        "params": params,
        "train_source": r.train,
        "train_scale": r.train_scale,
        "train_dataset": train_desc,
        "test_source": sources.describe("test"),
        "rs": r.rs,
        "extra": r.extra,
        "paper_err_deg": r.paper_err_deg,
        "paper_within7_pct": r.paper_within7_pct,
        "seed": seed,
        "data_mode": opts.data_mode,
        "eval_split": opts.eval_split,
        "profile": profile["profile"]["name"],
        "stage_key": key,
        "preds_file": f"preds/{r.id}-seed{seed}-{key}.npz",
    }
