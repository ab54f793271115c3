import re

import numpy as np
import pytest

from benchmarks.datasets.demo import render_domain
from benchmarks.datasets.demo_looks import LOOKS
from benchmarks.datasets.prepare_demo import prepare_demo
from benchmarks.datasets.store import StoreError, open_store


def test_deterministic_by_seed_and_prefix_stable():
    a = render_domain("wild", 300, seed=3)
    b = render_domain("wild", 300, seed=3)
    c = render_domain("wild", 300, seed=4)
    np.testing.assert_array_equal(a["images"], b["images"])
    assert not np.array_equal(a["images"], c["images"])
    longer = render_domain("wild", 1100, seed=3)  # crosses a block boundary
    np.testing.assert_array_equal(longer["images"][:300], a["images"])
    np.testing.assert_array_equal(longer["gaze_pitchyaw_rad"][:300], a["gaze_pitchyaw_rad"])


@pytest.mark.parametrize("domain", ["sim", "lab", "wild"])
def test_shapes_dtypes_and_label_ranges(domain):
    r = render_domain(domain, 500, seed=0)
    assert r["images"].shape == (500, 36, 60) and r["images"].dtype == np.uint8
    look = LOOKS[domain]
    deg = np.degrees(r["gaze_pitchyaw_rad"])
    assert (
        look.gaze_pitch[2] - 1e-3 <= deg[:, 0].min()
        and deg[:, 0].max() <= look.gaze_pitch[3] + 1e-3
    )
    assert look.gaze_yaw[2] - 1e-3 <= deg[:, 1].min() and deg[:, 1].max() <= look.gaze_yaw[3] + 1e-3
    head = np.degrees(r["head_pitchyaw_rad"])
    assert np.abs(head).max() <= 36 + 1e-3
    if look.n_subjects:
        assert set(np.unique(r["subject"])) <= set(range(look.n_subjects))
    else:
        assert (r["subject"] == -1).all()


def _pupil_column(img):
    # darkest column in the middle rows: a crude pupil locator
    return np.argmin(img[10:26].astype(float).min(0))


def test_pupil_moves_with_yaw_as_the_convention_says():
    r = render_domain("sim", 2000, seed=0)
    yaw = r["gaze_pitchyaw_rad"][:, 1]
    cols = np.array([_pupil_column(im) for im in r["images"]])
    # positive yaw = pupil toward the image left = smaller column
    assert np.corrcoef(yaw, cols)[0, 1] < -0.6


def test_domains_differ_in_image_statistics():
    stats = {}
    for d in ("sim", "lab", "wild"):
        im = render_domain(d, 400, seed=0)["images"].astype(np.float32)
        hf = np.abs(np.diff(im, axis=2)).mean()  # sharpness / noise
        stats[d] = (im.mean(), im.std(axis=(1, 2)).mean(), hf)
    # sim is brightest with most contrast; wild is darkest with the least contrast
    assert stats["sim"][1] > stats["lab"][1] > stats["wild"][1]
    assert stats["sim"][0] > stats["wild"][0] + 20
    # wild's noise/JPEG gives more pixel-to-pixel change relative to its contrast than sim
    assert stats["wild"][2] / stats["wild"][1] > stats["sim"][2] / stats["sim"][1]


def test_prepare_demo_writes_three_stores_and_reuses_them(tmp_path):
    stores = prepare_demo(tmp_path, {"sim": 50, "lab": 40, "wild": 30}, seed=1, progress=False)
    assert {k: len(v) for k, v in stores.items()} == {"sim": 50, "lab": 40, "wild": 30}
    wild = open_store(tmp_path / "wild", verify_checksum=True)
    assert wild.source == "demo:wild" and wild.manifest["demo"] is True
    np.testing.assert_array_equal(wild.images, render_domain("wild", 30, seed=1)["images"])
    mtime = (tmp_path / "wild" / "manifest.json").stat().st_mtime_ns
    prepare_demo(tmp_path, {"wild": 30}, seed=1, progress=False)
    assert (tmp_path / "wild" / "manifest.json").stat().st_mtime_ns == mtime  # reused, not redone
    with pytest.raises(
        StoreError,
        match=re.escape(f"{tmp_path / 'wild'}: already holds") + ".*n: 30 -> 31.*--force",
    ):
        prepare_demo(tmp_path, {"wild": 31}, seed=1, progress=False)  # no silent replace
    prepare_demo(tmp_path, {"wild": 31}, seed=1, force=True, progress=False)
    assert len(open_store(tmp_path / "wild")) == 31
