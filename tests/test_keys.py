"""The one stage key (benchmarks/pipeline/keys.py): what changes numbers refits, what does not
(a row's label, its paper numbers) never does, and SimGAN's key is its resolved config's."""

import dataclasses
from types import SimpleNamespace

import pytest

from benchmarks.pipeline import keys
from benchmarks.records.rows import read_rows

pytestmark = pytest.mark.usefixtures("small_probe")  # diagnostics that only need to run

PROFILE = dict(name="keys", demo=(120, 100, 100, 60), n_train=80)  # conftest's profile_toml


@pytest.fixture()
def tiny(tmp_path, tiny_bench):
    """The mean rows (lab, synthetic, refined) on PROFILE, the identity refiner."""
    return tiny_bench(tmp_path, profile=PROFILE, name="keys")


def run(tiny, *extra):
    r = tiny.run("--no-report", "--no-audit", *extra)
    assert r.exit_code == 0, r.output
    return r.output


def test_device_or_precision_refits_every_row(tiny, monkeypatch):
    run(tiny)
    assert len(read_rows(tiny / "res")) == 3
    run(tiny, "--precision", "bf16")  # mean rows too: numerics are the run's, not per estimator
    rows = read_rows(tiny / "res")
    assert len(rows) == 6 and len({r["stage_key"] for r in rows}) == 6
    import benchmarks.pipeline.run as run_module

    # a GPU, faked: the resolved device kind is all the keys see ("auto" precision -> bf16 there,
    # so ask fp32 to change the device alone)
    monkeypatch.setattr(run_module, "_resolve_device", lambda device: "cuda:1")
    out = run(tiny, "--precision", "fp32")
    rows = read_rows(tiny / "res")
    assert len(rows) == 9 and len({r["stage_key"] for r in rows}) == 9
    assert "refiner identity: fitting" in out  # the refiner's fit is keyed by numerics too


def test_a_rows_label_or_paper_numbers_refit_nothing(tiny):
    run(tiny)
    lab = {"id": "mean-lab", "label": "Mean gaze, lab", "paper_err_deg": 15.0}
    synthetic, refined = ({"id": f"mean-{t}", "extra": True} for t in ("synthetic", "refined"))
    tiny.write([lab, synthetic, refined], name="keys")
    out = run(tiny)
    assert len(read_rows(tiny / "res")) == 3 and "every row already scored" in out


def test_a_row_key_moves_with_what_changes_numbers():
    row = SimpleNamespace(to_dict=lambda: {"id": "a", "label": "A", "method": "mean", "rs": "R"})
    assert keys.row_settings(row) == {"id": "a", "method": "mean"}
    cpu = keys.Numerics.resolve("cpu", None, 2)
    assert cpu == keys.Numerics("cpu", "fp32", 2)
    assert keys.Numerics.resolve("cuda:1", None, 2) == keys.Numerics("cuda", "bf16", 2)
    base = keys.stage_key("cell", {"a": 1}, {"train": "sha256:x"}, cpu)
    assert base == keys.stage_key("cell", {"a": 1}, {"train": "sha256:x"}, cpu)
    assert base != keys.stage_key("cell", {"a": 1}, {"train": "sha256:x"}, None)
    assert base != keys.stage_key("cell", {"a": 1}, {"train": "sha256:y"}, cpu)
    assert base != keys.stage_key("pooled-cell", {"a": 1}, {"train": "sha256:x"}, cpu)
    with pytest.raises(KeyError):
        keys.stage_key("nope", {}, {}, None)


STORES = (SimpleNamespace(checksum="sha256:s"), SimpleNamespace(checksum="sha256:r"))


def _simgan_key(refiner_section: dict, seed: int = 0, precision=None) -> str:
    from benchmarks.pipeline.refiner_stage import resolved_refiner_config, simgan_key

    config = resolved_refiner_config({"refiner": refiner_section}, seed, "cpu", precision)
    return simgan_key(config, *STORES, threads=2)


def test_the_simgan_key_hashes_the_resolved_config_not_how_it_is_written(monkeypatch):
    from refine.config import PRESETS, RefinerConfig

    smoke = _simgan_key({"preset": "smoke"})
    assert smoke == _simgan_key({"preset": "smoke", "steps": PRESETS["smoke"]["steps"]})
    assert smoke == _simgan_key({**PRESETS["smoke"], "kind": "simgan"})  # spelled out in full
    assert smoke != _simgan_key({"preset": "smoke", "steps": 61})
    assert smoke != _simgan_key({"preset": "smoke"}, seed=1)
    assert smoke != _simgan_key({"preset": "smoke"}, precision="bf16")
    assert smoke == _simgan_key({"preset": "smoke"}, precision="fp32")  # what "auto" is on CPU
    # a changed RefinerConfig default (one no profile writes) changes the key
    paper = _simgan_key({})
    fields = [f.name for f in dataclasses.fields(RefinerConfig)]
    defaults = list(RefinerConfig.__init__.__defaults__)
    defaults[fields.index("select_max_label_ratio")] = 1.2
    monkeypatch.setattr(RefinerConfig.__init__, "__defaults__", tuple(defaults))
    assert RefinerConfig().select_max_label_ratio == 1.2
    assert _simgan_key({}) != paper
    assert _simgan_key({"preset": "smoke"}) != smoke
