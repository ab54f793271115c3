"""Progress bars stay one line in a terminal and print a few plain lines per stage into a
redirected log or a CI runner's (torchkit/progress.py), for every stage of `bench run`."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from torchkit.progress import LOG_LINES, LogProgress, interactive, progress_bar

REPO = Path(__file__).resolve().parent.parent


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_and_a_log_or_ci_gets_lines(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert interactive(_Tty()) and not interactive(io.StringIO())
    for value in ("true", "1", "yes"):
        monkeypatch.setenv("CI", value)
        assert not interactive(_Tty())
    monkeypatch.setenv("CI", "false")
    assert interactive(_Tty())
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # what pytest and a redirect look like
    assert isinstance(progress_bar(total=10, desc="x"), LogProgress)
    monkeypatch.setattr(sys, "stderr", _Tty())
    assert not isinstance(progress_bar(total=10, desc="x"), LogProgress)
    assert not isinstance(progress_bar(total=10, desc="x", enabled=False), LogProgress)


def test_a_log_bar_prints_a_line_per_quarter_and_one_at_the_end():
    out = io.StringIO()
    bar = LogProgress(total=1000, desc="refiner", unit="step", stream=out)
    for _ in range(1000):
        bar.update(1)
        bar.set_postfix(loss="0.123")
    bar.close()
    bar.close()  # closing twice prints once
    lines = out.getvalue().splitlines()
    assert len(lines) == LOG_LINES == 4, lines
    assert [line.split("(")[0] for line in lines[:3]] == [
        "refiner: 25% ",
        "refiner: 50% ",
        "refiner: 75% ",
    ]
    assert "250/1,000 step" in lines[0] and "left" in lines[0] and "[loss=0.123]" in lines[0]
    assert lines[3].startswith("refiner: done, 1,000 step in ")


def test_a_resumed_quiet_or_failed_log_bar_stays_short():
    out = io.StringIO()
    resumed = LogProgress(total=100, desc="refine", initial=60, stream=out)
    resumed.update(40)
    resumed.close()
    assert [line[:13] for line in out.getvalue().splitlines()] == ["refine: done,"]
    quiet = LogProgress(total=100, desc="cnn", quiet=True, stream=out)
    quiet.update(100)
    quiet.close()
    assert quiet.lines_printed == 0
    failed = LogProgress(total=10, desc="rows", stream=io.StringIO())
    with pytest.raises(KeyboardInterrupt), failed:
        failed.update(1)
        raise KeyboardInterrupt
    assert failed.lines_printed == 0  # Ctrl-C's own line says what was kept
    items = LogProgress(range(8), total=8, desc="people", stream=out)
    assert list(items) == list(range(8)) and items.lines_printed == 4


SUITE = """
[suite]
name = "logs"
title = "logs"
[[rows]]
id = "knn-lab"
label = "kNN (lab)"
method = "knn"
train = "real-lab"
rs = "R"
[[rows]]
id = "cnn-synthetic"
label = "CNN (synthetic)"
method = "cnn"
train = "synthetic"
rs = "S"
[[rows]]
id = "cnn-refined"
label = "CNN (refined)"
method = "cnn"
train = "refined"
rs = "S"
"""

# every kind of bar a run shows: renders, a SimGAN refiner, refining, rows, CNN epochs
PROFILE = """
[profile]
name = "logs"
seeds = 1
[demo]
n_sim = 160
n_lab = 120
n_wild = 160
n_test = 60
[train]
n_train = 100
[refiner]
preset = "smoke"
refiner_width = 4
disc_widths = [8, 8, 8, 8]
batch_size = 8
buffer_size = 32
pretrain_r_steps = 2
pretrain_d_steps = 2
steps = 40
checkpoint_every = 20
sample_every = 100
log_every = 1
diag_n = 20
[estimators.cnn]
epochs = 2
batch_size = 16
width = 0.25
"""


def _redirected_run(tmp_path: Path, *args: str) -> list[str]:
    """`bench run ARGS` with stdout and stderr to a file; the file's lines."""
    log = tmp_path / "run.log"
    cmd = [sys.executable, "-m", "benchmarks.cli", "run", *args]
    cmd += ["--work", str(tmp_path / "work"), "--results", str(tmp_path / "results")]
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    env.pop("CI", None)  # the redirect alone must be enough
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    text = log.read_text()
    assert proc.returncode == 0, text
    assert "\r" not in text, "a redrawn bar in a log"
    return text.splitlines()


def _assert_few_lines_per_stage(lines: list[str], n_rows: int) -> None:
    bars = Counter(
        m.group(1) for line in lines if (m := re.match(r"(.+?): (\d+% \(|done, )", line))
    )
    assert bars, lines  # the bars did print their plain lines
    assert all(n <= LOG_LINES for n in bars.values()), bars
    # the run's own lines: plan, prepare, audit, refiner, one per row, done, report
    assert len(lines) <= 12 + n_rows + LOG_LINES * len(bars), "\n".join(lines)


def test_a_redirected_run_logs_a_few_lines_per_stage(tmp_path):
    (tmp_path / "suite.toml").write_text(SUITE)
    (tmp_path / "profile.toml").write_text(PROFILE)
    args = [str(tmp_path / "suite.toml"), "--profile", str(tmp_path / "profile.toml")]
    lines = _redirected_run(tmp_path, *args, "--threads", "1", "--no-audit")
    _assert_few_lines_per_stage(lines, n_rows=3)
    assert any(line.startswith("refiner: done, 44 step") for line in lines), lines  # 40 + 4
    assert any(line.startswith("rows (seed 0): done") for line in lines), lines
