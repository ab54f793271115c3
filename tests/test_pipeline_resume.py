"""Kill `bench run` with SIGKILL in the middle of refiner training, or between result rows, re-run
it, and check that it resumed (from the checkpoint, or at the first missing row) and ended exactly
where an unbroken run ends."""

import os
import signal
import subprocess
import time

import numpy as np
import pytest
import torch

from benchmarks.records.rows import read_rows


def resume_profile(tiny_refiner_settings) -> dict:
    """conftest's profile_toml keywords: a tiny SimGAN of 5 + 5 + 500 steps, a checkpoint every
    10 (long enough to be killed mid-run; the steps are milliseconds, the diagnostics' frozen
    probe at its default 600 steps would cost far more than all of them: conftest's 20)."""
    refiner = {**tiny_refiner_settings, "refiner_width": 4, "lr": 5e-4, "buffer_size": 64,
               "pretrain_r_steps": 5, "pretrain_d_steps": 5, "steps": 500,
               "checkpoint_every": 10, "sample_every": 100000, "log_every": 10, "diag_n": 20}  # fmt: skip
    return dict(name="resume", demo=(200, 10, 200, 50), n_train=100, refiner=refiner)


def bench(tiny, work, *, background=False):
    if background:
        return tiny.popen("--no-report", work=work, results=f"{work}/res", stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    return tiny.process("--no-report", work=work, results=f"{work}/res")


@pytest.mark.slow
def test_sigkill_mid_refiner_then_rerun_resumes_and_matches_an_unbroken_run(
    tmp_path, tiny_bench, tiny_refiner_settings
):
    tiny = tiny_bench(tmp_path, ["mean-refined"], resume_profile(tiny_refiner_settings))
    work = tmp_path / "killed"
    proc = bench(tiny, "killed", background=True)
    deadline = time.time() + 180
    ckpt = None
    while time.time() < deadline and proc.poll() is None:
        found = (
            list((work / "refiner").glob("*/checkpoint.pt")) if (work / "refiner").exists() else []
        )
        if found:
            ckpt = found[0]
            time.sleep(0.3)  # let it get a few checkpoints further
            break
        time.sleep(0.05)
    assert ckpt is not None, f"no refiner checkpoint appeared: {proc.communicate()[0][-2000:]}"
    os.killpg(proc.pid, signal.SIGKILL)  # a real kill: no cleanup handlers run
    proc.wait(timeout=30)
    run_dir = ckpt.parent
    assert not (run_dir / "complete.json").exists(), "the run finished before it could be killed"
    step_at_kill = torch.load(ckpt, map_location="cpu", weights_only=False)["step"]
    assert 0 < step_at_kill < 510
    assert not (work / "res" / "rows.jsonl").exists()

    again = bench(tiny, "killed")
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"refiner: resuming {run_dir}" in again.stderr
    assert (run_dir / "complete.json").exists()
    steps = [
        int(line.split(",")[0]) for line in (run_dir / "losses.csv").read_text().splitlines()[1:]
    ]
    assert steps == sorted(set(steps)) and steps[-1] == 510  # no step logged twice, none lost
    assert [r["row_id"] for r in read_rows(work / "res")] == ["mean-refined"]

    # The resumed run ends bit-for-bit where an unbroken run ends (CPU, same threads).
    unbroken = bench(tiny, "unbroken")
    assert unbroken.returncode == 0, unbroken.stderr[-3000:]
    other = next((tmp_path / "unbroken" / "refiner").glob("*/checkpoint.pt"))
    assert other.parent.name == run_dir.name  # same stage key: same config and inputs
    a = torch.load(ckpt, map_location="cpu", weights_only=False)
    b = torch.load(other, map_location="cpu", weights_only=False)
    assert a["step"] == b["step"] == 510
    for key in ("refiner", "discriminator"):
        sa, sb = a[key], b[key]
        assert sa.keys() == sb.keys()
        for name in sa:
            assert torch.equal(sa[name], sb[name]), f"{key}.{name} differs after resume"


ROWS = [(f"rf-{c}", "rf", "real-lab", "R") for c in "abcd"]
ROW_PROFILE = dict(name="rowkill", demo=(10, 300, 10, 60), n_train=300, refiner=None,
                   estimators={"rf": {"n_estimators": 20, "n_jobs": 1}})  # fmt: skip


def _preds(res, row):
    with np.load(res / row["preds_file"]) as z:
        return z["pred_pitchyaw_rad"]


@pytest.mark.slow
def test_sigkill_between_rows_then_rerun_keeps_finished_rows_and_matches_an_unbroken_run(
    tmp_path, tiny_bench
):
    """Four rf rows of about half a second each: kill `bench run` (SIGKILL) once the first row is in
    rows.jsonl; the re-run fits only the rows that were missing (the finished ones keep their
    line and finished_at), and the rows end as an uninterrupted run's."""
    tiny = tiny_bench(tmp_path, ROWS, ROW_PROFILE, name="rowkill")
    work = tmp_path / "killed"
    rows_file = work / "res" / "rows.jsonl"
    proc = bench(tiny, "killed", background=True)
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if rows_file.is_file() and rows_file.read_text().endswith("\n"):
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # a real kill: no cleanup handlers run
    out = proc.communicate(timeout=30)[0]
    before = read_rows(work / "res")
    assert 1 <= len(before) < 4, f"killed with {len(before)} rows written: {out[-2000:]}"
    lines_before = rows_file.read_text().splitlines()

    again = bench(tiny, "killed")
    assert again.returncode == 0, again.stderr[-3000:]
    after = read_rows(work / "res")
    assert rows_file.read_text().splitlines()[: len(lines_before)] == lines_before
    assert after[: len(before)] == before  # finished rows untouched (finished_at included)
    ids = [r["row_id"] for r in after]
    # each row exactly once: the re-run appended only the rows that were missing
    assert len(rows_file.read_text().splitlines()) == 4
    assert sorted(ids) == ["rf-a", "rf-b", "rf-c", "rf-d"]

    unbroken = bench(tiny, "unbroken")
    assert unbroken.returncode == 0, unbroken.stderr[-3000:]
    ref = {r["row_id"]: r for r in read_rows(tmp_path / "unbroken" / "res")}
    assert ref.keys() == set(ids)
    for r in after:
        u = ref[r["row_id"]]
        assert r["stage_key"] == u["stage_key"] and r["err_mean_deg"] == u["err_mean_deg"]
        np.testing.assert_array_equal(
            _preds(work / "res", r), _preds(tmp_path / "unbroken" / "res", u)
        )
