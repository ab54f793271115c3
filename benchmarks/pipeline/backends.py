"""Where the independent (row, seed) cells of `bench run` are fitted: joblib processes on this
machine, or the workers of a dask.distributed cluster.

Both backends take the same calls (``fit_predict_row`` with plain paths, dicts and arrays) and
yield ``(index, measured)`` as each cell finishes, so the driver appends a cell's row as soon as
it exists: a cell lost with its process or worker is missing from rows.jsonl, and the next run
redoes only it. Stores and refiner runs are never made here; the driver makes them once under the
work directory, which every dask worker must see at the same path (a shared filesystem).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from estimators.base import UserError

BACKENDS = ("joblib", "dask")
# One cell per worker at a time: a cell sets torch's (process-wide) thread count, so two cells
# sharing a worker process would change each other's numbers.
CELL_RESOURCE = "gazebench_cell"


@dataclass(frozen=True)
class Call:
    """One cell: ``fn(*args)`` (picklable: module-level fn, paths, dicts, numpy arrays)."""

    fn: Callable[..., dict[str, Any]]
    args: tuple


def run_cells(
    calls: list[Call],
    backend: str = "joblib",
    jobs: int = 1,
    cell_threads: int = 1,
    scheduler: str | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(i, calls[i].fn(*calls[i].args))`` as cells finish (joblib: in order; dask: in
    completion order). jobs: cells at once; cell_threads: torch threads each cell uses."""
    if backend == "joblib":
        if scheduler is not None:
            raise UserError("--scheduler needs --backend dask")
        yield from _joblib_cells(calls, jobs)
    elif backend == "dask":
        yield from _dask_cells(calls, jobs, cell_threads, scheduler)
    else:
        raise UserError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")


def _joblib_cells(calls: list[Call], jobs: int) -> Iterator[tuple[int, dict[str, Any]]]:
    from joblib import Parallel, delayed

    outputs = Parallel(n_jobs=jobs, return_as="generator")(delayed(c.fn)(*c.args) for c in calls)
    yield from enumerate(outputs)


def _dask_client(jobs: int, cell_threads: int, scheduler: str | None):
    """A client of the cluster at ``scheduler``, or of a LocalCluster of ``jobs`` worker
    processes with ``cell_threads`` threads each (so jobs x cell_threads = the run's threads)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UserError(
            '--backend dask needs dask.distributed: pip install "gazebench[dask]"'
        ) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as e:
            raise UserError(f"no dask scheduler at {scheduler} ({e})") from None
        workers = client.scheduler_info()["workers"].values()
        if not any(CELL_RESOURCE in w.get("resources", {}) for w in workers):
            client.close()
            raise UserError(
                f"no worker at {scheduler} offers the {CELL_RESOURCE} resource: start each with "
                f"`dask worker {scheduler} --nthreads N --resources {CELL_RESOURCE}=1`"
            )
        return client, None
    cluster = LocalCluster(
        n_workers=jobs,
        threads_per_worker=cell_threads,
        processes=True,  # torch threads are per process
        resources={CELL_RESOURCE: 1},
        dashboard_address=None,
    )
    return Client(cluster), cluster


def _dask_cells(
    calls: list[Call], jobs: int, cell_threads: int, scheduler: str | None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Submit every cell, yield each as it finishes; a cell whose worker died (dask retries it,
    then gives up) is left out and named at the end, after every other cell has been yielded."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    client, cluster = _dask_client(jobs, cell_threads, scheduler)
    try:
        futures = {
            client.submit(c.fn, *c.args, resources={CELL_RESOURCE: 1}, pure=False): i
            for i, c in enumerate(calls)
        }
        lost, failed = [], None
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                yield i, fut.result()
            except KilledWorker:
                lost.append(i)
            except Exception as e:  # a bug in a cell: finish the others, then raise it
                failed = failed or e
        if failed is not None:
            raise failed
        if lost:
            raise UserError(
                f"{len(lost)} cell(s) lost with their dask worker; the others are saved: "
                "rerun the same command to redo only the lost ones"
            )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
