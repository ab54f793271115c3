"""Two `bench run`s on one --work (benchmarks/pipeline/lock.py): the second waits for the first,
then reuses its finished stores and refiner; both end with exactly the rows of one run alone."""

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.pipeline.lock import dir_lock
from benchmarks.records.rows import read_rows
from benchmarks.reporting.check import same_rows

REPO = Path(__file__).resolve().parent.parent

SUITE = """
[suite]
name = "lock"
title = "lock"
[[rows]]
id = "mean-lab"
label = "Mean gaze (lab)"
method = "mean"
train = "real-lab"
rs = "R"
[[rows]]
id = "mean-refined"
label = "Mean gaze (refined)"
method = "mean"
train = "refined"
rs = "S"
"""

# a tiny SimGAN: a real refiner run directory with a losses.csv both runs would write
PROFILE = """
[profile]
name = "lock"
seeds = 1
[demo]
n_sim = 120
n_lab = 60
n_wild = 120
n_test = 40
[train]
n_train = 50
[refiner]
preset = "smoke"
refiner_width = 4
disc_widths = [8, 8, 8, 8]
batch_size = 8
buffer_size = 32
pretrain_r_steps = 2
pretrain_d_steps = 2
steps = 6
checkpoint_every = 3
sample_every = 100
log_every = 1
diag_n = 20
"""


def bench(tmp, work, results, log):
    """A `bench run` in the background, its output going to the file ``log``."""
    args = [sys.executable, "-m", "benchmarks.cli", "run", str(tmp / "suite.toml")]
    args += ["--profile", str(tmp / "profile.toml"), "--work", str(work)]
    args += ["--results", str(results), "--quiet", "--no-report", "--no-audit", "--threads", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    with open(log, "w") as out:
        return subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_two_runs_on_one_work_dir_end_as_one_run(tmp_path):
    (tmp_path / "suite.toml").write_text(SUITE)
    (tmp_path / "profile.toml").write_text(PROFILE)
    work = tmp_path / "work"
    work.mkdir()
    # hold the lock here until both runs are queued on it, so they really overlap
    fd = os.open(work / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    logs = [tmp_path / f"run{i}.log" for i in (1, 2)]
    procs = [
        bench(tmp_path, work, tmp_path / f"res{i}", log)
        for i, log in zip((1, 2), logs, strict=True)
    ]
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
    alone = bench(tmp_path, tmp_path / "alone", tmp_path / "res-alone", tmp_path / "alone.log")
    assert alone.wait(timeout=600) == 0, (tmp_path / "alone.log").read_text()[-3000:]
    for i in (1, 2):
        assert len(read_rows(tmp_path / f"res{i}")) == 2
        assert same_rows(tmp_path / f"res{i}", tmp_path / "res-alone") == []


def test_a_busy_dir_stops_with_one_line_under_no_wait_and_the_lock_is_reentrant(tmp_path):
    (tmp_path / "suite.toml").write_text(SUITE)
    (tmp_path / "profile.toml").write_text(PROFILE)
    work = tmp_path / "work"
    args = ["run", str(tmp_path / "suite.toml"), "--profile", str(tmp_path / "profile.toml")]
    args += ["--work", str(work), "--results", str(tmp_path / "res"), "--no-wait", "--quiet"]
    work.mkdir()
    fd = os.open(work / ".lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b'{"pid": 4242, "host": "h", "since": "t", "command": "bench run x"}')
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        r = CliRunner().invoke(main, args)
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
