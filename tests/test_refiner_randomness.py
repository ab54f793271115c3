"""The refiner's two randomness departures, refiner_noise (N(0, 1) input channels) and
refiner_light (refine.networks.GlobalLight): off by default and keyed as absent, the light head
starts as the identity and can only relight (a plane of gain, never a moved edge), refined stores
draw both per image (chunk, batch-size and resume invariant, seeded by the run), and training reaches the
light head through the adversarial loss. Tiny sizes: seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from estimators.base import UserError
from refine.apply import _noise_for, iter_refined, load_refiner
from refine.checkpoint import load_checkpoint
from refine.config import RefinerConfig
from refine.images import to_tensor
from refine.networks import GlobalLight, make_refiner
from refine.train import train_refiner
from refine.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FIELDS = ("refiner_noise", "refiner_light")


def _refined(refiner, images, **kw) -> np.ndarray:
    out = list(iter_refined(refiner, images, device="cpu", precision="fp32", **kw))
    return np.concatenate([r for _, r in out])


def _relit(light: GlobalLight, scale: float = 0.5, seed: int = 0) -> GlobalLight:
    """The head with a non-zero last layer, as training leaves it (its init is all zeros)."""
    g = torch.Generator().manual_seed(seed)
    last = light.mlp[2]
    with torch.no_grad():
        last.weight.copy_(scale * torch.randn(last.weight.shape, generator=g))
        last.bias.copy_(scale * torch.randn(last.bias.shape, generator=g))
    return light


def _random_refiner(tiny_config, noise: int, light: int, seed: int = 0):
    """An untrained, non-residual R of the tiny config whose output depends on both draws."""
    torch.manual_seed(seed)
    net = make_refiner(tiny_config(refiner_noise=noise, refiner_light=light)).eval()
    if light:
        _relit(net.light, seed=seed)
    return net


# -- (a) the config: off by default, keyed as if absent, one clear error -------------------------


def test_the_off_defaults_hash_as_before_the_fields_existed():
    paper, quick = RefinerConfig(), RefinerConfig.preset("quick")
    for cfg in (paper, quick, RefinerConfig.preset("smoke")):
        assert cfg.refiner_noise == 0 and cfg.refiner_light == 0
        assert not set(FIELDS) & set(cfg.key_dict())
        # a config.json written before the fields existed reads back as off, with the same key
        old = {k: v for k, v in cfg.to_dict().items() if k not in FIELDS}
        back = RefinerConfig.from_dict(json.loads(json.dumps(old)))
        assert back == cfg and back.config_hash() == cfg.config_hash()
    # the keys as computed before edc21fd added the fields (the same pins as grad_clip_norm's)
    assert paper.config_hash() == (
        "sha256:8c9adbe5722f050802bc44cd6b81848b89696cfc308bad1fe40c30ec689afe5f"
    )
    assert quick.config_hash() == (
        "sha256:cdb110aff39c240b72495e554d51ef68fe2abed6db1cc74c07e3b3a5118ea1e7"
    )
    # switched on, each is part of the key, and each names a different run
    hashes = {paper.config_hash()}
    for name in FIELDS:
        on = paper.replace(**{name: 2})
        assert on.key_dict()[name] == 2
        hashes.add(on.config_hash())
    assert len(hashes) == 3


@pytest.mark.parametrize("name", FIELDS)
def test_a_negative_count_is_one_clear_error(name):
    with pytest.raises(UserError) as err:
        RefinerConfig(**{name: -1})
    msg = str(err.value)
    assert "\n" not in msg
    assert msg == f"refiner config: {name} out of range (must be >= 0, got -1)"
    with pytest.raises(UserError, match=f"{name} must be int"):
        RefinerConfig(**{name: 1.5})


# -- (b), (c) the light head: the identity at first, then only a plane of gain -------------------


@pytest.mark.parametrize("noise", [0, 2])
def test_a_residual_refiner_with_light_starts_as_the_exact_identity(demo, tiny_config, noise):
    torch.manual_seed(0)
    cfg = tiny_config(refiner_residual=True, refiner_light=2, refiner_noise=noise)
    net = make_refiner(cfg).eval()
    assert not net.light.mlp[2].weight.any() and not net.light.mlp[2].bias.any()
    images = demo("sim")["images"][:11]
    net.noise_seed = 3
    np.testing.assert_array_equal(_refined(net, images, batch_size=4), images)
    x = to_tensor(images, cfg.input_hw)
    with torch.no_grad():
        assert torch.allclose(net(x), x, rtol=0, atol=1e-6)


def _plane_fit(ratio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least squares ratio ~ c0 + c1 u + c2 v per image, u across the width and v down the
    height, both in [-1, 1]: ((B, 3) coefficients, (B,) largest residual)."""
    b, _, h, w = ratio.shape
    v, u = torch.meshgrid(
        torch.linspace(-1, 1, h, dtype=torch.float64),
        torch.linspace(-1, 1, w, dtype=torch.float64),
        indexing="ij",
    )
    a = torch.stack([torch.ones_like(u), u, v], -1).reshape(-1, 3)
    r = ratio.reshape(b, -1).double()
    coef = torch.linalg.lstsq(a.expand(b, -1, -1), r.unsqueeze(-1)).solution[..., 0]
    resid = (r - coef @ a.T).abs().amax(1)
    return coef, resid


def test_the_light_head_multiplies_by_a_plane_and_moves_no_edge():
    """out / in, both as grey in [0, 1], is gain * (1 + a u + b v) with the head's own (a, b,
    gain): a ratio with no structure of the image in it, so an edge (an iris) stays where it is.
    Grey is kept in [0.2, 0.3] so even a gain of 2 times a +50 % gradient does not clip."""
    torch.manual_seed(1)
    light = _relit(GlobalLight(3), scale=0.5, seed=1)
    b, h, w = 6, 35, 55
    grey = 0.2 + 0.1 * torch.rand(b, 1, h, w)  # texture and edges of its own
    grey[:, :, :, 20:30] = 0.21  # a dark band: an edge down the image
    y = grey * 2 - 1
    z = torch.randn(b, 3)
    with torch.no_grad():
        out = light(y, z)
        p = torch.tanh(light.mlp(z))
    assert out.shape == y.shape and out.dtype == y.dtype
    ratio = ((out + 1) / 2) / ((y + 1) / 2)
    coef, resid = _plane_fit(ratio)
    assert resid.max() < 1e-5  # a plane, nothing of the image
    gain = torch.exp(GlobalLight.MAX_LOG_GAIN * p[:, 2]).double()
    a, bv = ((GlobalLight.MAX_GRADIENT * p[:, i]).double() for i in (0, 1))
    want = torch.stack([gain, gain * a, gain * bv], 1)
    torch.testing.assert_close(coef, want, rtol=1e-5, atol=1e-5)
    # not a trivial plane: the draws differ per image and the gradients are there
    assert gain.std() > 0.01 and a.abs().max() > 0.01 and bv.abs().max() > 0.01


def test_the_light_head_is_bounded_whatever_its_weights():
    """Saturated weights: gain within [0.5, 2] (exp(+-0.7)), gradients within +-0.5."""
    light = _relit(GlobalLight(2), scale=100.0, seed=2)
    y = torch.full((64, 1, 9, 9), -0.6)  # grey 0.2: gain 2 x 1.5 = 0.6, no clipping
    with torch.no_grad():
        out = light(y, torch.randn(64, 2, generator=torch.Generator().manual_seed(0)))
    coef, resid = _plane_fit(((out + 1) / 2) / ((y + 1) / 2))
    assert resid.max() < 1e-5
    gain, a, b = coef[:, 0], coef[:, 1] / coef[:, 0], coef[:, 2] / coef[:, 0]
    assert gain.min() >= np.exp(-0.7) - 1e-5 and gain.max() <= np.exp(0.7) + 1e-5
    assert a.abs().max() <= 0.5 + 1e-5 and b.abs().max() <= 0.5 + 1e-5
    assert gain.max() > 1.9 and gain.min() < 0.51  # saturated both ways: the bounds are reached
    # per axis up to +-50 %: a corner where both gradients darken goes to black, never below
    assert bool((out >= -1).all()) and bool((out < 1).all())


# -- (d), (e) refined stores: per-image draws, seeded by the run ---------------------------------


def _draws(net, n: int, batch: int, start: int = 0) -> dict[str, torch.Tensor]:
    """What iter_refined hands R for rows start..n (n distinct images) in batches of ``batch``."""
    x = torch.zeros(n, 1, *net.input_hw)
    images = np.random.default_rng(0).integers(0, 256, (n, *net.input_hw), dtype=np.uint8)
    parts: dict[str, list] = {}
    for s in range(start, n, batch):
        for k, v in _noise_for(net, images[s : s + batch], x[s : s + batch]).items():
            parts.setdefault(k, []).append(v)
    return {k: torch.cat(v) for k, v in parts.items()}


def _same_up_to_float(a: np.ndarray, b: np.ndarray) -> None:
    """Equal but where the convolutions' float sums, blocked by batch size, round a pixel the
    other way: the paper's R(x) is no closer to batch-size invariant than that."""
    assert a.shape == b.shape
    diff = np.abs(a.astype(np.int16) - b)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3, (diff.max(), (diff > 0).mean())


@pytest.mark.parametrize(("noise", "light"), [(2, 0), (0, 2), (2, 2)])
def test_refined_rows_do_not_depend_on_the_batch_or_the_resume_point(
    demo, tiny_config, noise, light
):
    net = _random_refiner(tiny_config, noise, light)
    net.noise_seed = 4
    # the draws of each row are exactly the same however the rows are batched or resumed
    full_draws = _draws(net, 17, 10)
    assert set(full_draws) == {k for k, on in (("noise", noise), ("light_z", light)) if on}
    for batch, start in ((3, 0), (17, 0), (1, 0), (3, 1), (4, 7)):
        got = _draws(net, 17, batch, start)
        for k, v in full_draws.items():
            assert torch.equal(got[k], v[start:]), (k, batch, start)
    # and so are the refined rows (up to float rounding)
    images = demo("sim")["images"][:17]
    full = _refined(net, images, batch_size=10)
    _same_up_to_float(_refined(net, images, batch_size=3), full)
    _same_up_to_float(_refined(net, images, batch_size=17), full)
    for k in (1, 7):  # a resumed write starting at row k
        _same_up_to_float(_refined(net, images, start=k, batch_size=3), full[k:])
    # the draw belongs to the image, not to its row: one image in every row refines alike,
    # and distinct images draw distinct noise and light
    same = np.repeat(images[:1], 6, axis=0)
    assert len({r.tobytes() for r in _refined(net, same, batch_size=4)}) == 1
    draws = _noise_for(net, images, torch.zeros(len(images), 1, *net.input_hw))
    for v in draws.values():
        assert len({d.numpy().tobytes() for d in v}) == len(images)
    # another run's seed draws otherwise
    net.noise_seed = 5
    other = _refined(net, images, batch_size=10)
    assert (other != full).mean() > 0.05


def test_the_paper_refiner_ignores_the_seed(demo, tiny_config):
    net = _random_refiner(tiny_config, 0, 0)
    images = demo("sim")["images"][:5]
    a = _refined(net, images, batch_size=2)
    net.noise_seed = 9
    np.testing.assert_array_equal(_refined(net, images, batch_size=5), a)


def test_load_refiner_round_trip_keeps_the_draws(tmp_path, demo, tiny_config):
    cfg = tiny_config(refiner_noise=2, refiner_light=3, seed=6, device="cpu", precision="fp32")
    torch.manual_seed(0)
    net = make_refiner(cfg)
    _relit(net.light, seed=3)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    torch.save(net.state_dict(), run / "refiner.pt")
    loaded = load_refiner(run, "cpu")
    assert loaded.noise_channels == 2 and loaded.light_dims == 3
    assert loaded.noise_seed == 6 and loaded.config_hash == cfg.config_hash()
    assert not loaded.training
    images = demo("sim")["images"][:9]
    net.eval().noise_seed = 6
    want = _refined(net, images, batch_size=4)
    np.testing.assert_array_equal(_refined(loaded, images, batch_size=4), want)
    # the run's seed is the store's: the same weights under another run seed refine otherwise
    (run / "config.json").write_text(json.dumps(cfg.replace(seed=7).to_dict()))
    assert (_refined(load_refiner(run, "cpu"), images, batch_size=4) != want).any()


# -- (f) training reaches the light head ----------------------------------------------------------


def _light_last(state: dict) -> torch.Tensor:
    return torch.cat([state["light.mlp.2.weight"].flatten(), state["light.mlp.2.bias"]])


def test_the_adversarial_loss_moves_the_light_head_and_pretraining_does_not(demo, tiny_config):
    sim, wild = demo("sim"), demo("wild")
    cfg = tiny_config(refiner_light=2, refiner_noise=1, refiner_residual=True, device="cpu")
    t = Trainer(sim["images"], wild["images"], cfg)
    t.r_step(pretrain=True)  # L1 at the identity: no gradient anywhere, the head stays off
    assert not _light_last(t.R.state_dict()).any()
    t.r_step(pretrain=False)
    assert _light_last(t.R.state_dict()).abs().max() > 1e-5


def test_a_smoke_run_with_light_trains_its_head_and_resumes_bit_for_bit(
    tmp_path, demo, tiny_config, monkeypatch
):
    sim, wild = demo("sim"), demo("wild")
    cfg = tiny_config(refiner_light=2, refiner_noise=1, refiner_residual=True, device="cpu")

    def train(run_dir, **kw):
        return train_refiner(sim["images"], wild["images"], cfg, run_dir, progress=False, **kw)

    summary = train(tmp_path / "a")
    assert summary["config_hash"] == cfg.config_hash()
    state = torch.load(tmp_path / "a" / "refiner.pt", weights_only=True)
    assert _light_last(state).abs().max() > 1e-5  # moved from its zero init
    # the training draws come from the checkpointed RNG: killed after step 4, resumed, the same
    real_step, calls = Trainer.r_step, {"n": 0}

    def dying_r_step(self, pretrain):
        calls["n"] += 1
        if calls["n"] == 6:  # inside main step 6, after the checkpoint at step 4
            raise KeyboardInterrupt
        return real_step(self, pretrain)

    monkeypatch.setattr(Trainer, "r_step", dying_r_step)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b")
    monkeypatch.setattr(Trainer, "r_step", real_step)
    assert load_checkpoint(tmp_path / "b")["step"] == 4
    train(tmp_path / "b", resume=True)
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    for key in ("refiner", "discriminator"):
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)
    images = sim["images"][:7]
    np.testing.assert_array_equal(
        _refined(load_refiner(tmp_path / "a", "cpu"), images),
        _refined(load_refiner(tmp_path / "b", "cpu"), images),
    )


def test_a_store_written_in_chunks_draws_as_one_written_whole(tmp_path, demo, tiny_config):
    from refine.simgan import SimGANRefiner

    cfg = tiny_config(refiner_noise=2, refiner_light=2, device="cpu", precision="fp32")
    torch.manual_seed(0)
    net = make_refiner(cfg)
    _relit(net.light)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(cfg.to_dict()))
    torch.save(net.state_dict(), run / "refiner.pt")
    images = demo("sim")["images"][:8]
    refiner = SimGANRefiner.from_run(run, "cpu", batch_size=4)
    # the store writer calls transform() once per chunk: the second chunk must not repeat the
    # first one's draws (it did while draws were numbered by row within each call)
    chunked = np.concatenate([refiner.transform(images[s : s + 4]) for s in (0, 4)])
    _same_up_to_float(chunked, refiner.transform(images))
    swapped = np.concatenate([images[4:], images[:4]])
    _same_up_to_float(refiner.transform(swapped)[:4], chunked[4:])
