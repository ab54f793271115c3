"""The no-refit label check and the renderer-measured iris shift: tone-only refiners keep the label
(ratio <= 1.05), a refiner that moves the iris by 2 px does not; the iris shift reads 2 px back."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.datasets.demo import render_domain
from benchmarks.datasets.demo_iris import iris_shift, render_sim_with_iris
from refine.degrade import DegradeRefiner
from refine.histmatch import HistMatchRefiner
from refine.labelcheck import fit_gaze_probe, no_refit_errors, probe_rows
from refine.probe import ProbeSpec, rank_normalise

pytestmark = pytest.mark.slow  # one probe of 600 steps (~40 s on 2 cores) serves the module


@pytest.fixture(scope="module")
def probe_and_eval():
    train = render_sim_with_iris(4000, seed=1)
    probe = fit_gaze_probe(
        train["images"], train["gaze_pitchyaw_rad"], train["head_pitchyaw_rad"], ProbeSpec()
    )
    x = render_sim_with_iris(800, seed=2)
    moved = render_sim_with_iris(800, seed=2, iris_shift_px=(2.0, 0.0))
    wild = render_domain("wild", 1500, seed=5)["images"]
    return probe, x, moved, wild, train["images"]


def _ratio(probe, x, images) -> float:
    out = no_refit_errors(
        probe, x["images"], images, x["gaze_pitchyaw_rad"], x["head_pitchyaw_rad"]
    )
    return out["label_ratio_no_refit"]


def test_tone_only_refiners_keep_the_label(probe_and_eval):
    probe, x, _, wild, sim_train = probe_and_eval
    assert _ratio(probe, x, x["images"]) == pytest.approx(1.0)
    hm = HistMatchRefiner().fit(sim_train, wild).transform(x["images"])
    dg = DegradeRefiner().fit(sim_train, wild).transform(x["images"])
    assert np.abs(hm.astype(int) - x["images"]).mean() > 20  # they do change the image a lot
    assert np.abs(dg.astype(int) - x["images"]).mean() > 20
    assert _ratio(probe, x, hm) <= 1.05
    assert _ratio(probe, x, dg) <= 1.05


def test_a_moved_iris_breaks_the_label(probe_and_eval):
    probe, x, moved, *_ = probe_and_eval
    assert _ratio(probe, x, moved["images"]) > 1.3


def test_the_frozen_probe_sees_what_a_refit_cannot(probe_and_eval):
    """A refit ridge re-learns a systematic remap; the frozen probe does not: moving every iris by
    2 px leaves the refit's error about where it was."""
    from refine.diagnostics import gaze_errors

    probe, x, moved, *_ = probe_and_eval
    g = gaze_errors(x["images"], moved["images"], x["gaze_pitchyaw_rad"], x["head_pitchyaw_rad"])
    refit_ratio = g["gaze_err_deg_refit_on_refined"] / g["gaze_err_deg_on_x"]
    assert refit_ratio < 1.1 < _ratio(probe, x, moved["images"])


def test_rank_normalise_ignores_increasing_grey_maps():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (3, 36, 60)).astype(np.uint8)
    y = np.round(255 * (x / 255.0) ** 2.2 * 0.5 + 30)  # gamma, gain, offset: order kept
    # ties can only merge (not split), so compare where the map stays injective
    a, b = rank_normalise(x).numpy(), rank_normalise(y).numpy()
    assert a.shape == (3, 1, 36, 60) and a.min() >= -1 and a.max() <= 1
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.999


def test_probe_rows_are_fixed_by_seed_and_leave_half():
    a, b = probe_rows(10_000, seed=3), probe_rows(10_000, seed=3)
    assert np.array_equal(a, b) and len(a) == 4000 and np.all(np.diff(a) > 0)
    assert len(probe_rows(100, seed=3)) == 50
    assert not np.array_equal(a, probe_rows(10_000, seed=4))


def test_iris_shift_reads_a_planted_move_back():
    def plant(images):  # the same renders with every iris drawn 2 px to the right
        assert images.shape == (300, 36, 60)
        return render_sim_with_iris(300, seed=200, iris_shift_px=(2.0, 0.0))["images"]

    moved = iris_shift(plant, n=300, seed=0)
    still = iris_shift(lambda im: im, n=300, seed=0)
    assert still["iris_shift_px_median"] == 0.0
    assert 1.4 < moved["iris_shift_px_median"] < 2.6
    assert moved["iris_shift_share_over_1px"] > 0.8
    assert moved["locator_err_px_on_x"] < 1.0
