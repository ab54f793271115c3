"""Two `bench run`s on one --work (benchmarks/pipeline/lock.py): the second waits for the first,
then reuses its finished stores and refiner; both end with exactly the rows of one run alone."""

import fcntl
import os
import subprocess
import time

import pytest

from benchmarks.pipeline.lock import dir_lock
from benchmarks.records.rows import read_rows
from benchmarks.reporting.check import same_rows

# a tiny SimGAN (conftest's tiny refiner, 2 + 2 + 6 steps): a real refiner run directory with
# a losses.csv both runs would write
ROWS = ["mean-lab", "mean-refined"]


def profile(tiny_refiner_settings) -> dict:
    """conftest's profile_toml keywords."""
    refiner = {**tiny_refiner_settings, "steps": 6, "checkpoint_every": 3, "diag_n": 20}
    return dict(name="lock", demo=(120, 60, 120, 40), n_train=50, refiner=refiner)


def bench(tiny, work, results, log):
    """A `bench run` in the background, its output going to the file ``log``."""
    with open(log, "w") as out:
        return tiny.popen("--no-report", "--no-audit", "--threads", "1", work=work,
                          results=results, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


@pytest.mark.slow
def test_two_runs_on_one_work_dir_end_as_one_run(tmp_path, tiny_bench, tiny_refiner_settings):
    tiny = tiny_bench(tmp_path, ROWS, profile(tiny_refiner_settings), name="lock")
    work = tmp_path / "work"
    work.mkdir()
    # hold the lock here until both runs are queued on it, so they really overlap
    fd = os.open(work / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    logs = [tmp_path / f"run{i}.log" for i in (1, 2)]
    procs = [bench(tiny, "work", f"res{i}", log) for i, log in zip((1, 2), logs, strict=True)]
    deadline = time.time() + 120
    while time.time() < deadline and not all("waiting for it" in x.read_text() for x in logs):
        time.sleep(0.2)
    os.close(fd)  # releases the lock: one run goes, the other keeps waiting
    for p in procs:
        p.wait(timeout=600)
    outs = [x.read_text() for x in logs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-3000:]
        assert out.count("waiting for it to finish") == 1, out
    trained = [("refiner: training" in out) for out in outs]
    assert sorted(trained) == [False, True], outs  # the refiner is trained once, then reused
    run_dirs = list((work / "refiner").iterdir())
    assert len(run_dirs) == 1
    losses = (run_dirs[0] / "losses.csv").read_text().splitlines()[1:]
    steps = [int(line.split(",")[0]) for line in losses]
    assert steps == list(range(1, 11))  # every step once (2 + 2 + 6), not once per run
    alone = bench(tiny, "alone", "res-alone", tmp_path / "alone.log")
    assert alone.wait(timeout=600) == 0, (tmp_path / "alone.log").read_text()[-3000:]
    for i in (1, 2):
        assert len(read_rows(tmp_path / f"res{i}")) == 2
        assert same_rows(tmp_path / f"res{i}", tmp_path / "res-alone") == []


def test_a_busy_dir_stops_with_one_line_under_no_wait_and_the_lock_is_reentrant(
    tmp_path, tiny_bench, tiny_refiner_settings
):
    tiny = tiny_bench(tmp_path, ROWS, profile(tiny_refiner_settings), name="lock")
    work = tmp_path / "work"
    work.mkdir()
    fd = os.open(work / ".lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b'{"pid": 4242, "host": "h", "since": "t", "command": "bench run x"}')
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        r = tiny.run("--no-wait")
    finally:
        os.close(fd)
    error = r.output.strip().splitlines()[-1]  # after the plan's one line
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert error.startswith(f"Error: --work {work} is in use by pid 4242 on h"), r.output
    assert not (work / "stores").exists()  # stopped before any work
    lines = []
    with dir_lock(work, "work", lines.append), dir_lock(work, "work", lines.append):
        pass  # a second block of the same process (bench stability) does not wait on itself
    assert lines == []
