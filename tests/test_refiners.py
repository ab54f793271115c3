"""The refiner registry and its built-ins: the fit/transform/get_params contract on arrays."""

import numpy as np
import pytest

from estimators.base import UserError
from refine.registry import checked_transform, create_refiner, list_refiners

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def pools():
    from benchmarks.datasets.demo import render_domain

    sim, wild = render_domain("sim", 200, seed=0), render_domain("wild", 200, seed=1)
    return sim, wild["images"]


def test_the_builtins_are_registered():
    assert {"simgan", "identity", "histmatch", "degrade"} <= set(list_refiners())


@pytest.mark.parametrize("name", ["identity", "histmatch", "degrade"])
def test_builtin_follows_the_contract(name, pools):
    sim, real = pools
    refiner = create_refiner(name)
    assert isinstance(refiner.get_params(), dict)
    assert (
        refiner.fit(sim["images"], real, synthetic_gaze_pitchyaw_rad=sim["gaze_pitchyaw_rad"])
        is refiner
    )
    out = refiner.transform(sim["images"])
    assert out.dtype == np.uint8 and out.shape == sim["images"].shape
    # row for row and batch-independent: a slice refines to the slice of the whole
    np.testing.assert_array_equal(refiner.transform(sim["images"][5:9]), out[5:9])


def test_identity_changes_nothing(pools):
    sim, real = pools
    out = create_refiner("identity").fit(sim["images"], real).transform(sim["images"])
    np.testing.assert_array_equal(out, sim["images"])


def test_histmatch_takes_the_real_grey_levels_and_keeps_the_pixel_order(pools):
    sim, real = pools
    out = create_refiner("histmatch").fit(sim["images"], real).transform(sim["images"])
    assert abs(out.mean() - real.mean()) < 0.1 * abs(sim["images"].mean() - real.mean()) + 1
    im, o = sim["images"][0].ravel().astype(int), out[0].ravel().astype(int)
    order = np.argsort(im, kind="stable")
    assert (np.diff(o[order]) >= 0).all()  # a monotone grey-level map: layout untouched


def test_degrade_recovers_a_planted_degradation(pools):
    from refine.degrade import DegradeRefiner, _blur, _gamma

    sim, _ = pools
    x = sim["images"]
    rng = np.random.default_rng(0)
    real = _blur(_gamma(x, 1.6), 1.0) + rng.normal(0, 4.0, x.shape)
    real = np.clip(np.rint(real), 0, 255).astype(np.uint8)
    r = DegradeRefiner().fit(x, real)
    assert r.gamma_ == pytest.approx(1.6, abs=0.15)
    assert r.blur_sigma_ == pytest.approx(1.0, abs=0.3)
    assert r.noise_sigma_ == pytest.approx(4.0, abs=1.5)


def test_bad_input_and_unknown_names_are_one_line_errors(pools):
    sim, real = pools
    with pytest.raises(UserError, match="unknown refiner 'nope'"):
        create_refiner("nope")
    with pytest.raises(UserError, match=r"\(N, 36, 60\) uint8"):
        create_refiner("identity").fit(sim["images"].astype(np.float32), real)
    with pytest.raises(UserError, match="dtype float32"):
        checked_transform(_FloatOut(), "identity", sim["images"][:3])


class _FloatOut:
    def transform(self, images):
        return images.astype(np.float32)


def test_simgan_trains_and_refines_behind_the_same_interface(
    pools, tiny_refiner_settings, tmp_path
):
    sim, real = pools
    refiner = create_refiner("simgan", config=tiny_refiner_settings, run_dir=str(tmp_path / "run"))
    refiner.fit(sim["images"], real, **{
        "synthetic_gaze_pitchyaw_rad": sim["gaze_pitchyaw_rad"],
        "synthetic_head_pitchyaw_rad": sim["head_pitchyaw_rad"],
    })  # fmt: skip
    assert (tmp_path / "run" / "complete.json").is_file()  # a normal, resumable run directory
    out = refiner.transform(sim["images"][:16])
    assert out.dtype == np.uint8 and out.shape == (16, 36, 60)
    again = create_refiner("simgan", config=tiny_refiner_settings, run_dir=str(tmp_path / "run"))
    np.testing.assert_array_equal(again.fit(sim["images"], real).transform(sim["images"][:16]), out)
