"""UnityEyes reader: label conversion, crop, fault handling, resume. Fixtures are written here in
the renderer's layout (every value a string, y from the bottom, extra blocks to ignore)."""

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import benchmarks.datasets.unityeyes as ue
from benchmarks.cli import main
from benchmarks.datasets.store import StoreError, open_store
from benchmarks.datasets.unityeyes_pair import (
    gaze_from_look_vec,
    head_from_camera_euler,
    read_label,
    read_pair,
)
from benchmarks.datasets.unityeyes_synth import write_unityeyes_pair

D = np.radians


def look(pitch_deg, yaw_deg):
    """A Unity look_vec (y up, z into the scene) for a gaze of the given MPIIGaze pitch/yaw."""
    p, y = D(pitch_deg), D(yaw_deg)
    return (-np.cos(p) * np.sin(y), np.sin(p), -np.cos(p) * np.cos(y))


def test_gaze_labels_hand_computed():
    np.testing.assert_allclose(gaze_from_look_vec(np.array([0, 0, -1, 0.0])), [0, 0], atol=1e-12)
    # Looking up in Unity (y up) is positive pitch.
    up = gaze_from_look_vec(np.array([0, np.sin(D(20)), -np.cos(D(20)), 0]))
    np.testing.assert_allclose(up, D([20, 0]), atol=1e-12)
    # look_x > 0 (toward the image right) is negative yaw (positive yaw = toward image left).
    right = gaze_from_look_vec(np.array([np.sin(D(30)), 0, -np.cos(D(30)), 0]))
    np.testing.assert_allclose(right, D([0, -30]), atol=1e-12)


def test_head_pose_labels_hand_computed():
    np.testing.assert_allclose(head_from_camera_euler(np.array([0, 180, 0.0])), [0, 0], atol=0)
    # Camera pitched down 10 deg (p = 10) sits above the face, which then points down.
    np.testing.assert_allclose(head_from_camera_euler(np.array([10, 180, 0.0])), D([-10, 0]))
    np.testing.assert_allclose(head_from_camera_euler(np.array([350, 180, 0.0])), D([10, 0]))
    np.testing.assert_allclose(head_from_camera_euler(np.array([0, 203.8, 0.0])), D([0, -23.8]))


def test_handwritten_json_y_from_bottom_and_crop(tmp_path):
    """A 120x80 render whose eye box spans x 30..90, y_img 20..36 (centre 60, 28)."""
    h = 80
    margin = [
        (30 + 60 * (1 - np.cos(t)) / 2, 28 + 8 * np.sin(t))
        for t in np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ]
    car = [
        (29 + 0.5 * np.cos(u), 28 + 0.5 * np.sin(u))
        for u in np.linspace(0, 2 * np.pi, 7, endpoint=False)
    ]

    def pts(ps):
        return ", \n".join(f'    "({x:.4f}, {h - y:.4f}, 8.9000)" ' for x, y in ps)

    text = (
        '{ \n  "interior_margin_2d": [ \n' + pts(margin) + "\n    ], \n"
        '  "caruncle_2d": [ \n' + pts(car) + "\n    ], \n"
        '  "iris_2d": [ \n' + pts(margin * 2) + "\n    ], \n"
        '  "eye_details": { \n    "look_vec": "(0.0000, 0.0000, -1.0000, 0.0000)", \n'
        '    "pupil_size": "0.1", \n    "iris_texture": "eyeball_brown"\n    }, \n'
        '  "lighting_details": { \n    "skybox_rotation": "231"\n    }, \n'
        '  "eye_region_details": { \n    "pca_shape_coeffs": [ \n      "1.9E-17"\n      ]\n    }, \n'
        '  "head_pose": "(0.0000, 180.0000, 0.0000)"\n  }'
    )
    (tmp_path / "1.json").write_text(text)
    img = np.full((h, 120), 20, np.uint8)
    img[26:31, 58:63] = 250  # a bright mark at the eye-box centre (row 28, col 60)
    cv2.imwrite(str(tmp_path / "1.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 100])
    lab = read_label(tmp_path / "1.json")
    assert lab["margin"].shape == (16, 3) and lab["caruncle"].shape == (7, 3)
    row = read_pair(tmp_path / "1.jpg", tmp_path / "1.json")
    patch = row["images"][0]
    assert patch.shape == (36, 60)
    # scale = 60 / (1.5 * 60) = 2/3: the 5x5 mark lands ~3x3 at the patch centre (18, 30).
    assert patch[17:20, 29:32].min() > 180
    assert patch[:10].max() < 60 and patch[26:].max() < 60  # rows 52 (the unflipped y) are dark
    np.testing.assert_allclose(row["gaze_pitchyaw_rad"], [[0, 0]], atol=1e-7)
    np.testing.assert_allclose(row["head_pitchyaw_rad"], [[0, 0]], atol=1e-7)


def test_pupil_up_gives_positive_pitch_and_a_pupil_high_in_the_patch(tmp_path):
    write_unityeyes_pair(tmp_path, 1, look_vec=look(25, 0), head_pose=(0, 180, 0))
    write_unityeyes_pair(tmp_path, 2, look_vec=look(-25, 0), head_pose=(0, 180, 0))
    up = read_pair(tmp_path / "1.jpg", tmp_path / "1.json")
    down = read_pair(tmp_path / "2.jpg", tmp_path / "2.json")
    assert up["gaze_pitchyaw_rad"][0, 0] == pytest.approx(D(25), abs=1e-3)
    assert down["gaze_pitchyaw_rad"][0, 0] == pytest.approx(D(-25), abs=1e-3)

    def dark_row(patch):  # mean row of the darkest pixels = where the pupil is
        return np.argwhere(patch < 40)[:, 0].mean()

    assert dark_row(up["images"][0]) < dark_row(down["images"][0]) - 3


def make_folder(root, n, size=(640, 480)):
    rng = np.random.default_rng(0)
    for k in range(1, n + 1):
        p, y = rng.uniform(-30, 30, 2)
        write_unityeyes_pair(root, k, size=size, look_vec=look(p, y), head_pose=(5, 175, 0), seed=k)


def test_prepare_sorts_numerically_and_skips_bad_pairs(tmp_path):
    src = tmp_path / "ue"
    for k, yaw in [(1, 1), (2, 2), (10, 10)]:
        write_unityeyes_pair(src, k, size=(320, 240), look_vec=look(0, yaw))
    write_unityeyes_pair(src, 3, size=(320, 240))
    d = json.loads((src / "3.json").read_text())
    del d["head_pose"]
    (src / "3.json").write_text(json.dumps(d))
    write_unityeyes_pair(src, 4, size=(320, 240))
    data = (src / "4.jpg").read_bytes()
    (src / "4.jpg").write_bytes(data[: len(data) // 2])  # truncated mid-scan: decodes grey
    write_unityeyes_pair(src, 5, size=(320, 240))
    (src / "5.json").unlink()  # a jpg without json
    write_unityeyes_pair(src, 6, size=(320, 240))
    (src / "6.json").write_text(
        (src / "6.json").read_text().replace("(0.0000, 0.0000, -1.0000", "(nan, 0.0000, -1.0000")
    )
    write_unityeyes_pair(src, 7, size=(320, 240))
    cv2.imwrite(str(src / "7.jpg"), np.zeros((60, 80), np.uint8))  # smaller than its json's render
    write_unityeyes_pair(src, 8, size=(320, 240), look_vec=(0.0, 0.0, 0.0))  # no direction
    s = ue.prepare_unityeyes(src, tmp_path / "out", jobs=1, shard_size=3, progress=False)
    assert len(s) == 3 and s.source == "unityeyes"
    np.testing.assert_allclose(np.degrees(s.gaze_pitchyaw_rad[:, 1]), [1, 2, 10], atol=0.02)
    assert (s.subject == -1).all() and (s.eye == 0).all()
    assert s.manifest["skipped"] == 6 and s.manifest["n_pairs"] == 8
    report = (tmp_path / "out.skipped.txt").read_text().splitlines()
    assert len(report) == 6
    expect = {
        "3.json": "missing field 'head_pose'",
        "4.jpg": "truncated JPEG",
        "5.jpg": "no matching .json",
        "6.json": "NaN",
        "7.jpg": "outside this 80x60 image",
        "8.json": "look_vec is (0, 0, 0)",  # was stored as gaze (0, -180 deg) without a word
    }
    for name, problem in expect.items():
        line = next(r for r in report if r.startswith(str(src / name)))
        assert problem in line, line


def test_near_frontal_filter_is_recorded(tmp_path):
    src = tmp_path / "ue"
    write_unityeyes_pair(src, 1, size=(320, 240), head_pose=(10, 190, 0))
    write_unityeyes_pair(src, 2, size=(320, 240), head_pose=(335, 180, 0))  # pitch -25: out
    write_unityeyes_pair(src, 3, size=(320, 240), head_pose=(0, 150, 0))  # yaw -30: out
    s = ue.prepare_unityeyes(src, tmp_path / "o", near_frontal=True, jobs=1, progress=False)
    assert len(s) == 1 and s.manifest["filtered_out"] == 2
    assert s.manifest["options"]["near_frontal"] is True
    assert s.manifest["near_frontal_limit_deg"] == 20.0
    np.testing.assert_allclose(s.head_pitchyaw_rad[0], D([-10, -10]), atol=1e-6)


def test_killed_run_resumes_without_redoing_shards(tmp_path, monkeypatch):
    src = tmp_path / "ue"
    make_folder(src, 8, size=(320, 240))
    ref = ue.prepare_unityeyes(src, tmp_path / "ref", jobs=1, shard_size=2, progress=False)

    real = ue.process_shard
    calls = []

    def dies_on_third(shards, i, *a):
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed ^C during shard 2
        calls.append(i)
        return real(shards, i, *a)

    monkeypatch.setattr(ue, "process_shard", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        ue.prepare_unityeyes(src, tmp_path / "s", jobs=1, shard_size=2, progress=False)
    work = tmp_path / ".s.shards"
    done = sorted(p.name for p in work.glob("shard-*.npz"))
    assert done == ["shard-000000.npz", "shard-000001.npz"] and not (tmp_path / "s").exists()
    mtimes = {p: (work / p).stat().st_mtime_ns for p in done}

    resumed = []

    def counting(shards, i, *a):
        resumed.append(i)
        if i == 3:  # by now shards 0 and 1 must be untouched
            assert {p: (work / p).stat().st_mtime_ns for p in done} == mtimes
        return real(shards, i, *a)

    monkeypatch.setattr(ue, "process_shard", counting)
    s = ue.prepare_unityeyes(src, tmp_path / "s", jobs=1, shard_size=2, progress=False)
    assert resumed == [2, 3]
    assert s.checksum == ref.checksum and len(s) == 8
    assert not work.exists()
    # A re-run over the finished store does nothing.
    resumed.clear()
    again = ue.prepare_unityeyes(src, tmp_path / "s", jobs=1, shard_size=2, progress=False)
    assert resumed == [] and again.checksum == ref.checksum
    assert open_store(tmp_path / "s", verify_checksum=True).checksum == ref.checksum


@pytest.mark.slow
def test_parallel_equals_serial(tmp_path):
    src = tmp_path / "ue"
    make_folder(src, 6, size=(320, 240))
    a = ue.prepare_unityeyes(src, tmp_path / "a", jobs=1, shard_size=2, progress=False)
    b = ue.prepare_unityeyes(src, tmp_path / "b", jobs=2, shard_size=2, progress=False)
    assert a.checksum == b.checksum


def test_missing_and_empty_root_name_the_folder(tmp_path):
    with pytest.raises(StoreError, match=f"{tmp_path / 'nope'}: UnityEyes folder not found"):
        ue.prepare_unityeyes(tmp_path / "nope", tmp_path / "o", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match=f"{tmp_path / 'empty'}: no UnityEyes pairs"):
        ue.prepare_unityeyes(tmp_path / "empty", tmp_path / "o", progress=False)


def test_other_options_need_force(tmp_path):
    src = tmp_path / "ue"
    make_folder(src, 2, size=(320, 240))
    ue.prepare_unityeyes(src, tmp_path / "o", jobs=1, progress=False)
    with pytest.raises(StoreError, match="other options"):
        ue.prepare_unityeyes(src, tmp_path / "o", near_frontal=True, jobs=1, progress=False)
    s = ue.prepare_unityeyes(
        src, tmp_path / "o", near_frontal=True, jobs=1, force=True, progress=False
    )
    assert s.manifest["options"]["near_frontal"] is True


def test_cli_prepare_and_show(tmp_path):
    src = tmp_path / "ue"
    make_folder(src, 3, size=(320, 240))
    (src / "9.json").write_text("{")
    (src / "9.jpg").write_bytes(b"not a jpeg")
    prepare = ["data", "prepare", "unityeyes", "--root"]
    r = CliRunner().invoke(main, [*prepare, str(src), "--out", str(tmp_path / "o"), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    assert "3 images (unityeyes); 1 skipped, listed in" in r.output
    assert "o.skipped.txt" in r.output
    r = CliRunner().invoke(main, ["data", "show", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "preview.png").stat().st_size > 5000
    r = CliRunner().invoke(main, [*prepare, str(tmp_path / "x"), "--out", str(tmp_path / "o2")])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert r.output.strip() == f"Error: {tmp_path / 'x'}: UnityEyes folder not found"


def test_perf_section_reports_rates():
    from benchmarks.perf.core import SECTIONS
    from benchmarks.perf.unityeyes import perf_unityeyes

    assert SECTIONS["unityeyes"] == "benchmarks.perf.unityeyes:perf_unityeyes"
    rows = perf_unityeyes(n=6, jobs=1)
    assert len(rows) == 6 and {r["unit"] for r in rows} == {"images/s/core"}
    assert all(np.isfinite(r["value"]) and r["value"] > 0 for r in rows)
    assert rows[1]["what"] == "unityeyes prepare 640x480 (1 process)"
