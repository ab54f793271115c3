"""Stores verified on reuse (benchmarks/datasets/verify.py): a store whose files changed in place
keeps its key and manifest checksum, so every reuse re-checks its fingerprint and refuses it."""

import functools
import json

import numpy as np
import pytest

from benchmarks.datasets.store import StoreError, open_store, reuse_store, verify_store, write_store
from benchmarks.datasets.verify import SAMPLE_ROWS, sample_rows
from benchmarks.records.rows import read_rows

pytestmark = pytest.mark.usefixtures("small_probe")  # diagnostics that only need to run

# conftest's profile_toml: 200 synthetic rows, so the damage below hits rows 100-199 or row 137
PROFILE = dict(name="verify", demo=(200, 20, 60, 40), n_train=100)


def _writable(path, field):
    return np.load(path / f"{field}.npy", mmap_mode="r+")


@pytest.mark.parametrize("damage", ["zero half the images", "one label"])
def test_a_store_changed_in_place_is_refused_on_reuse_in_one_line(tmp_path, tiny_bench, damage):
    tiny = tiny_bench(tmp_path, ["mean-synthetic", "mean-refined"], PROFILE, name="verify")
    run = functools.partial(tiny.run, "--no-report", "--no-audit")
    assert run().exit_code == 0
    (synthetic,) = (tmp_path / "work" / "stores" / "demo").glob("synthetic-*")
    checksum = open_store(synthetic).checksum
    if damage == "one label":
        field, rows = _writable(synthetic, "gaze_pitchyaw_rad"), 137
    else:
        field, rows = _writable(synthetic, "images"), slice(100, None)
    field[rows] = 0
    field.flush()
    del field
    assert open_store(synthetic).checksum == checksum  # same key, same manifest: only the files
    r = run()  # every cell is cached: the stores are verified all the same
    assert r.exit_code == 2, r.output
    error = r.output.strip().splitlines()[-1]
    assert error.startswith(f"Error: {synthetic}: its files changed since it was written")
    assert "Traceback" not in r.output and len(read_rows(tmp_path / "res")) == 2


def test_a_fresh_store_verifies_and_its_fingerprint_samples_first_and_last_rows(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    arrays = dict(
        images=rng.integers(0, 256, (n, 36, 60), dtype=np.uint8),
        gaze_pitchyaw_rad=rng.uniform(-0.5, 0.5, (n, 2)).astype(np.float32),
        head_pitchyaw_rad=rng.uniform(-0.3, 0.3, (n, 2)).astype(np.float32),
    )
    store = write_store(tmp_path / "s", **arrays, source="t", options={"a": 1})
    assert verify_store(store) is store and reuse_store(tmp_path / "s", {"a": 1}, False)
    rows = sample_rows(n)
    assert rows[0] == 0 and rows[-1] == n - 1 and len(rows) == SAMPLE_ROWS
    assert list(sample_rows(3)) == [0, 1, 2] and len(sample_rows(0)) == 0
    images = _writable(tmp_path / "s", "images")
    images[n - 1, 0, 0] ^= 1  # one bit of the last row
    images.flush()
    with pytest.raises(StoreError, match="changed since it was written"):
        reuse_store(tmp_path / "s", {"a": 1}, False)


def test_a_store_without_a_fingerprint_is_verified_in_full(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (50, 36, 60), dtype=np.uint8)
    gaze = np.zeros((50, 2), np.float32)
    write_store(tmp_path / "old", images=images, gaze_pitchyaw_rad=gaze,
                head_pitchyaw_rad=gaze, source="t")  # fmt: skip
    manifest = json.loads((tmp_path / "old" / "manifest.json").read_text())
    del manifest["fingerprint"]  # as written before fingerprints existed
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    assert len(verify_store(open_store(tmp_path / "old"))) == 50
    images = _writable(tmp_path / "old", "images")
    images[7] = 0  # one row: the full check of a store without a fingerprint sees it
    images.flush()
    with pytest.raises(StoreError, match="checksum does not match"):
        verify_store(open_store(tmp_path / "old"))
