"""`bench run --backend dask`: a tiny suite on a 2-worker LocalCluster equals the serial run row for
row, a worker that dies mid-cell loses only its cell, and `bench check --same-as` compares runs."""

import os

import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.records.rows import read_rows

pytestmark = pytest.mark.usefixtures("small_probe")  # diagnostics that only need to run

pytest.importorskip("distributed", reason="dask.distributed not installed (pip install .[dask])")

ROWS = [("rf-lab", "rf", "real-lab", "R"), ("rf-synthetic", "rf", "synthetic"),
        ("cnn-refined", "cnn", "refined")]  # fmt: skip
PROFILE = dict(seeds=2, demo=(200, 150, 100, 60), estimators={  # conftest's profile_toml
    "rf": {"n_estimators": 4, "n_jobs": 1}, "cnn": dict(epochs=1, batch_size=32, width=0.25)})  # fmt: skip


@pytest.fixture()
def tiny(tmp_path, tiny_bench):
    return tiny_bench(tmp_path, ROWS, PROFILE)


def run_cli(tiny, results, *extra):
    # one torch thread per cell on both sides: the count is part of a cell's key and numbers
    return tiny.run("--row-threads", "1", "--no-report", *extra, results=results)


@pytest.mark.slow
def test_dask_on_two_workers_equals_the_serial_run_row_for_row(tiny):
    serial = run_cli(tiny, "serial")
    assert serial.exit_code == 0, serial.output
    dask = run_cli(tiny, "dask", "--backend", "dask", "--jobs", "2")
    assert dask.exit_code == 0, dask.output
    assert len(read_rows(tiny / "dask")) == len(read_rows(tiny / "serial")) == 6
    same = CliRunner().invoke(
        main, ["check", "--results", str(tiny / "dask"), "--same-as", str(tiny / "serial")]
    )
    assert same.exit_code == 0 and "row for row" in same.output, same.output


def test_check_same_as_names_a_differing_number_and_a_missing_cell(tiny):
    import json

    assert run_cli(tiny, "a", "--rows", "rf-lab").exit_code == 0
    rows = read_rows(tiny / "a")
    (tiny / "b").mkdir()
    changed = [{**rows[0], "err_mean_deg": rows[0]["err_mean_deg"] + 1e-12}]  # last bits count
    (tiny / "b" / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in changed))
    r = CliRunner().invoke(
        main, ["check", "--results", str(tiny / "b"), "--same-as", str(tiny / "a")]
    )
    assert r.exit_code == 1
    assert "DIFFERS rf-lab seed 0: err_mean_deg" in r.output
    assert "rf-lab seed 1: missing from" in r.output


def test_scheduler_without_the_dask_backend_is_one_line_error(tiny):
    r = run_cli(tiny, "x", "--scheduler", "tcp://127.0.0.1:1")
    assert r.exit_code == 2 and "--scheduler needs --backend dask" in r.output


def _cell(i: int) -> dict:
    """A cell whose worker dies (cell 1) or that returns its index."""
    if i == 1:
        os._exit(1)
    return {"i": i}


@pytest.mark.slow
def test_a_worker_dying_mid_cell_loses_only_that_cell():
    import dask

    from benchmarks.pipeline.backends import Call, run_cells
    from estimators.base import UserError

    got = []
    # no retries (the default retries a lost cell 3 times, restarting a worker each time): one
    # cell per worker, so the death can only take cell 1
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with pytest.raises(UserError, match="1 cell.* lost with their dask worker"):
            for i, out in run_cells([Call(_cell, (i,)) for i in range(2)], "dask", jobs=2):
                got.append((i, out["i"]))
    assert got == [(0, 0)]
