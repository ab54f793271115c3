"""lightmatch (refine/lightmatch.py): synthetic eyes relit with the real pool's light, no GAN.
Its output's plane moments are the real pool's; each image changes by a plane of gain only (no
edge moves); draws are per image (any chunking gives the same store). Demo eyes: seconds."""

from __future__ import annotations

import numpy as np
import pytest

from refine.light import plane_features
from refine.lightmatch import LightMatchRefiner
from refine.registry import checked_transform, create_refiner, list_refiners

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def fitted(demo):
    """(refiner fitted on demo sim -> wild, sim images, wild images, refined sim images)."""
    sim, wild = demo("sim")["images"], demo("wild")["images"]
    refiner = LightMatchRefiner().fit(sim, wild)
    return refiner, sim, wild, refiner.transform(sim)


def test_the_output_has_the_real_pools_light(fitted):
    refiner, sim, wild, out = fitted
    assert refiner.mean_.shape == (3,) and refiner.scale_.shape == (3, 3)
    assert refiner.mean_.dtype == refiner.scale_.dtype == np.float32
    p_sim, p_wild, p_out = plane_features(sim), plane_features(wild), plane_features(out)
    assert p_wild[:, 0].mean() < p_sim[:, 0].mean() - 0.3  # the gap to close: wild is darker
    assert abs(p_out[:, 0].mean() - p_wild[:, 0].mean()) < 0.05  # log brightness
    assert abs(p_out[:, 0].std() - p_wild[:, 0].std()) < 0.25 * p_wild[:, 0].std()
    for k in (1, 2):  # left-right and top-bottom relative gradients: spread per eye
        assert p_out[:, k].std() > 2 * p_sim[:, k].std()
        assert abs(p_out[:, k].std() - p_wild[:, k].std()) < 0.25 * p_wild[:, k].std()
        assert abs(p_out[:, k].mean() - p_wild[:, k].mean()) < 0.05


def test_each_image_changes_by_a_plane_of_gain_only(fitted):
    """out = in * (a + b u + c v) up to rounding to whole grey levels, on the pixels not
    clipped at 255: nothing of the image (no edge, no iris) is in the gain."""
    _, sim, _, out = fitted
    h, w = sim.shape[1:]
    u, v = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
    gains = []
    for x, y in zip(sim.astype(np.float64), out.astype(np.float64), strict=True):
        keep = y < 255
        a = np.stack([x, x * u, x * v], -1)[keep]  # (pixels, 3)
        coef, *_ = np.linalg.lstsq(a, y[keep], rcond=None)
        res = y[keep] - a @ coef  # grey levels: rounding to whole levels is uniform, rms 0.29
        assert np.sqrt((res**2).mean()) < 0.35 and np.abs(res).max() < 1.0  # a shift: > 10
        gains.append(coef)
    gains = np.array(gains)
    assert gains[:, 0].std() > 0.05 and np.abs(gains[:, 1:]).mean() > 0.02  # per-eye light


def test_draws_belong_to_the_image_not_to_the_chunk(fitted):
    refiner, sim, wild, out = fitted
    halves = np.concatenate([refiner.transform(sim[:37]), refiner.transform(sim[37:])])
    np.testing.assert_array_equal(halves, out)
    np.testing.assert_array_equal(refiner.transform(sim[10:11]), out[10:11])
    same = refiner.transform(np.repeat(sim[:1], 5, axis=0))
    assert len({r.tobytes() for r in same}) == 1
    np.testing.assert_array_equal(same[0], out[0])
    other = LightMatchRefiner(seed=1).fit(sim, wild).transform(sim)
    assert (other != out).any(axis=(1, 2)).mean() > 0.9  # another seed: other draws


def test_registered_and_follows_the_contract(demo):
    assert "lightmatch" in list_refiners()
    refiner = create_refiner("lightmatch", seed=3)
    assert isinstance(refiner, LightMatchRefiner) and refiner.get_params() == {"seed": 3}
    sim, wild = demo("sim"), demo("wild")["images"]
    refiner.fit(sim["images"], wild, synthetic_gaze_pitchyaw_rad=sim["gaze_pitchyaw_rad"])
    out = checked_transform(refiner, "lightmatch", sim["images"][:8])
    assert out.dtype == np.uint8 and out.shape == (8, 36, 60)
