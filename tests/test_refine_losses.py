"""Loss reductions (sum = the paper, mean = the light presets) and the configs that name them."""

from __future__ import annotations

import json

import pytest
import torch

from estimators.base import UserError
from refine import losses
from refine.config import RefinerConfig


def test_sum_is_patches_times_mean_and_batch_size_free():
    torch.manual_seed(0)
    logits = torch.randn(4, 2, 9, 14)
    mean = losses.patch_cross_entropy(logits, 1, "mean")
    total = losses.patch_cross_entropy(logits, 1, "sum")
    assert float(total) == pytest.approx(126 * float(mean), rel=1e-6)
    # summing over patches, not over the batch: doubling the batch keeps the scale
    doubled = losses.patch_cross_entropy(torch.cat([logits, logits]), 1, "sum")
    assert float(doubled) == pytest.approx(float(total), rel=1e-6)
    # per image: cross-entropy summed over its own patches, then the batch mean
    per_patch = torch.nn.functional.cross_entropy(
        logits, torch.ones(4, 9, 14, dtype=torch.long), reduction="none"
    )
    assert float(total) == pytest.approx(float(per_patch.sum(dim=(1, 2)).mean()), rel=1e-6)


def test_self_regularisation_sum_is_per_image_l1_norm():
    x = torch.zeros(3, 1, 35, 55)
    y = x.clone()
    y[0, 0, 0, :10] = 0.5  # image 0 differs by 5.0 in L1; the others not at all
    assert float(losses.self_regularisation(y, x, "sum")) == pytest.approx(5.0 / 3)
    assert float(losses.self_regularisation(y, x, "mean")) == pytest.approx(5.0 / (3 * 1925))


def test_paper_defaults_sum_and_presets_keep_means():
    assert RefinerConfig().loss_reduction == "sum"
    assert RefinerConfig().optimizer == "sgd" and RefinerConfig().lr == 0.001
    # lambda weighs the terms as the presets' mean-reduction 0.5 does
    assert RefinerConfig().lambda_reg == pytest.approx(0.5 * 126 / 1925, rel=1e-3)
    for name in ("smoke", "quick"):
        assert RefinerConfig.preset(name).loss_reduction == "mean"
    with pytest.raises(UserError, match="loss_reduction"):
        RefinerConfig(loss_reduction="max")


def test_a_config_written_before_the_field_reads_as_means_and_keeps_its_key(tmp_path):
    cfg = RefinerConfig.preset("quick")
    old = cfg.to_dict()
    del old["loss_reduction"]  # what config.json looked like before the field existed
    (tmp_path / "config.json").write_text(json.dumps(old))
    back = RefinerConfig.from_dict(json.loads((tmp_path / "config.json").read_text()))
    assert back.loss_reduction == "mean"
    # at its old behaviour the field is absent from keys, as are later fields at their defaults
    later = {"gaze_consistency", "gaze_consistency_steps", "grad_clip_norm"}
    later |= {"refiner_noise", "refiner_light", "input_light"}
    assert back.key_dict() == {k: v for k, v in old.items() if k not in later}
    assert back.config_hash() == cfg.config_hash()
    # a partial dict still gets the paper's default, and a sum config hashes differently
    assert RefinerConfig.from_dict({"steps": 5}).loss_reduction == "sum"
    assert cfg.replace(loss_reduction="sum").config_hash() != cfg.config_hash()
