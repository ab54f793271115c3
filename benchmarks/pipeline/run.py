"""`bench run`: prepare -> train refiner -> refine -> fit each row -> score, cached and resumable.

Every stage's output is keyed by benchmarks.pipeline.keys.stage_key (its resolved settings, its
inputs' checksums, the numerics: device kind, precision, threads; a per-stage code version):
- stores under WORK/stores/ (demo renders or converted datasets),
- SimGAN's run under WORK/refiner/<key>-seed<s>/ (resumes from its last checkpoint after a kill),
  any other refiner's fit under WORK/refiner/<name>-<key>-seed<s>/,
- each refiner's refined store under WORK/stores/refined/ (one per refiner a row names),
- each (row, seed) cell's fitted model under WORK/models/, keyed without the test store: a run
  that scores other people (--eval test after --eval dev) loads the models instead of refitting,
- each (row, seed) result as one line in RESULTS/rows.jsonl plus RESULTS/preds/<...>.npz.
A re-run skips every finished piece; a killed run resumes at the stage (and row) where it died.
One run at a time holds --work and --results (benchmarks/pipeline/lock.py); a second one waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.pipeline.cells import Cell, append_finished, fit_cells, pending_cells
from benchmarks.pipeline.protocol import PROTOCOLS
from benchmarks.pipeline.refiner_stage import (
    SIMGAN_NAMES,
    copy_fit_summary,
    copy_refiner_outputs,
    refine_stage,
    refiner_kind,
    refiner_name,
    resolved_refiner_config,
    train_stage,
)
from benchmarks.pipeline.sources import missing_roots_message, prepare_sources, roles_for
from benchmarks.pipeline.suite import Suite, SuiteRow
from benchmarks.records.rows import read_rows
from estimators.base import UserError
from torchkit.files import write_json_atomic


@dataclass
class RunOptions:
    data_mode: str = "demo"
    work_dir: Path = Path("work")
    results_dir: Path = Path("results/runs/table1-demo-quick")
    seeds: int | None = None  # None: the profile's
    jobs: int = 1
    device: str = "auto"
    threads: int | None = None  # torch threads (None: all cores); see resolved_threads
    row_threads: int | None = None  # torch threads per (row, seed) cell (None: = threads)
    backend: str = "joblib"  # where cells run: benchmarks.pipeline.backends.BACKENDS
    scheduler: str | None = None  # dask scheduler address (None: a LocalCluster of --jobs workers)
    precision: str | None = None  # None: each stage's own (the profile's / the estimator's)
    roots: dict[str, str | None] | None = None
    only_rows: list[str] | None = None
    eval_split: str = "test"  # demo only: "dev" scores on development people instead
    progress: bool = True
    audit: bool = True  # check label conventions of the training stores before fitting rows
    # transductive: one refiner per seed on all real-unlabelled images (the paper's protocol);
    # strict: person-disjoint folds over the test people (benchmarks/pipeline/protocol.py)
    protocol: str = "transductive"
    folds: int = 3  # strict only: person-disjoint folds of the test people
    wait: bool = True  # another run holds --work / --results: wait for it (False: stop)
    command: str | None = None  # the command line, recorded in every row's provenance


ALL_ROWS = "all"  # `--rows all`: every row of the suite, extra ones too


def selected_rows(suite: Suite, profile: dict[str, Any], only: list[str] | None) -> list[SuiteRow]:
    """The rows a run fits, in suite order. By default (``only`` empty) the suite's own rows:
    those not marked ``extra``, less the profile's ``[rows] skip``. ``only`` lists row ids and/or
    ``"all"``: "all" is every row, extra ones too, still less the skip list (a profile skips a
    row for its cost); a row named by its id always runs, extra or skipped. So ``--rows all``
    keeps a profile's skip and ``--rows all,ID`` adds a skipped row back."""
    only = list(only or [])
    named = [i for i in only if i != ALL_ROWS]
    for row_id in named:
        suite.row(row_id)  # raises naming the unknown id
    skip = set(profile["rows"].get("skip", []))
    if not only:
        wanted = {r.id for r in suite.rows if not r.extra and r.id not in skip}
    else:
        wanted = set(named)
        if ALL_ROWS in only:
            wanted |= {r.id for r in suite.rows if r.id not in skip}
    rows = [r for r in suite.rows if r.id in wanted]
    if not rows:
        raise UserError(
            f"suite {suite.name}: no rows to run (each is extra or in the profile's [rows] skip); "
            f"--rows all runs the extra rows, --rows ID,... names rows to run"
        )
    return rows


def _extra_rows_left_out(suite: Suite, profile: dict[str, Any], rows: list[SuiteRow]) -> int:
    """How many more rows --rows all would run than a default run's ``rows`` (no --rows)."""
    return len(selected_rows(suite, profile, [ALL_ROWS])) - len(rows)


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


def resolved_threads(threads: int | None, row_threads: int | None) -> tuple[int, int]:
    """(the run's torch threads: refiner, refining; each (row, seed) cell's), decided here once
    for every backend and every --jobs. A cell gets ``row_threads``, else the run's count (all
    cores unless ``threads``), never the run's count divided by --jobs: the count changes a torch
    row's numbers and is in its key, so a serial, a --jobs N and a dask run make the same rows.
    Parallel cells then share the cores (oversubscribed); ``row_threads`` = threads // jobs
    avoids that, at the price of other numbers (other keys) than a serial run's."""
    import os

    n = int(threads) if threads else (os.cpu_count() or 1)
    return n, int(row_threads) if row_threads else n


def _set_threads(threads: int) -> int:
    from torchkit.device import set_threads

    return set_threads(threads)


def _resolve_device(device: str) -> str:
    from torchkit.device import resolve_device

    try:
        return resolve_device(device)
    except (ValueError, RuntimeError) as e:  # a name torch does not know, a GPU that is not there
        raise UserError(f"--device {device}: {e}") from None


@dataclass
class _Plan:
    """What one `bench run` call works on, resolved once before any row is fitted."""

    suite: Suite
    profile: dict[str, Any]
    opts: RunOptions
    rows: list[SuiteRow]
    seeds: list[int]
    device: str
    threads: int
    row_threads: int
    work_dir: Path
    results_dir: Path
    sources: Any = None  # benchmarks.pipeline.sources.Sources once prepared


def run_suite(
    suite: Suite, profile: dict[str, Any], opts: RunOptions, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Run every selected row for every seed; returns the result rows appended by this call."""
    from benchmarks.pipeline.lock import dir_lock

    started = time.perf_counter()
    plan = _plan(suite, profile, opts, log)
    # one run at a time per work and per results directory (a second one waits); work first,
    # always, so two runs never hold one each while waiting for the other
    with (
        dir_lock(plan.work_dir, "work", log, opts.wait),
        dir_lock(plan.results_dir, "results", log, opts.wait),
    ):
        appended = _run_locked(plan, log)
    log(
        f"[{suite.name}] done in {time.perf_counter() - started:.0f} s; results in {opts.results_dir}"
    )
    return appended


def _run_locked(plan: _Plan, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Prepare, then every seed's refiners and cells (under the run's directory locks)."""
    suite, opts = plan.suite, plan.opts
    _prepare(plan, log)
    # the report's title, order and file names travel with the results, not the suite's path
    plan.results_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(plan.results_dir / "suite.json", suite.report_info())
    done = _done_keys(plan.results_dir)
    appended: list[dict[str, Any]] = []
    for seed in plan.seeds:
        if opts.protocol == "strict":
            from benchmarks.pipeline.protocol import strict_seed

            def fold_stores(real, tag, seed=seed):
                return _seed_stores(plan, seed, log, real, tag)

            appended += strict_seed(plan, seed, done, fold_stores, log)
            continue
        stores, refiners = _seed_stores(plan, seed, log)
        tasks = pending_cells(plan, stores, refiners, seed, done)
        if not tasks:
            log(f"seed {seed}: every row already scored (cached)")
            continue
        appended += _fit_tasks(plan, tasks, stores, seed, log)
    return appended


def _plan(
    suite: Suite, profile: dict[str, Any], opts: RunOptions, log: Callable[[str], None]
) -> _Plan:
    """Resolve rows, seeds, device and threads; fail before any work on a missing dataset root."""
    profile = _with_eval_split(profile, opts)
    if opts.protocol not in PROTOCOLS:
        raise UserError(f"protocol must be {' or '.join(PROTOCOLS)}, not {opts.protocol!r}")
    if opts.protocol == "strict" and opts.folds < 2:
        raise UserError(f"--protocol strict needs --folds 2 or more, not {opts.folds}")
    rows = selected_rows(suite, profile, opts.only_rows)
    seeds = list(range(int(opts.seeds or profile["profile"].get("seeds", 1))))
    device = _resolve_device(opts.device)
    threads, row_threads = resolved_threads(opts.threads, opts.row_threads)
    _set_threads(threads)
    plan = _Plan(
        suite=suite,
        profile=profile,
        opts=opts,
        rows=rows,
        seeds=seeds,
        device=device,
        threads=threads,
        row_threads=row_threads,  # the same under every backend and --jobs
        work_dir=Path(opts.work_dir),
        results_dir=Path(opts.results_dir),
    )
    if opts.data_mode == "real":  # fail before any work when a dataset root is missing
        needed_by = _needed_by(rows)
        msg = missing_roots_message(set(needed_by), opts.roots or {}, needed_by)
        if msg:
            raise UserError(msg)
    left_out = 0 if opts.only_rows else _extra_rows_left_out(suite, profile, rows)
    log(
        f"[{suite.name}] {len(rows)} rows"
        + (f" ({left_out} extra rows not run: --rows all)" if left_out else "")
        + f" x {len(seeds)} seed(s), data={opts.data_mode}, "
        f"profile={profile['profile']['name']}, protocol={opts.protocol}, device={device}, "
        f"threads={threads}, "
        f"cells on {opts.backend} ({opts.jobs} at a time, {plan.row_threads} threads each)"
    )
    return plan


def _needed_by(rows: list[SuiteRow]) -> dict[str, list[str]]:
    """Data role -> ids of the rows that need it (names rows in a missing-root error)."""
    needed_by: dict[str, list[str]] = {}
    for r in rows:
        for role in roles_for({r.train}):
            needed_by.setdefault(role, []).append(r.id)
    return needed_by


def _prepare(plan: _Plan, log: Callable[[str], None]) -> None:
    """Build (or reuse) every store the selected rows need."""
    t0 = time.perf_counter()
    needed_by = _needed_by(plan.rows)
    opts = plan.opts
    plan.sources = prepare_sources(
        opts.data_mode,
        plan.profile,
        plan.work_dir,
        set(needed_by),
        opts.roots,
        needed_by,
        opts.progress,
    )
    sizes = ", ".join(f"{k}={len(v):,}" for k, v in plan.sources.stores.items())
    log(f"prepare: {sizes} ({time.perf_counter() - t0:.0f} s)")
    if opts.audit:  # a swapped or flipped label convention stops the run before any fitting
        from benchmarks.datasets.audit import audit_stores

        audit_stores(plan.sources.stores, log)


def _seed_stores(
    plan: _Plan, seed: int, log: Callable[[str], None], real: Any = None, tag: str = ""
) -> tuple[dict, dict]:
    """The seed's stores: the prepared ones plus, under each ``refined...`` source a row names,
    that refiner's refined store (each refiner fitted once per seed). Also returns source ->
    the refiner description the rows' train_dataset carries. ``real`` (a strict fold's pool)
    replaces the real-unlabelled store the refiners fit on; ``tag`` ("-fold1") names the fold
    in the results' refiner folders."""
    stores = dict(plan.sources.stores)
    if real is not None:
        stores["real-unlabeled"] = real
    wanted = {r.train: refiner_name(r.train, plan.profile) for r in plan.rows}
    by_name: dict[str, tuple[Any, str]] = {}  # refiner -> (store, description), once per seed
    described = {}
    for train, name in wanted.items():
        if name is None:
            continue
        if name not in by_name:
            by_name[name] = _refined_store(plan, name, seed, stores, log, tag)
        stores[train], described[train] = by_name[name]
    return stores, described


def _refined_store(
    plan: _Plan, name: str, seed: int, stores: dict, log: Callable[[str], None], tag: str = ""
) -> tuple[Any, str]:
    """(refined store, description) of one refiner for one seed, fitted or found in the cache."""
    t0 = time.perf_counter()
    opts = plan.opts
    synthetic, real = stores["synthetic"], stores["real-unlabeled"]
    if name in SIMGAN_NAMES:  # its own two cached stages (a run directory, then a refined store)
        run_dir = train_stage(
            synthetic,
            real,
            plan.profile,
            seed,
            plan.device,
            plan.work_dir,
            opts.progress,
            log,
            threads=plan.threads,
            precision=opts.precision,
            name=name,
        )
        store = refine_stage(
            run_dir,
            synthetic,
            plan.work_dir,
            opts.progress,
            log,
            device=plan.device,
            threads=plan.threads,
        )
        if name == refiner_kind(plan.profile):  # RESULTS/refiner/ is the table's own refiner
            copy_refiner_outputs(run_dir, plan.results_dir / "refiner" / f"seed{seed}{tag}")
        desc = run_dir.name
    else:
        from benchmarks.pipeline.keys import Numerics
        from benchmarks.pipeline.refiner_fit import fit_refined_store

        # scored like SimGAN's run: the profile's diag_n and input_hw (RefinerConfig's defaults)
        cfg = resolved_refiner_config(plan.profile, seed, plan.device)
        diag = {"diag_n": cfg.diag_n, "input_hw": list(cfg.input_hw)}
        numerics = Numerics.resolve(plan.device, opts.precision, plan.threads)
        store, run_dir = fit_refined_store(
            name, synthetic, real, plan.profile, seed, plan.work_dir, log, diag, plan.device,
            numerics=numerics,
        )  # fmt: skip
        desc = f"{name} ({run_dir.name})"
    copy_fit_summary(name, run_dir, plan.results_dir / "refiners" / name / f"seed{seed}{tag}")
    log(f"refiner {name} for seed {seed}{tag}: {time.perf_counter() - t0:.0f} s")
    return store, desc


def _fit_tasks(
    plan: _Plan, tasks: list[Cell], stores: dict, seed: int, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Fit the cells, appending each finished row at once (a killed run keeps those done)."""
    return [
        append_finished(plan, t, measured, seed, log)
        for t, measured in fit_cells(plan, tasks, str(stores["test"].path), seed)
    ]
