"""The gaze-consistency term: zero when R is the identity, priced on R only, higher for a moved
iris than for a tone-only change, and wired into the refiner's loss when its weight is > 0."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.datasets.demo import render_domain
from benchmarks.datasets.demo_iris import render_sim_with_iris
from refine.config import RefinerConfig
from refine.consistency import ConsistencySpec, consistency_loss, fit_gaze_regressor
from refine.degrade import DegradeRefiner
from refine.images import to_tensor
from refine.trainer import Trainer

HW = (35, 55)


@pytest.fixture(scope="module")
def regressor_and_eval():
    train = render_sim_with_iris(1500, seed=1)
    g = fit_gaze_regressor(
        train["images"], train["gaze_pitchyaw_rad"], HW, ConsistencySpec(steps=250)
    )
    x = render_sim_with_iris(300, seed=2)
    moved = render_sim_with_iris(300, seed=2, iris_shift_px=(2.0, 0.0))
    wild = render_domain("wild", 600, seed=5)["images"]
    tone = DegradeRefiner().fit(train["images"], wild).transform(x["images"])
    return g, x["images"], moved["images"], tone


def _loss(g, refined: np.ndarray, x: np.ndarray) -> float:
    return float(consistency_loss(g, to_tensor(refined, HW), to_tensor(x, HW)))


def test_identity_costs_nothing_and_only_r_is_paid(regressor_and_eval):
    g, x, moved, _ = regressor_and_eval
    assert _loss(g, x, x) == pytest.approx(0.0, abs=1e-10)
    assert not any(p.requires_grad for p in g.parameters())  # G is frozen
    refined = to_tensor(moved[:8], HW).requires_grad_(True)
    source = to_tensor(x[:8], HW).requires_grad_(True)
    consistency_loss(g, refined, source).backward()
    assert refined.grad is not None and float(refined.grad.abs().sum()) > 0
    assert source.grad is None  # x is the constant the reading must stay at


def test_a_moved_iris_costs_more_than_a_tone_change(regressor_and_eval):
    """degrade changes ~60 grey levels per pixel (tone, blur up to 2.5 px, noise) and keeps the
    gaze; a 2 px iris move changes a few pixels and the gaze: G must price the second higher
    (this small G: 1.8x; G without augmentation prices the tone change far above the move)."""
    g, x, moved, tone = regressor_and_eval
    assert np.abs(tone.astype(int) - x).mean() > 20
    assert _loss(g, moved, x) > 1.5 * _loss(g, tone, x)


def test_fit_is_deterministic_and_memoised():
    data = render_sim_with_iris(200, seed=3)
    spec = ConsistencySpec(steps=5, seed=1)
    a = fit_gaze_regressor(data["images"], data["gaze_pitchyaw_rad"], HW, spec)
    assert fit_gaze_regressor(data["images"], data["gaze_pitchyaw_rad"], HW, spec) is a
    b = fit_gaze_regressor(data["images"][:199], data["gaze_pitchyaw_rad"][:199], HW, spec)
    x = to_tensor(data["images"][:4], HW)
    assert b is not a and not torch.equal(a(x), b(x))


def test_the_refiner_step_adds_the_term_only_when_weighted():
    syn = render_sim_with_iris(300, seed=4)
    real = render_domain("wild", 100, seed=5)["images"]
    base = RefinerConfig.preset("smoke", device="cpu", precision="fp32")
    cfg = base.replace(gaze_consistency=2.0, gaze_consistency_steps=5)
    t = Trainer(syn["images"], real, cfg, syn["gaze_pitchyaw_rad"])
    out = t.r_step(pretrain=False)
    assert out["loss_r_gaze"] >= 0
    assert out["loss_r"] == pytest.approx(
        out["loss_r_adv"] + cfg.lambda_reg * out["loss_r_reg"] + 2.0 * out["loss_r_gaze"],
        rel=1e-5,
    )
    assert "loss_r_gaze" not in Trainer(syn["images"], real, base).r_step(pretrain=False)
    assert "loss_r_gaze" not in t.r_step(pretrain=True)  # pretraining is the identity's
    with pytest.raises(Exception, match="gaze_consistency needs the synthetic gaze labels"):
        Trainer(syn["images"], real, cfg)
    # the default hashes as before the field existed: cached refiners stay valid
    assert "gaze_consistency" not in base.key_dict()
    assert "gaze_consistency" in cfg.key_dict()
