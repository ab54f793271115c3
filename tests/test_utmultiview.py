"""UT Multiview reader on a tiny dataset in the real layout: sNN/{synth,test}/NNN_{left,right}.csv
(9 comma-separated columns) + .zip of 36x60 %08d.bmp in namelist order (the writer: conftest's
``utmultiview_files``, shared with the real-data pipeline tests)."""

import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.datasets.store import StoreError
from benchmarks.datasets.utmultiview import prepare_utmultiview

D = np.radians


def test_both_parts_both_eyes(tmp_path, utmultiview_files):
    s = prepare_utmultiview(utmultiview_files.root(tmp_path), tmp_path / "out", progress=False)
    assert len(s) == 2 * (6 + 4) and s.source == "utmultiview:synth+test"
    # Order: person, then part (synth, test), then target, left before right.
    ids = [s.images[k, 0, 0] if s.eye[k] == 0 else s.images[k, 0, 59] for k in range(len(s))]
    assert ids[:10] == [11, 12, 13, 14, 15, 16, 1, 2, 3, 4]
    np.testing.assert_array_equal(s.subject, [0] * 10 + [7] * 10)
    np.testing.assert_array_equal(s.eye[:10], [0, 0, 0, 1, 1, 1, 0, 0, 1, 1])
    left, right = s.eye == 0, s.eye == 1
    np.testing.assert_allclose(s.gaze_pitchyaw_rad[left], np.tile(D([0, 30]), (10, 1)), atol=1e-6)
    np.testing.assert_allclose(s.gaze_pitchyaw_rad[right], np.tile(D([0, -30]), (10, 1)), atol=1e-6)
    np.testing.assert_allclose(s.head_pitchyaw_rad[left], np.tile(D([0, 20]), (10, 1)), atol=1e-6)
    np.testing.assert_allclose(s.head_pitchyaw_rad[right], np.tile(D([0, -20]), (10, 1)), atol=1e-6)
    assert s.images[3, 5, 0] == 200 and s.images[0, 5, 59] == 200  # right mirrored, left not
    assert s.manifest["parts"] == ["synth", "test"] and s.manifest["options"]["mirror_right"]
    assert "NOT mirrored" in s.manifest["right_eye_assumption"]
    assert s.manifest["subject_names"] == {"0": "s00", "7": "s07"}


def test_one_part_without_mirroring(tmp_path, utmultiview_files):
    root = utmultiview_files.root(tmp_path)
    s = prepare_utmultiview(
        root, tmp_path / "o", parts=["test"], mirror_right=False, progress=False
    )
    assert len(s) == 8 and s.source == "utmultiview:test"
    assert [int(v) for v in s.images[:4, 0, 0]] == [1, 2, 3, 4]  # right eyes stored as read
    np.testing.assert_allclose(
        s.gaze_pitchyaw_rad[s.eye == 1], np.tile(D([0, 30]), (4, 1)), atol=1e-6
    )
    assert "ALREADY mirrored" in s.manifest["right_eye_assumption"]
    assert s.manifest["options"] == {
        "root": str(root.resolve()),
        "parts": ["test"],
        "mirror_right": False,
    }
    with pytest.raises(ValueError, match="parts must be"):
        prepare_utmultiview(root, tmp_path / "o3", parts=["raw"], progress=False)


def test_bad_files_are_skipped_and_listed(tmp_path, utmultiview_files):
    root = utmultiview_files.root(tmp_path)
    t = root / "s00" / "test"
    row = utmultiview_files.csv_row
    utmultiview_files.write_pair(
        t,
        1,
        "left",
        [50, 51, 52],
        csv_lines=[row, "1,2,3,4,5,6,7,8", "nan," + row.split(",", 1)[1]],
    )
    utmultiview_files.write_pair(t, 2, "left", [60, 61], csv_lines=[row])  # 2 images, 1 line
    utmultiview_files.write_pair(t, 3, "left", [70], shape=(36, 59))
    utmultiview_files.write_pair(
        t, 4, "left", [80, 81], csv_lines=[row + ",", row + ","]
    )  # trailing comma: fine
    (t / "005_left.csv").write_text(row + "\n")  # a csv without its zip
    s = prepare_utmultiview(root, tmp_path / "out", parts=["test"], progress=False)
    assert len(s) == 8 + 1 + 2
    report = (tmp_path / "out.skipped.txt").read_text()
    assert f"{t / '001_left.csv'} line 2: 8 columns, expected 9" in report
    assert f"{t / '001_left.csv'} line 3: NaN/inf label" in report
    assert f"{t / '002_left.zip'}: 2 images but 002_left.csv has 1 lines; file skipped" in report
    assert f"{t / '003_left.zip'} member 00000000.bmp: 36x59 image, expected 36x60" in report
    assert f"{t / '005_left.csv'}: no matching 005_left.zip" in report
    assert s.manifest["skipped"] == 5


def test_unusable_roots_name_the_folder(tmp_path):
    with pytest.raises(StoreError, match=f"{tmp_path / 'nope'}: UT Multiview folder not found"):
        prepare_utmultiview(tmp_path / "nope", tmp_path / "o", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match=f"{tmp_path / 'empty'}: no person folders s00"):
        prepare_utmultiview(tmp_path / "empty", tmp_path / "o", progress=False)
    (tmp_path / "nodata" / "s00" / "test").mkdir(parents=True)
    with pytest.raises(StoreError, match="no usable images found .*s00/test: no NNN_left.csv"):
        prepare_utmultiview(tmp_path / "nodata", tmp_path / "o", parts=["test"], progress=False)


def test_cli_prepare_and_show(tmp_path, utmultiview_files):
    root = utmultiview_files.root(tmp_path)
    out = tmp_path / "ut"
    args = ["data", "prepare", "utmultiview", "--root", str(root), "--out", str(out)]
    r = CliRunner().invoke(main, [*args, "--parts", "test", "--no-mirror-right"])
    assert r.exit_code == 0, r.output
    assert f"{out}: 8 images (utmultiview:test)" in r.output
    r = CliRunner().invoke(main, ["data", "show", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, args)  # other options than the finished store
    assert r.exit_code != 0 and "already holds a store made with other options" in r.output
    assert r.output.strip().count("\n") == 0


def test_killed_run_resumes_per_person_and_part(tmp_path, monkeypatch, utmultiview_files):
    import benchmarks.datasets.utmultiview as ut

    root = utmultiview_files.root(tmp_path)
    ref = prepare_utmultiview(root, tmp_path / "ref", progress=False)
    real, calls = ut.read_part, []

    def dies_on_third(part_dir, *a):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(part_dir.relative_to(root).as_posix())
        return real(part_dir, *a)

    monkeypatch.setattr(ut, "read_part", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        prepare_utmultiview(root, tmp_path / "s", progress=False)
    assert calls == ["s00/synth", "s00/test"]
    calls.clear()
    monkeypatch.setattr(ut, "read_part", lambda d, *a: calls.append(d.name) or real(d, *a))
    s = prepare_utmultiview(root, tmp_path / "s", progress=False)
    assert calls == ["synth", "test"]  # only s07's two parts were read again
    assert s.checksum == ref.checksum
