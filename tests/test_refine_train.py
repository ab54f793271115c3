import csv
import json

import numpy as np
import pytest
import torch

import refine.losses
from refine.apply import iter_refined, load_refiner
from refine.checkpoint import load_checkpoint
from refine.images import to_tensor, to_uint8
from refine.logbook import Logbook
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
    assert diag["n_synthetic"] == diag["n_real"] == 48  # diag_n of each
    # the demo's sim and wild looks differ plainly: the classifier panel tells them apart
    assert diag["realism_acc_real_vs_synthetic"] > 0.75
    assert summary["images_per_s"] > 0


def _diagnostics(refiner, demo, tiny_config):
    from refine.diagnostics import run_diagnostics

    sim, wild = demo("sim"), demo("wild")
    return run_diagnostics(
        refiner, sim["images"][:48], wild["images"][:48], tiny_config(), device="cpu",
        gaze_pitchyaw_rad=sim["gaze_pitchyaw_rad"][:48],
        head_pitchyaw_rad=sim["head_pitchyaw_rad"][:48],
    )  # fmt: skip


class _Const(torch.nn.Module):
    """A 'refiner' that maps every image to one grey level (value in [-1, 1] units)."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return torch.full_like(x, self.value)


def test_diagnostics_measure_what_a_refiner_did(demo, tiny_config):
    """An identity refiner changes nothing: zero pixel change, and every realism classifier and
    the gaze regressor score refined images exactly as the synthetic ones. A refiner that paints
    every image black moves each pixel by its grey level, and is told from real every time."""
    same = _diagnostics(torch.nn.Identity(), demo, tiny_config)
    assert same["mean_abs_diff_grey"] == 0.0
    for name in ("cnn", "logreg_2x", "logreg_8x", "histogram"):
        assert same[f"realism_{name}_acc_real_vs_refined"] == pytest.approx(
            same[f"realism_{name}_acc_real_vs_synthetic"], abs=1e-12
        ), name
    assert same["gaze_err_deg_on_refined"] == same["gaze_err_deg_on_x"]
    assert same["realism_gap_closed"] == 0.0

    black = _diagnostics(_Const(-1.0), demo, tiny_config)
    x = to_uint8(to_tensor(demo("sim")["images"][:48], tiny_config().input_hw))
    assert black["mean_abs_diff_grey"] == pytest.approx(float(x.mean()), rel=1e-6)
    assert black["realism_histogram_acc_real_vs_refined"] == 1.0


def _same(a, b, where="state"):
    """Deep equality of checkpoint pieces: tensors bit for bit, containers by their items."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_checkpoint_round_trip(finished_run, tmp_path, demo, tiny_config):
    """Loading a checkpoint into a fresh Trainer restores everything the Trainer saves: what it
    would checkpoint next is the checkpoint again, field by field (networks, both optimisers,
    the buffer, every RNG, EMA and selection state)."""
    run_dir, _ = finished_run
    state = load_checkpoint(run_dir)
    assert state["step"] == 8 and len(state["buffer"]["images"]) == 16  # buffer filled
    t = Trainer(demo("sim")["images"], demo("wild")["images"], tiny_config())
    # before loading, a fresh trainer differs (so the equality below is not vacuous)
    assert not all(
        torch.equal(a, b)
        for a, b in zip(t.R.state_dict().values(), state["refiner"].values(), strict=True)
    )
    assert len(t.buffer) == 0 and not t.opt_r.state_dict()["state"]
    t.load(state)
    again = t.state(state["step"], Logbook(tmp_path), state["wall_s"])
    assert again.keys() == state.keys()
    for key in set(state) - {"logbook"}:  # the logbook is the loop's, not the Trainer's
        _same(again[key], state[key], key)
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


def _identity_refiner(input_hw=(35, 55)):
    """A 1x1 conv with weight 1 and bias 0: R(x) = x exactly, at the refiner's resolution."""
    net = torch.nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        net.weight.fill_(1.0)
        net.bias.zero_()
    net.input_hw = input_hw
    return net


@pytest.mark.parametrize("input_hw", [(35, 55), (36, 60)])
def test_an_identity_refiner_returns_the_input_pixels_exactly(demo, input_hw):
    """Where R changes nothing the stored pixels stay the original ones: no resampling blur and
    no rounding drift, at the paper's 35x55 and at the store's own size."""
    images = demo("sim")["images"][:37]
    out = list(
        iter_refined(_identity_refiner(input_hw), images, batch_size=16, device="cpu",
                     precision="fp32")
    )  # fmt: skip
    assert [s for s, _ in out] == [0, 16, 32]
    np.testing.assert_array_equal(np.concatenate([r for _, r in out]), images)


def test_bad_input_arrays_are_one_clear_error(tmp_path, demo, tiny_config):
    with pytest.raises(ValueError, match=r"real images: expected an \(N, H, W\) uint8 array"):
        train_refiner(demo("sim")["images"], np.zeros((4, 36, 60)), tiny_config(), tmp_path / "r")
    assert not (tmp_path / "r").exists()
