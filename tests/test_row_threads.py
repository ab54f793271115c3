"""A cell's torch thread count is decided once, in the run's plan, the same under every backend
and --jobs: `bench run --backend dask --jobs 2` used to fit rows at threads // jobs while the
serial run fitted them at all threads, so the two made different CNN rows (and keys)."""

from __future__ import annotations

import os

import pytest

from benchmarks.pipeline.keys import Numerics
from benchmarks.pipeline.run import RunOptions, _plan, resolved_threads
from benchmarks.pipeline.suite import load_profile, load_suite


@pytest.fixture()
def keep_torch_threads():
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _plan_for(tmp_path, **opts):
    opts = RunOptions(work_dir=tmp_path / "work", results_dir=tmp_path / "res", **opts)
    return _plan(load_suite("table1"), load_profile("smoke"), opts, log=lambda m: None)


@pytest.mark.parametrize("threads", [None, 4])
def test_a_cells_thread_count_is_the_same_under_every_backend_and_jobs(
    tmp_path, keep_torch_threads, threads
):
    runs = {
        "serial": {},
        "joblib --jobs 2": {"jobs": 2},
        "dask --jobs 2": {"backend": "dask", "jobs": 2},
    }
    plans = {name: _plan_for(tmp_path, threads=threads, **o) for name, o in runs.items()}
    want = threads or os.cpu_count()
    assert {name: (p.threads, p.row_threads) for name, p in plans.items()} == {
        name: (want, want) for name in runs
    }
    # ... so the numerics every cell's key hashes (and every cell runs under) agree as well
    keyed = {Numerics.resolve(p.device, None, p.row_threads) for p in plans.values()}
    assert len(keyed) == 1
    assert not any((tmp_path / d).exists() for d in ("work", "res")), "planning does no work"


def test_row_threads_when_given_wins_everywhere(tmp_path, keep_torch_threads):
    for o in ({}, {"backend": "dask", "jobs": 2}):
        plan = _plan_for(tmp_path, threads=3, row_threads=1, **o)
        assert (plan.threads, plan.row_threads) == (3, 1)
    assert resolved_threads(None, None) == (os.cpu_count(), os.cpu_count())
    assert resolved_threads(2, None) == (2, 2) and resolved_threads(None, 1)[1] == 1
