import csv
import json

import numpy as np
import pytest
import torch

import refine.losses
from refine.apply import iter_refined, load_refiner
from refine.checkpoint import load_checkpoint
from refine.train import RefinerDiverged, is_complete, train_refiner
from refine.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def _train(demo, tiny_config, one_torch_thread):
    """train(run_dir, config=None, **kw): the tiny refiner on the demo sim/wild images."""

    def train(run_dir, config=None, **kw):
        sim, wild = demo("sim"), demo("wild")
        return train_refiner(
            sim["images"], wild["images"], config or tiny_config(), run_dir, progress=False,
            synthetic_gaze_pitchyaw_rad=sim["gaze_pitchyaw_rad"],
            synthetic_head_pitchyaw_rad=sim["head_pitchyaw_rad"], **kw,
        )  # fmt: skip

    return train


def _csv_rows(run_dir):
    with open(run_dir / "losses.csv") as f:
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, _train):
    run_dir = tmp_path_factory.mktemp("run") / "r"
    return run_dir, _train(run_dir)


def test_run_directory_contents(finished_run):
    run_dir, summary = finished_run
    assert is_complete(run_dir) and summary["steps"] == 8
    for name in ("config.json", "run.json", "checkpoint.pt", "refiner.pt", "losses.csv"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "losses.png").read_bytes()[:4] == b"\x89PNG"
    assert (run_dir / "samples" / "step_000004.png").is_file()
    assert (run_dir / "samples" / "step_000008.png").is_file()
    rows = _csv_rows(run_dir)
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    assert rows[0]["loss_d"] == "" and rows[0]["loss_r_adv"] == "0"  # pretraining R: L1 only
    assert rows[2]["loss_r"] == "" and float(rows[2]["loss_d"]) > 0  # pretraining D
    assert float(rows[-1]["loss_r_adv"]) > 0 and float(rows[-1]["loss_d"]) > 0
    diag = json.loads((run_dir / "diagnostics.json").read_text())
    for key in ("realism_acc_real_vs_synthetic", "realism_cnn_acc_real_vs_refined"):
        assert 0.0 <= diag[key] <= 1.0
    assert diag["mean_abs_diff_grey"] >= 0 and np.isfinite(diag["gaze_err_deg_on_refined"])
    assert summary["images_per_s"] > 0


def test_checkpoint_round_trip(finished_run, tmp_path, demo, tiny_config):
    run_dir, _ = finished_run
    state = load_checkpoint(run_dir)
    assert state["step"] == 8 and len(state["buffer"]["images"]) == 16  # buffer filled
    t = Trainer(demo("sim")["images"], demo("wild")["images"], tiny_config())
    t.load(state)
    for a, b in zip(t.R.state_dict().values(), state["refiner"].values(), strict=True):
        assert torch.equal(a, b)
    assert t.rng.bit_generator.state == state["rng"]["numpy"]
    assert t.opt_d.state_dict()["state"][0]["step"] == state["opt_d"]["state"][0]["step"]
    saved = torch.load(run_dir / "refiner.pt", weights_only=True)
    assert all(torch.equal(saved[k], state["refiner"][k]) for k in saved)


def test_resume_after_kill_is_bit_for_bit(finished_run, tmp_path, monkeypatch, _train):
    run_dir, _ = finished_run
    calls = {"n": 0}
    real_step = Trainer.r_step

    def dying_r_step(self, pretrain):
        calls["n"] += 1
        if calls["n"] == 6:  # inside main step 6 (after the checkpoint at step 4)
            raise KeyboardInterrupt
        return real_step(self, pretrain)

    killed = tmp_path / "killed"
    monkeypatch.setattr(Trainer, "r_step", dying_r_step)
    with pytest.raises(KeyboardInterrupt):
        _train(killed)
    monkeypatch.setattr(Trainer, "r_step", real_step)
    assert not is_complete(killed) and load_checkpoint(killed)["step"] == 4
    with pytest.raises(ValueError, match="not empty.*resume"):
        _train(killed)
    _train(killed, resume=True)
    a, b = load_checkpoint(run_dir), load_checkpoint(killed)
    for key in ("refiner", "discriminator"):
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)
    assert torch.equal(a["buffer"]["images"], b["buffer"]["images"])
    assert _csv_rows(run_dir) == _csv_rows(killed)


def test_resume_refuses_a_different_config(finished_run, _train, tiny_config):
    run_dir, _ = finished_run
    with pytest.raises(ValueError, match="different config.*lr"):
        _train(run_dir, tiny_config(lr=0.5, steps=5), resume=True)


def test_nan_loss_stops_naming_the_step_and_keeps_checkpoint(tmp_path, monkeypatch, _train):
    calls = {"n": 0}
    real_reg = refine.losses.self_regularisation

    def nan_after_five(y, x, *reduction):
        calls["n"] += 1
        out = real_reg(y, x, *reduction)
        return out * float("nan") if calls["n"] >= 5 else out

    monkeypatch.setattr(refine.losses, "self_regularisation", nan_after_five)
    with pytest.raises(
        RefinerDiverged,
        match=r"diverged at step 6: loss_r_reg = nan.*last good checkpoint \(step 4\) kept",
    ):
        _train(tmp_path / "r")
    assert load_checkpoint(tmp_path / "r")["step"] == 4
    assert not is_complete(tmp_path / "r")


def test_apply_maps_back_to_store_size(finished_run, demo):
    run_dir, _ = finished_run
    refiner = load_refiner(run_dir, "cpu")
    images = demo("sim")["images"][:10]
    out = list(iter_refined(refiner, images, start=3, batch_size=4, device="cpu"))
    assert [s for s, _ in out] == [3, 7]
    assert all(r.shape[1:] == (36, 60) and r.dtype == np.uint8 for _, r in out)
    assert sum(len(r) for _, r in out) == 7
    with pytest.raises(ValueError, match="uint8"):
        next(iter_refined(refiner, images.astype(np.float32)))


def test_bad_input_arrays_are_one_clear_error(tmp_path, demo, tiny_config):
    with pytest.raises(ValueError, match=r"real images: expected an \(N, H, W\) uint8 array"):
        train_refiner(demo("sim")["images"], np.zeros((4, 36, 60)), tiny_config(), tmp_path / "r")
    assert not (tmp_path / "r").exists()
