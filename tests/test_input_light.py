"""input_light (refine.light.PoolLight): the synthetic inputs of R relit with draws from the
unlabelled real pool's light. Off by default and keyed as absent; the fitted moments match the
pools'; relighting is a plane of gain (moves no edge); training, diagnostics and refined stores
all start from the relit input, with per-image draws. Tiny sizes: seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from refine.apply import iter_refined, load_refiner
from refine.config import RefinerConfig
from refine.images import to_tensor
from refine.light import PoolLight, fit_light_moments, plane_features
from refine.networks import make_refiner
from refine.train import train_refiner
from refine.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _planes(n: int, h: int, w: int, log_b, grad_u, grad_v, rng) -> np.ndarray:
    """(n, h, w) uint8 flat images with brightness exp(log_b) and relative gradients."""
    u, v = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
    img = np.exp(log_b)[:, None, None] * (1 + grad_u[:, None, None] * u + grad_v[:, None, None] * v)
    img = img + rng.normal(0, 1.0, img.shape)  # a little texture: not a pure plane
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def test_plane_features_read_a_planted_plane():
    rng = np.random.default_rng(0)
    n = 50
    log_b, gu, gv = rng.uniform(4, 5, n), rng.uniform(-0.3, 0.3, n), rng.uniform(-0.3, 0.3, n)
    p = plane_features(_planes(n, 36, 60, log_b, gu, gv, rng), chunk=7)
    np.testing.assert_allclose(p[:, 0], log_b, atol=0.01)
    np.testing.assert_allclose(p[:, 1], gu, atol=0.01)
    np.testing.assert_allclose(p[:, 2], gv, atol=0.01)


def test_the_fitted_light_moves_synthetic_moments_onto_the_real_pools():
    """Synthetic: bright, almost no gradient. Real: darker, spread, strong gradients. After
    relighting with the fitted draws the synthetic pool's plane moments are the real pool's."""
    rng = np.random.default_rng(1)
    n = 3000
    syn = _planes(n, 36, 60, rng.normal(5.0, 0.05, n), rng.normal(0, 0.01, n),
                  rng.normal(0, 0.01, n), rng)  # fmt: skip
    real = _planes(n, 36, 60, rng.normal(4.6, 0.3, n), rng.normal(0, 0.15, n),
                   rng.normal(0.08, 0.15, n), rng)  # fmt: skip
    mean, scale = fit_light_moments(syn, real, seed=0)
    np.testing.assert_allclose(mean, [-0.4, 0.0, 0.08], atol=0.02)
    cov = scale.astype(np.float64) @ scale.T
    np.testing.assert_allclose(np.diag(cov), [0.3**2 - 0.05**2, 0.15**2 - 0.01**2,
                                              0.15**2 - 0.01**2], rtol=0.15)  # fmt: skip
    light = PoolLight().fit_(syn, real, seed=0)
    x = to_tensor(syn, (36, 60))
    with torch.no_grad():
        out = light(x, torch.randn(n, 3, generator=torch.Generator().manual_seed(0)))
    got = plane_features(((out[:, 0] + 1) * 127.5).round().clamp(0, 255).byte().numpy())
    want = plane_features(real)
    np.testing.assert_allclose(got.mean(0), want.mean(0), atol=0.02)
    np.testing.assert_allclose(got.std(0), want.std(0), rtol=0.1)
    # the real pool's rows may be restricted (to those R and D train on)
    half = np.arange(0, n, 2)
    m2, _ = fit_light_moments(syn, real, seed=0, real_rows=half)
    np.testing.assert_allclose(m2, fit_light_moments(syn, real[half], seed=0)[0], atol=1e-6)


def test_an_unfitted_light_is_the_identity_and_a_fitted_one_is_a_plane_of_gain():
    x = to_tensor(np.random.default_rng(2).integers(30, 90, (5, 35, 55), dtype=np.uint8), (35, 55))
    x[:, :, :, 20:30] = -0.6  # an edge down the image
    light = PoolLight()
    with torch.no_grad():
        assert torch.equal(light(x), x)
        light.mean.copy_(torch.tensor([0.3, 0.2, -0.1]))
        light.scale.copy_(0.1 * torch.eye(3))
        out = light(x, torch.randn(5, 3, generator=torch.Generator().manual_seed(1)))
    ratio = ((out + 1) / (x + 1)).double()[:, 0]  # no clipping: grey < 90 * e^0.6 * 1.6 < 255
    h, w = ratio.shape[1:]
    v, u = torch.meshgrid(
        torch.linspace(-1, 1, h, dtype=torch.float64),
        torch.linspace(-1, 1, w, dtype=torch.float64),
        indexing="ij",
    )
    a = torch.stack([torch.ones_like(u), u, v], -1).reshape(-1, 3)
    coef = torch.linalg.lstsq(a.expand(5, -1, -1), ratio.reshape(5, -1, 1)).solution[..., 0]
    assert (ratio.reshape(5, -1) - coef @ a.T).abs().max() < 1e-4  # nothing of the image in it
    assert coef[:, 0].std() > 0.01 and coef[:, 1].abs().min() > 0.01  # per-image draws


def test_off_by_default_and_keyed_as_absent():
    for cfg in (RefinerConfig(), RefinerConfig.preset("quick"), RefinerConfig.preset("smoke")):
        assert cfg.input_light is False and "input_light" not in cfg.key_dict()
        old = {k: v for k, v in cfg.to_dict().items() if k != "input_light"}
        assert RefinerConfig.from_dict(json.loads(json.dumps(old))).config_hash() == (
            cfg.config_hash()
        )
        on = cfg.replace(input_light=True)
        assert on.key_dict()["input_light"] is True and on.config_hash() != cfg.config_hash()
    assert make_refiner(RefinerConfig()).input_light is None


def test_training_fits_the_light_and_every_refined_image_starts_from_it(
    tmp_path, demo, tiny_config
):
    sim, wild = demo("sim"), demo("wild")
    cfg = tiny_config(input_light=True, refiner_residual=True, device="cpu", precision="fp32")
    t = Trainer(sim["images"], wild["images"], cfg)
    want_mean, _ = fit_light_moments(sim["images"], wild["images"], cfg.seed, t.real_train_rows)
    np.testing.assert_allclose(t.R.input_light.mean.numpy(), want_mean, rtol=1e-6)
    assert abs(float(t.R.input_light.mean[0])) > 0.1  # wild is darker than sim
    # the synthetic batches R trains on are relit (darker), the real ones are not
    torch.manual_seed(0)
    raw = to_tensor(sim["images"], cfg.input_hw).mean()
    assert float(t.batch(t.synthetic, 64).mean()) < float(raw) - 0.1
    assert not t.R.relight(torch.zeros(1, 1, 4, 4)).equal(torch.zeros(1, 1, 4, 4))
    run = tmp_path / "run"
    train_refiner(sim["images"], wild["images"], cfg, run, progress=False)
    net = load_refiner(run, "cpu")
    torch.testing.assert_close(net.input_light.mean, t.R.input_light.mean)  # saved with R
    images = sim["images"][:40]
    out = np.concatenate([r for _, r in iter_refined(net, images, device="cpu", batch_size=7)])
    # refined stores carry the light: their plane moments moved toward the real pool's
    p_syn, p_out = plane_features(images), plane_features(out)
    p_real = plane_features(wild["images"])
    assert (
        abs(p_out[:, 0].mean() - p_real[:, 0].mean())
        < abs(p_syn[:, 0].mean() - p_real[:, 0].mean()) / 2
    )
    assert p_out[:, 1].std() > 2 * p_syn[:, 1].std()
    # per-image draws: the same store whatever the batch size, one image refines alike anywhere
    again = np.concatenate([r for _, r in iter_refined(net, images, device="cpu", batch_size=40)])
    assert np.abs(again.astype(int) - out).max() <= 1
    same = np.repeat(images[:1], 5, axis=0)
    rows = np.concatenate([r for _, r in iter_refined(net, same, device="cpu", batch_size=2)])
    assert len({r.tobytes() for r in rows}) == 1
    # the diagnostics measured R against its relit input
    diag = json.loads((run / "diagnostics.json").read_text())
    assert diag["label_check_against"] == "the relit input (input_light)"
    assert diag["mean_abs_diff_grey"] < 5  # four tiny steps from the identity, light excluded


def test_diagnostics_and_selection_measure_r_against_its_relit_input(demo, tiny_config):
    """R at the identity of its input (a residual R before training) changed nothing: its label
    ratio is exactly 1 and its grey-level change 0, though the stored image is relit; the whole
    map's ratio (light included) is reported beside. The relit inputs are the store's."""
    from refine.diagnostics import refine_images, run_diagnostics
    from refine.selection import make_selection_set, score_snapshot

    sim, wild = demo("sim"), demo("wild")
    cfg = tiny_config(input_light=True, refiner_residual=True, input_hw=(36, 60), device="cpu",
                      precision="fp32")  # fmt: skip
    torch.manual_seed(0)
    net = make_refiner(cfg).eval()
    net.input_light.fit_(sim["images"], wild["images"])
    net.noise_seed = 3
    labels = dict(
        gaze_pitchyaw_rad=sim["gaze_pitchyaw_rad"], head_pitchyaw_rad=sim["head_pitchyaw_rad"]
    )
    diag = run_diagnostics(net, sim["images"], wild["images"], cfg, **labels)
    assert diag["mean_abs_diff_grey"] == 0.0
    assert diag["label_ratio_no_refit"] == pytest.approx(1.0, abs=1e-9)
    assert diag["gaze_err_deg_on_refined"] == pytest.approx(diag["gaze_err_deg_on_x"])
    assert diag["label_ratio_no_refit_vs_synthetic"] != pytest.approx(1.0, abs=1e-6)
    assert (
        diag["realism_histogram_acc_real_vs_refined"]
        < (diag["realism_histogram_acc_real_vs_synthetic"])
    )  # realism is still against the raw synthetic images: the light counts there
    # the relit inputs are what a store holds for the same images (same per-image draws)
    images = sim["images"][:10]
    stored = np.concatenate([r for _, r in iter_refined(net, images, device="cpu")])
    relit = refine_images(net, images, (36, 60), "cpu", "fp32")[1]
    assert np.abs(relit.astype(int) - stored).max() <= 1
    assert refine_images(make_refiner(RefinerConfig()), images, (35, 55), "cpu", "fp32")[1] is None
    # selection scores a snapshot the same way
    sel = make_selection_set(sim["images"], wild["images"], (36, 60), 48, 0, **labels,
                             probe_steps=20)  # fmt: skip
    score = score_snapshot(net, sel, "cpu", False, 0)
    assert score["abs_diff_grey"] == 0.0 and score["label_ratio"] == pytest.approx(1.0)
