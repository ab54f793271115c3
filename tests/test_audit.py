"""The convention audit catches each planted label mistake and passes honest stores."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.datasets.audit import apply_variant, audit_or_stop, audit_pair, variants
from benchmarks.datasets.store import open_store, write_store
from estimators.base import UserError


def _store(path, arrays, **changes):
    fields = {**arrays, **changes}
    return write_store(path, source="demo test", **fields)


@pytest.fixture(scope="module")
def stores(tmp_path_factory, request):
    from benchmarks.datasets.demo import render_domain

    root = tmp_path_factory.mktemp("audit")
    lab = render_domain("lab", 1200, seed=0)
    wild = render_domain("wild", 800, seed=1000)
    return root, _store(root / "lab", lab), wild


def test_variants_are_the_eight_sign_swap_transforms():
    g = np.array([[0.1, 0.3]], np.float32)
    outs = {tuple(apply_variant(g, s, p, y)[0].round(3)) for _, s, p, y in variants()}
    assert len(variants()) == 8 and len(outs) == 8 and variants()[0][0] == "as stored"


def test_honest_demo_stores_pass(stores):
    root, lab, wild = stores
    test = _store(root / "honest", wild)
    res = audit_pair("lab", lab, "test", test)
    assert res.problems == []
    errs = res.variant_err_deg
    assert min(errs, key=errs.get) == "as stored"
    assert audit_or_stop([("lab", lab, "test", test)], log=lambda s: None)[0].store == "lab"


@pytest.mark.parametrize(
    "mistake, swap, sp, sy",
    [
        ("swapped pitch/yaw", True, 1, 1),
        ("pitch negated", False, -1, 1),
        ("yaw negated", False, 1, -1),
    ],
)
def test_a_planted_convention_mistake_is_named(stores, mistake, swap, sp, sy):
    root, lab, wild = stores
    bad = apply_variant(wild["gaze_pitchyaw_rad"], swap, sp, sy).copy()
    test = _store(root / mistake.replace("/", "-").replace(" ", "_"), wild, gaze_pitchyaw_rad=bad)
    with pytest.raises(UserError, match=f"labels look {mistake} in one of the two"):
        audit_or_stop([("lab", lab, "test", test)], log=lambda s: None)


@pytest.fixture(scope="module")
def small_clean_stores(tmp_path_factory):
    """What a 300-image demo run audits, for 8 data seeds: (seed, lab, sim, test) stores."""
    from benchmarks.datasets.demo import render_domain

    root = tmp_path_factory.mktemp("audit300")
    out = []
    for seed in range(8):
        made = {
            name: _store(root / f"{name}{seed}", render_domain(domain, 300, seed=s))
            for name, domain, s in (("lab", "lab", seed), ("sim", "sim", seed),
                                    ("test", "wild", seed + 1000))
        }  # fmt: skip
        out.append((seed, made["lab"], made["sim"], made["test"]))
    return out


def test_clean_300_image_stores_pass_for_8_data_seeds(small_clean_stores):
    # the demo's lab gaze is centred ~7 deg lower than wild's; the raw cross-check took that
    # offset for "pitch negated" on 5 of these 8 seeds
    for seed, lab, sim, test in small_clean_stores:
        for name, train in (("lab", lab), ("sim", sim)):
            res = audit_pair(name, train, "test", test)
            assert res.problems == [], (seed, name, res.problems)
            assert res.variant_err_deg, "the cross-check ran"


def _inverse_name(swap, sp, sy):
    """The variant that undoes a planted (swap, sp, sy) transform: what the audit names."""
    g = np.array([[0.1, 0.3]])
    planted = apply_variant(g, swap, sp, sy)
    (name,) = [n for n, s, p, y in variants() if np.allclose(apply_variant(planted, s, p, y), g)]
    return name


@pytest.mark.parametrize("planted", variants()[1:], ids=lambda v: v[0])
def test_every_planted_swap_or_flip_fails_on_small_stores(small_clean_stores, planted, tmp_path):
    _, swap, sp, sy = planted
    named = _inverse_name(swap, sp, sy)
    for seed, lab, _sim, test in small_clean_stores:
        bad = apply_variant(np.asarray(test.gaze_pitchyaw_rad), swap, sp, sy).copy()
        arrays = {
            k: np.asarray(getattr(test, k)) for k in ("images", "head_pitchyaw_rad", "subject")
        }
        planted_test = _store(tmp_path / f"s{seed}", arrays, gaze_pitchyaw_rad=bad)
        res = audit_pair("lab", lab, "test", planted_test)
        assert len(res.problems) == 1 and f"labels look {named} in one" in res.problems[0], seed
        assert "over 15 people" in res.problems[0] and res.p_value < 0.01 / 7


def test_a_planted_unit_error_fails_on_small_stores(small_clean_stores, tmp_path):
    _, lab, _, test = small_clean_stores[0]
    arrays = {k: np.asarray(getattr(test, k)) for k in ("images", "head_pitchyaw_rad", "subject")}
    deg = _store(tmp_path / "deg", arrays, gaze_pitchyaw_rad=np.degrees(test.gaze_pitchyaw_rad))
    assert "degrees, not radians?" in audit_pair("lab", lab, "test", deg).problems[0]


def test_a_test_store_without_people_is_tested_over_blocks_of_images(stores, tmp_path):
    root, lab, wild = stores
    anon = {**wild, "subject": np.full(len(wild["subject"]), -1, np.int32)}
    flipped = _store(
        tmp_path / "anon", anon, gaze_pitchyaw_rad=wild["gaze_pitchyaw_rad"] * np.float32([-1, 1])
    )
    res = audit_pair("lab", lab, "test", flipped)
    assert "pitch negated" in res.problems[0] and "over 20 blocks of images" in res.problems[0]
    assert audit_pair("lab", lab, "test", _store(tmp_path / "anon_ok", anon)).problems == []


def test_degrees_and_out_of_convention_angles_are_caught(stores):
    root, lab, wild = stores
    deg = _store(root / "deg", wild, gaze_pitchyaw_rad=np.degrees(wild["gaze_pitchyaw_rad"]))
    res = audit_pair("lab", lab, "test", deg)
    assert len(res.problems) == 1 and "degrees, not radians?" in res.problems[0]
    head = wild["head_pitchyaw_rad"].copy()
    head[0, 1] = 2.0  # 115 deg of head yaw: not the normalized-camera convention
    res = audit_pair("lab", lab, "test", _store(root / "head", wild, head_pitchyaw_rad=head))
    assert "head angles reach 2.00 rad" in res.problems[0]


def test_noise_images_with_random_labels_do_not_trigger_it(tmp_path):
    # what the real-format fixtures hold: no signal, so no variant may "win"
    rng = np.random.default_rng(0)
    mk = lambda n, name: write_store(  # noqa: E731
        tmp_path / name,
        images=rng.integers(0, 256, (n, 36, 60), dtype=np.uint8),
        gaze_pitchyaw_rad=rng.uniform(-0.5, 0.5, (n, 2)).astype(np.float32),
        head_pitchyaw_rad=rng.uniform(-0.3, 0.3, (n, 2)).astype(np.float32),
        source="noise",
    )
    assert audit_pair("a", mk(600, "a"), "b", mk(400, "b")).problems == []


def test_bench_data_audit_exit_codes(stores):
    root, lab, wild = stores
    honest = root / "honest_cli"
    _store(honest, wild)
    r = CliRunner().invoke(main, ["data", "audit", str(lab.path), str(honest)])
    assert r.exit_code == 0 and "ok" in r.output, r.output
    flipped = root / "flipped_cli"
    _store(flipped, wild, gaze_pitchyaw_rad=wild["gaze_pitchyaw_rad"] * np.float32([1, -1]))
    r = CliRunner().invoke(main, ["data", "audit", str(lab.path), str(flipped)])
    assert r.exit_code == 2 and "yaw negated" in r.output and r.output.count("\n") == 1
    assert open_store(flipped).gaze_pitchyaw_rad.shape == (800, 2)


def test_bench_run_audits_before_fitting_and_no_audit_skips_it(stores, monkeypatch):
    from benchmarks.datasets import audit as audit_mod

    root, lab, wild = stores
    flipped = _store(
        root / "flipped_run", wild, gaze_pitchyaw_rad=wild["gaze_pitchyaw_rad"][:, ::-1].copy()
    )
    calls = []
    monkeypatch.setattr(audit_mod, "audit_or_stop", lambda pairs, log: calls.append(pairs))
    audit_mod.audit_stores({"real-lab": lab, "test": flipped, "real-unlabeled": lab})
    (pairs,) = calls
    assert [p[1] for p in pairs] == [lab] and pairs[0][3] is flipped  # unlabeled stores skipped
    monkeypatch.undo()
    with pytest.raises(UserError, match="swapped pitch/yaw"):
        audit_mod.audit_stores({"real-lab": lab, "test": flipped})
    r = CliRunner().invoke(main, ["run", "--help"])
    assert "--no-audit" in r.output
