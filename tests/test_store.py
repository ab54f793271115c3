import json
import os

import numpy as np
import pytest

from benchmarks.datasets.store import StoreError, is_store, open_store, write_store
from benchmarks.datasets.writer import StoreWriter


def fields(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        images=rng.integers(0, 256, (n, 36, 60), dtype=np.uint8),
        gaze_pitchyaw_rad=rng.uniform(-0.5, 0.5, (n, 2)).astype(np.float32),
        head_pitchyaw_rad=rng.uniform(-0.3, 0.3, (n, 2)).astype(np.float32),
        subject=rng.integers(0, 5, n).astype(np.int32),
        eye=rng.integers(0, 2, n).astype(np.uint8),
    )


def test_round_trip_memory_mapped(tmp_path):
    f = fields()
    s = write_store(tmp_path / "s", **f, source="test", options={"a": 1})
    s2 = open_store(tmp_path / "s", verify_checksum=True)
    assert len(s2) == 10 and s2.source == "test" and s2.manifest["options"] == {"a": 1}
    assert isinstance(s2.images, np.memmap)
    for k, v in f.items():
        np.testing.assert_array_equal(getattr(s2, k), v)
    assert s2.manifest["fields"]["images"]["shape"] == [10, 36, 60]
    assert s.checksum == s2.checksum
    assert s2.eye_data().images.shape == (10, 36, 60)


def test_checksum_depends_on_content(tmp_path):
    a = write_store(tmp_path / "a", **fields(seed=0), source="t")
    b = write_store(tmp_path / "b", **fields(seed=1), source="t")
    assert a.checksum != b.checksum


def test_verify_checksum_catches_corruption(tmp_path):
    write_store(tmp_path / "s", **fields(), source="t")
    arr = np.load(tmp_path / "s" / "images.npy", mmap_mode="r+")
    arr[0, 0, 0] ^= 0xFF
    arr.flush()
    del arr
    open_store(tmp_path / "s")  # cheap open does not hash
    with pytest.raises(StoreError, match="checksum"):
        open_store(tmp_path / "s", verify_checksum=True)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("images", np.zeros((10, 36, 59), np.uint8), r"field images: expected shape \(N, 36, 60\)"),
        ("images", np.zeros((10, 36, 60), np.float32), "field images: expected dtype uint8"),
        ("gaze_pitchyaw_rad", np.zeros((9, 2), np.float32), "field gaze_pitchyaw_rad: has 9 rows"),
        ("head_pitchyaw_rad", np.full((10, 2), np.nan, np.float32), "head_pitchyaw_rad: 10 row"),
        ("eye", np.full(10, 3, np.uint8), "field eye"),
    ],
)
def test_bad_input_is_refused_naming_store_and_field(tmp_path, field, value, message):
    f = fields()
    f[field] = value
    with pytest.raises(StoreError, match=message) as e:
        write_store(tmp_path / "bad", **f, source="t")
    assert str(tmp_path / "bad") in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "bad").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bad")]  # no temp left


def test_open_refuses_wrong_length_and_nan_on_disk(tmp_path):
    write_store(tmp_path / "s", **fields(), source="t")
    np.save(tmp_path / "s" / "subject.npy", np.zeros(7, np.int32))
    with pytest.raises(StoreError, match=r"s: field subject: shape \(7,\)"):
        open_store(tmp_path / "s")
    write_store(tmp_path / "t", **fields(), source="t")
    g = np.zeros((10, 2), np.float32)
    g[3, 1] = np.nan
    np.save(tmp_path / "t" / "gaze_pitchyaw_rad.npy", g)
    with pytest.raises(StoreError, match="first at row 3"):
        open_store(tmp_path / "t")


def test_missing_manifest_means_not_a_store(tmp_path):
    (tmp_path / "half").mkdir()
    np.save(tmp_path / "half" / "images.npy", np.zeros((1, 36, 60), np.uint8))
    assert not is_store(tmp_path / "half")
    with pytest.raises(StoreError, match="manifest.json is missing"):
        open_store(tmp_path / "half")
    with pytest.raises(StoreError, match="no such store"):
        open_store(tmp_path / "nowhere")


def test_killed_write_leaves_no_store(tmp_path, monkeypatch):
    # Simulate a kill during the write: the manifest write fails; the target must not appear.
    import benchmarks.datasets.store as store_mod

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_mod, "write_json_atomic", boom)
    with pytest.raises(KeyboardInterrupt):
        write_store(tmp_path / "s", **fields(), source="t")
    assert not (tmp_path / "s").exists()


def test_existing_store_needs_overwrite(tmp_path):
    write_store(tmp_path / "s", **fields(seed=0), source="t")
    with pytest.raises(StoreError, match="already exists"):
        write_store(tmp_path / "s", **fields(seed=1), source="t")
    s = write_store(tmp_path / "s", **fields(seed=1), source="t", overwrite=True)
    np.testing.assert_array_equal(s.images, fields(seed=1)["images"])


def test_writer_streams_and_resumes(tmp_path):
    f = fields(n=25)
    out = tmp_path / "big"
    w = StoreWriter(out, 25, source="t", key="k1")
    w.write(0, **{k: v[:10] for k, v in f.items()})
    w.commit(10)
    w.write(10, **{k: v[10:20] for k, v in f.items()})  # written but not committed: the "kill"
    del w
    assert not is_store(out)
    w2 = StoreWriter(out, 25, source="t", key="k1")
    assert w2.n_done == 10
    w2.write(10, **{k: v[10:] for k, v in f.items()})
    w2.commit(25)
    s = w2.finalize()
    for k, v in f.items():
        np.testing.assert_array_equal(getattr(s, k), v)
    assert not (tmp_path / ".big.partial").exists()
    # Same content as a one-shot write.
    assert s.checksum == write_store(tmp_path / "one", **f, source="t").checksum


def test_writer_with_other_key_starts_over_and_refuses_unfinished(tmp_path):
    f = fields(n=5)
    w = StoreWriter(tmp_path / "s", 5, source="t", key="a")
    w.write(0, **{k: v[:3] for k, v in f.items()})
    w.commit(3)
    w2 = StoreWriter(tmp_path / "s", 5, source="t", key="b")
    assert w2.n_done == 0
    with pytest.raises(StoreError, match="only 0 of 5 rows"):
        w2.finalize()


def test_manifest_is_valid_json_with_counts(tmp_path):
    write_store(tmp_path / "s", **fields(n=4), source="t")
    m = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert m["count"] == 4 and m["checksum"].startswith("sha256:")
    assert os.listdir(tmp_path) == ["s"]
