"""MPIIGaze reader on a tiny dataset written in the real layout: MATLAB v5 day files with the
data.left/right struct and filenames (one single-image day), and Evaluation Subset lists
(the writer: conftest's ``mpiigaze_files``, shared with the real-data pipeline tests)."""

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.datasets.mpiigaze import EVAL_DIR, NORMALIZED_DIR, prepare_mpiigaze
from benchmarks.datasets.mpiigaze_mat import load_day
from benchmarks.datasets.store import StoreError, open_store

D = np.radians


def test_single_image_day_is_unsqueezed(tmp_path, mpiigaze_files):
    mpiigaze_files.write_day(tmp_path / "day.mat", 1)
    raw = scipy.io.loadmat(tmp_path / "day.mat", struct_as_record=False, squeeze_me=True)
    assert raw["data"].left.image.shape == (36, 60) and isinstance(raw["filenames"], str)
    day = load_day(tmp_path / "day.mat")
    assert day.image["left"].shape == (1, 36, 60) and day.gaze["right"].shape == (1, 3)
    assert list(day.filenames) == ["0001.jpg"]


def test_all_and_eval_stores(tmp_path, mpiigaze_files):
    root = mpiigaze_files.root(tmp_path)
    stores = prepare_mpiigaze(root, tmp_path / "out", progress=False)
    a, e = stores["all"], stores["eval"]
    assert len(a) == 2 * (3 + 1 + 2) and a.source == "mpiigaze:all"
    # Order: person, day, left block then right block.
    np.testing.assert_array_equal(a.subject, [0] * 8 + [3] * 4)
    np.testing.assert_array_equal(a.eye, [0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1])
    left, right = a.eye == 0, a.eye == 1
    np.testing.assert_allclose(a.gaze_pitchyaw_rad[left], np.tile(D([0, 30]), (6, 1)), atol=1e-6)
    np.testing.assert_allclose(a.gaze_pitchyaw_rad[right], np.tile(D([10, 0]), (6, 1)), atol=1e-6)
    np.testing.assert_allclose(a.head_pitchyaw_rad[left], np.tile(D([0, 20]), (6, 1)), atol=1e-6)
    np.testing.assert_allclose(a.head_pitchyaw_rad[right], np.tile(D([0, -20]), (6, 1)), atol=1e-6)
    # Left patches as stored (ramp rising to the right, id at column 0); right ones mirrored.
    assert a.images[0, 0, 0] == 10 and a.images[0, 5, 59] == 200
    assert a.images[3, 0, 59] == 110 and a.images[3, 5, 0] == 200
    # Evaluation Subset in list order: p00 day01/0002 left, p00 day02/0001 right, p03 ... right.
    assert len(e) == 3 and e.source == "mpiigaze:eval"
    np.testing.assert_array_equal(e.subject, [0, 0, 3])
    np.testing.assert_array_equal(e.eye, [0, 1, 1])
    assert [e.images[0, 0, 0], e.images[1, 0, 59], e.images[2, 0, 59]] == [11, 120, 130]
    np.testing.assert_allclose(e.gaze_pitchyaw_rad[0], D([0, 30]), atol=1e-6)
    assert e.manifest["subject_names"] == {"0": "p00", "3": "p03"}
    assert a.manifest["excluded_people"] == [] and a.manifest["skipped"] == 0
    assert not (tmp_path / "out" / "all.skipped.txt").exists()
    # A re-run over finished stores returns them untouched.
    again = prepare_mpiigaze(root, tmp_path / "out", progress=False)
    assert again["all"].manifest["created_at"] == a.manifest["created_at"]


def test_exclude_people_only_affects_the_real_set(tmp_path, mpiigaze_files):
    root = mpiigaze_files.root(tmp_path)
    stores = prepare_mpiigaze(root, tmp_path / "out", exclude_people=["p03"], progress=False)
    assert set(stores["all"].subject.tolist()) == {0} and len(stores["all"]) == 8
    assert stores["all"].manifest["excluded_people"] == ["p03"]
    assert stores["all"].manifest["options"]["exclude_people"] == ["p03"]
    assert len(stores["eval"]) == 3
    with pytest.raises(ValueError, match="p09 not found under"):
        prepare_mpiigaze(root, tmp_path / "o2", exclude_people=["p09"], progress=False)
    # other options over a finished store: refused in one line naming it, unless forced
    with pytest.raises(StoreError, match=r"out/all: already holds .*exclude_people.*--force"):
        prepare_mpiigaze(root, tmp_path / "out", progress=False)
    stores = prepare_mpiigaze(root, tmp_path / "out", force=True, progress=False)
    assert stores["all"].manifest["excluded_people"] == [] and set(
        stores["all"].subject.tolist()
    ) == {0, 3}


def test_bad_files_are_skipped_and_listed(tmp_path, mpiigaze_files):
    root = mpiigaze_files.root(tmp_path)
    norm = root / NORMALIZED_DIR / "p00"
    good = (norm / "day01.mat").read_bytes()
    (norm / "day03.mat").write_bytes(good[: len(good) // 2])  # truncated
    mpiigaze_files.write_day(norm / "day04.mat", 2, left_image=np.zeros((2, 36, 59), np.uint8))
    nan_gaze = np.tile(mpiigaze_files.gaze_left, (2, 1))
    nan_gaze[1] = np.nan
    mpiigaze_files.write_day(norm / "day05.mat", 2, left_gaze=nan_gaze)
    lst = root / EVAL_DIR / "p00.txt"
    lst.write_text(lst.read_text() + "day09/0001.jpg left\nday05/0002.jpg left\nday01/0001.jpg\n")
    stores = prepare_mpiigaze(root, tmp_path / "out", progress=False)
    assert len(stores["all"]) == 12 + 3  # day05: 2 right + 1 good left
    assert len(stores["eval"]) == 3
    report = (tmp_path / "out" / "all.skipped.txt").read_text()
    assert f"{norm / 'day03.mat'}: unreadable MATLAB file" in report
    assert (
        f"{norm / 'day04.mat'}: data.left.image has shape (2, 36, 59), expected (2, 36, 60)"
        in report
    )
    assert f"{norm / 'day05.mat'} (0002.jpg, left): NaN/inf" in report
    assert stores["all"].manifest["skipped"] == 3
    ev = (tmp_path / "out" / "eval.skipped.txt").read_text()
    assert f"{lst} line 3: names day09/0001.jpg, which is not in p00/day09.mat" in ev
    assert f"{lst} line 4: day05/0002.jpg left has a NaN/inf or zero label" in ev
    assert f"{lst} line 5: expected 'dayXX/NNNN.jpg left|right', got 'day01/0001.jpg'" in ev
    assert stores["eval"].manifest["skipped_report"] == "eval.skipped.txt"


@pytest.mark.parametrize(
    "layout,message",
    [
        ("missing", "MPIIGaze folder not found"),
        ("empty", "not an MPIIGaze folder (Data/Normalized is missing)"),
        ("no-people", "no person folders p00 ... p14 found"),
    ],
)
def test_unusable_roots_name_the_folder(tmp_path, layout, message):
    root = tmp_path / "MPIIGaze"
    if layout != "missing":
        root.mkdir()
    if layout == "no-people":
        (root / NORMALIZED_DIR).mkdir(parents=True)
        (root / EVAL_DIR).mkdir(parents=True)
    with pytest.raises(StoreError) as err:
        prepare_mpiigaze(root, tmp_path / "out", progress=False)
    assert message in str(err.value) and str(root) in str(err.value)


def test_cli_prepare_and_show(tmp_path, mpiigaze_files):
    root = mpiigaze_files.root(tmp_path)
    out = tmp_path / "out"
    args = ["data", "prepare", "mpiigaze", "--root", str(root), "--out", str(out)]
    r = CliRunner().invoke(main, [*args, "--exclude-people", "p03"])
    assert r.exit_code == 0, r.output
    assert f"{out / 'all'}: 8 images (mpiigaze:all)" in r.output
    assert f"{out / 'eval'}: 3 images (mpiigaze:eval)" in r.output
    for name in ("all", "eval"):
        r = CliRunner().invoke(main, ["data", "show", str(out / name)])
        assert r.exit_code == 0, r.output
    assert open_store(out / "eval", verify_checksum=True).manifest["people"] == ["p00", "p03"]
    r = CliRunner().invoke(main, [*args, "--exclude-people", "x1"])
    assert r.exit_code != 0 and "x1 are not person names" in r.output
