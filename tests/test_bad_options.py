"""Bad option values and unusable directories are one line and exit 2, never a traceback and
never a silent change: a user cannot tell a traceback from a bug, nor a value quietly
replaced from the one asked for."""

import os

import pytest
from click.testing import CliRunner

from benchmarks.cli import main

PROFILE = dict(name="opts", demo=(40, 40, 40, 30), n_train=30, refiner=None)  # profile_toml's


@pytest.fixture()
def tiny(tmp_path, tiny_bench):
    """One mean row on the lab images: no refiner, a second or two."""
    return tiny_bench(tmp_path, ["mean-lab"], PROFILE, name="opts")


def run(tiny, *extra, env=None, work=True):
    work = "work" if work else None
    return tiny.run("--no-report", "--no-audit", *extra, env=env, work=work)


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


def test_the_work_dir_comes_from_gazebench_work_through_click(tiny):
    env = {"GAZEBENCH_WORK": str(tiny / "from-env")}
    assert run(tiny, env=env, work=False).exit_code == 0
    assert (tiny / "from-env" / "stores").is_dir()
    (tiny / "a-file").write_text("")
    r = run(tiny, env={"GAZEBENCH_WORK": str(tiny / "a-file")}, work=False)
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert "Invalid value for '--work' (env var: 'GAZEBENCH_WORK')" in r.output
    assert "is a file" in r.output


@pytest.mark.parametrize("which", ["--work", "--results"])
def test_a_work_or_results_dir_that_cannot_be_written_is_one_line(tiny, which):
    (tiny / "a-file").write_text("")
    bad = tiny / "a-file" / "sub"  # its parent is a file: no one can create it, root neither
    r = run(tiny, which, str(bad))
    one_line_error(r, f"{which} {bad}: cannot create or write it (Not a directory)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_work_dir_is_one_line(tiny):
    (tiny / "ro").mkdir(mode=0o500)
    one_line_error(run(tiny, "--work", str(tiny / "ro")), "cannot create or write it")


@pytest.mark.parametrize(
    "override, want",
    [
        ("steps=abc", "steps must be int, got 'abc'"),
        ("steps=1.5", "steps must be int, got 1.5"),
        ("lr=fast", "lr must be float, got 'fast'"),
        ("ema_decay=true", "ema_decay must be float, got True"),
        ("disc_widths=[8,8]", "disc_widths must be tuple[int, int, int, int], got [8, 8]"),
        ("stepz=3", "unknown refiner config key(s): stepz"),
    ],
)
def test_refine_train_set_with_a_bad_value_is_one_line(tmp_path, override, want):
    args = ["refine", "train", "--synthetic", str(tmp_path / "s"), "--real", str(tmp_path / "r")]
    args += ["--out", str(tmp_path / "run"), "--set", override]
    r = CliRunner().invoke(main, args)
    one_line_error(r, want)
    assert r.output.count("\n") == 1 and not (tmp_path / "run").exists()
