import json

import numpy as np
import pytest
from click.testing import CliRunner

import benchmarks.pipeline.refine_store as rs
from benchmarks.cli import main
from benchmarks.datasets.store import StoreError, open_store, write_store
from refine.config import RefinerConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def stores(tmp_path_factory, demo):
    root = tmp_path_factory.mktemp("stores")
    for name, seed in (("sim", 0), ("wild", 1)):
        write_store(root / name, **demo(name, 96, seed), source=f"demo:{name}")
    return root


@pytest.fixture(scope="module")
def cli_run(stores, tmp_path_factory, tiny_refiner_settings, one_torch_thread):
    """`bench refine train` on tiny stores, config from a TOML file plus --set overrides."""
    cfg = tmp_path_factory.mktemp("cfg") / "tiny.toml"
    lines = [
        f"{k} = {json.dumps(list(v) if isinstance(v, tuple) else v)}"
        for k, v in tiny_refiner_settings.items()
    ]
    cfg.write_text("[refiner]\n" + "\n".join(lines) + "\n")
    run = stores / "run"
    args = ["refine", "train", "--synthetic", str(stores / "sim"), "--real", str(stores / "wild")]
    args += ["--out", str(run), "--config", str(cfg), "--set", "steps=3", "--quiet"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "realism" in r.output and "real vs refined" in r.output
    return run, args


def test_cli_train_writes_the_resolved_config(cli_run):
    run, args = cli_run
    saved = RefinerConfig.from_dict(json.loads((run / "config.json").read_text()))
    assert saved.steps == 3 and saved.refiner_width == 8 and saved.disc_widths == (8, 8, 8, 8)
    r = CliRunner().invoke(main, args)  # same command again: refused, one clear line
    assert r.exit_code != 0 and "not empty" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, [*args, "--resume"])  # finished: returns at once
    assert r.exit_code == 0, r.output


def test_cli_rejects_unknown_config_key(stores, tmp_path):
    args = ["refine", "train", "--synthetic", str(stores / "sim"), "--real", str(stores / "wild")]
    r = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "x"), "--set", "lamda=1"])
    assert r.exit_code != 0 and "unknown refiner config key(s): lamda" in r.output


def test_refine_store_round_trip_and_resume_after_kill(cli_run, stores, tmp_path, monkeypatch):
    run, _ = cli_run
    src = open_store(stores / "sim")
    full = rs.refine_store(run, src.path, tmp_path / "full", batch_size=16, progress=False)
    assert len(full) == len(src) and full.images.shape == (96, 36, 60)
    for name in ("gaze_pitchyaw_rad", "head_pitchyaw_rad", "subject", "eye"):
        assert np.array_equal(getattr(full, name), getattr(src, name)), name
    assert not np.array_equal(full.images, src.images)  # R did something
    meta = full.manifest["refiner"]
    assert meta["input_checksum"] == src.checksum and meta["config_hash"].startswith("sha256:")
    # a kill after 3 batches (committed after each), then a resume: identical output, the first
    # rows not recomputed
    monkeypatch.setattr(rs, "COMMIT_ROWS", 16)
    real_transform = rs.checked_transform
    done = []

    def dying(refiner, name, images):
        if len(done) == 3:
            raise KeyboardInterrupt
        done.append(len(images))
        return real_transform(refiner, name, images)

    monkeypatch.setattr(rs, "checked_transform", dying)
    with pytest.raises(KeyboardInterrupt):
        rs.refine_store(run, src.path, tmp_path / "resumed", batch_size=16, progress=False)
    assert not (tmp_path / "resumed").exists()
    sizes = []

    def recording(refiner, name, images):
        sizes.append(len(images))
        return real_transform(refiner, name, images)

    monkeypatch.setattr(rs, "checked_transform", recording)
    resumed = rs.refine_store(run, src.path, tmp_path / "resumed", batch_size=16, progress=False)
    assert sizes == [16, 16, 16] and np.array_equal(resumed.images, full.images)
    assert resumed.checksum == full.checksum
    # a finished output is reused; one from another input is refused
    again = rs.refine_store(run, src.path, tmp_path / "full", progress=False)
    assert again.checksum == full.checksum
    with pytest.raises(StoreError, match="not refined by this run"):
        rs.refine_store(run, stores / "wild", tmp_path / "full", progress=False)


def test_cli_apply(cli_run, stores, tmp_path):
    run, _ = cli_run
    out = tmp_path / "refined"
    args = ["refine", "apply", "--run", str(run), "--input", str(stores / "sim")]
    r = CliRunner().invoke(main, [*args, "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "96 images (refined:demo:sim)" in r.output
    r = CliRunner().invoke(main, ["refine", "apply", "--run", str(tmp_path), "--input",
                                  str(stores / "sim"), "--out", str(tmp_path / "o")])  # fmt: skip
    assert r.exit_code != 0 and "not complete" in r.output and "Traceback" not in r.output


def test_config_layers_preset_file_set(tmp_path):
    from benchmarks.commands.refine import build_config

    f = tmp_path / "c.json"
    f.write_text(json.dumps({"steps": 7, "lr": 0.01}))
    c = build_config("smoke", f, ("lr=0.002",), tmp_path / "run", False)
    assert (c.refiner_width, c.steps, c.lr) == (16, 7, 0.002)
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = = 3")
    with pytest.raises(ValueError, match="bad.toml: not valid toml"):
        build_config(None, bad, (), tmp_path / "run", False)


def test_refine_stage_runs_on_the_runs_device_when_a_gpu_is_visible(
    cli_run, stores, tmp_path, monkeypatch
):
    """'auto' would resolve to cuda (faked visible, but absent: .to('cuda') fails); the pipeline's
    refine stage must hand the run's device down to load_refiner and iter_refined."""
    import refine.apply
    from benchmarks.pipeline.refiner_stage import refine_stage

    asked = []

    def gpu_visible(device="auto"):
        asked.append(device)
        return "cuda" if device == "auto" else device

    monkeypatch.setattr(refine.apply, "resolve_device", gpu_visible)
    run, _ = cli_run
    out = refine_stage(run, open_store(stores / "sim"), tmp_path, False, print, device="cpu")
    assert len(out) == 96 and asked and set(asked) == {"cpu"}


@pytest.mark.parametrize("trained_in", ["fp32", "bf16"])
def test_refinement_and_diagnostics_use_the_runs_precision(
    cli_run, stores, tmp_path, monkeypatch, trained_in
):
    """A refiner trained in fp32 is applied in fp32 even on a CPU with native bf16 (faked
    here), and one trained in bf16 is applied in bf16."""
    import shutil

    import refine.apply
    import refine.diagnostics
    import torchkit.device
    from refine.apply import iter_refined, load_refiner

    monkeypatch.setattr(torchkit.device, "cpu_has_fast_bf16", lambda: True)
    run, _ = cli_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    cfg = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**cfg, "precision": trained_in}))
    enabled = []
    real_autocast = torchkit.device.autocast

    def recording(device, on):
        enabled.append(on)
        return real_autocast(device, on)

    monkeypatch.setattr(refine.apply, "autocast", recording)
    monkeypatch.setattr(torchkit.device, "autocast", recording)  # diagnostics import it late
    refiner = load_refiner(copy, "cpu")
    images = open_store(stores / "sim").images[:8]
    list(iter_refined(refiner, images, batch_size=4, device="cpu"))
    want = trained_in == "bf16"
    assert enabled == [want, want]
    enabled.clear()
    refine.diagnostics.refine_images(refiner, images, (35, 55), "cpu", trained_in)
    assert enabled == [want]
    # run_diagnostics hands its config's precision to refine_images
    seen = {}

    class Stop(Exception):
        pass

    def spy(refiner, images, hw, device, precision, batch=256):
        seen["precision"] = precision
        raise Stop

    monkeypatch.setattr(refine.diagnostics, "refine_images", spy)
    config = RefinerConfig.from_dict({**cfg, "precision": trained_in})
    with pytest.raises(Stop):
        refine.diagnostics.run_diagnostics(refiner, images, images, config, device="cpu")
    assert seen == {"precision": trained_in}
