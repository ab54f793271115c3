"""torchkit.files: the one settings hasher keeps the keys existing work directories were made with."""

from pathlib import Path

from benchmarks.pipeline import provenance
from refine.config import RefinerConfig
from torchkit.files import canonical_json, config_hash

# A refiner-stage-like key input; its hash below was computed by the pre-unification
# provenance.config_hash (compact JSON, sorted keys, default=str, sha256): work/refiner/<key>-seed<s>/
# and stores/real/<name>-<key>/ of existing work directories depend on it staying the same.
KEY_INPUT = {
    "refiner": {"lr": 0.0005, "input_hw": [35, 55]},
    "synthetic": "sha256:ab",
    "threads": 2,
    "path": Path("/x"),
}


def test_config_hash_keeps_the_historical_keys():
    assert config_hash(KEY_INPUT) == "b6b2a8a5e960"
    assert config_hash(KEY_INPUT, length=16) == "b6b2a8a5e960b8a8"  # the shard keys' length
    assert provenance.config_hash is config_hash  # one function, not a copy


def test_canonical_json_ignores_key_order_and_is_compact():
    a = canonical_json({"b": 1, "a": [1, 2]})
    assert a == canonical_json({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_refiner_config_hash_is_the_same_hasher_in_full():
    cfg = RefinerConfig.preset("smoke")
    # key_dict: to_dict minus fields still at the behaviour runs had before the field existed
    assert cfg.config_hash() == "sha256:" + config_hash(cfg.key_dict(), length=64)
    paper = RefinerConfig()
    assert paper.config_hash() == "sha256:" + config_hash(paper.key_dict(), length=64)
    # the paper's sums stay in its key; only fields added later, at their off default, leave it
    dropped = set(paper.to_dict()) - set(paper.key_dict())
    assert dropped == {
        "gaze_consistency",
        "gaze_consistency_steps",
        "grad_clip_norm",
        "refiner_noise",
        "refiner_light",
        "input_light",
    }
    assert cfg.config_hash() != cfg.replace(seed=1).config_hash()
