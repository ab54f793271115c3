"""Bad option values and unusable directories are one line and exit 2, never a traceback and
never a silent change (issue 24 item 7)."""

import pytest
from click.testing import CliRunner

from benchmarks.cli import main

SUITE = """
[suite]
name = "opts"
title = "opts"
[[rows]]
id = "mean-lab"
label = "Mean gaze (lab)"
method = "mean"
train = "real-lab"
rs = "R"
"""

PROFILE = """
[profile]
name = "opts"
seeds = 1
[demo]
n_sim = 40
n_lab = 40
n_wild = 40
n_test = 30
[train]
n_train = 30
"""


@pytest.fixture()
def tiny(tmp_path):
    (tmp_path / "suite.toml").write_text(SUITE)
    (tmp_path / "profile.toml").write_text(PROFILE)
    return tmp_path


def run(tiny, *extra, env=None, work=True):
    args = ["run", str(tiny / "suite.toml"), "--profile", str(tiny / "profile.toml")]
    if work:
        args += ["--work", str(tiny / "work")]
    args += ["--results", str(tiny / "res"), "--quiet", "--no-report", "--no-audit", *extra]
    return CliRunner().invoke(main, args, env=env)


def one_line_error(r, *needles):
    """The run stopped with exit 2 and its last line is the one error line holding needles."""
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and all(n in last for n in needles), r.output
    return last


@pytest.mark.parametrize("device", ["gpu", "cuda", "cuda:7"])
def test_a_device_that_is_not_there_is_one_line(tiny, device, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a GPU machine
    want = "is no torch device" if device == "gpu" else "no CUDA GPU is visible"
    one_line_error(run(tiny, "--device", device), f"--device {device}", want)
    assert not (tiny / "work").exists()
