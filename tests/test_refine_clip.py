"""grad_clip_norm: R's and D's updates are bounded by lr x the clip norm, and the field's off
default keeps every cache key it had before it existed."""

from __future__ import annotations

import json

import pytest
import torch

from estimators.base import UserError
from refine.config import RefinerConfig
from refine.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLIP = 1e-3


def _moved(net: torch.nn.Module, before: list[torch.Tensor]) -> float:
    """L2 norm of the change of all of net's parameters since ``before``."""
    deltas = [(p.detach() - b).flatten() for p, b in zip(net.parameters(), before, strict=True)]
    return float(torch.cat(deltas).norm())


def _steps(demo, tiny_config, lr: float, clip: float) -> dict[str, float]:
    """How far R moves in one pretraining and one adversarial update, and D in one update, with
    plain SGD (an update is lr x the gradient, clipped or not)."""
    cfg = tiny_config(optimizer="sgd", lr=lr, loss_reduction="sum", grad_clip_norm=clip)
    t = Trainer(demo("sim")["images"], demo("wild")["images"], cfg)
    moved = {}
    for name, net, step in (
        ("r_pretrain", t.R, lambda: t.r_step(pretrain=True)),
        ("d", t.D, t.d_step),
        ("r", t.R, lambda: t.r_step(pretrain=False)),
    ):
        before = [p.detach().clone() for p in net.parameters()]
        step()
        moved[name] = _moved(net, before)
    return moved


def test_clipping_bounds_each_update_by_lr_times_the_norm(demo, tiny_config):
    # lr 1: the clipped step (<= 1e-3) is far above float32 rounding of the parameters
    clipped = _steps(demo, tiny_config, lr=1.0, clip=CLIP)
    # the paper's lr 0.001 (at lr 1 an unclipped step saturates R); moved / lr = gradient norm
    free = _steps(demo, tiny_config, lr=1e-3, clip=0.0)
    for name in ("r_pretrain", "d", "r"):
        assert 0 < clipped[name] <= 1.0 * CLIP * (1 + 1e-3), (name, clipped[name])
        # the summed losses' raw gradients are far larger: without the clip the step is too
        assert free[name] / 1e-3 > 100 * CLIP, (name, free[name])


def test_the_off_default_hashes_as_before_the_field_existed():
    paper = RefinerConfig()
    assert paper.grad_clip_norm == 0.0 and "grad_clip_norm" not in paper.key_dict()
    # the paper config's key as it was computed before grad_clip_norm existed
    assert paper.config_hash() == (
        "sha256:8c9adbe5722f050802bc44cd6b81848b89696cfc308bad1fe40c30ec689afe5f"
    )
    # a config.json written before the field reads back as off, with the same key
    old = paper.to_dict()
    del old["grad_clip_norm"]
    back = RefinerConfig.from_dict(json.loads(json.dumps(old)))
    assert back.grad_clip_norm == 0.0 and back.config_hash() == paper.config_hash()
    quick = RefinerConfig.preset("quick")
    assert quick.config_hash() == (
        "sha256:cdb110aff39c240b72495e554d51ef68fe2abed6db1cc74c07e3b3a5118ea1e7"
    )
    # switched on, it is part of the key
    on = paper.replace(grad_clip_norm=50.0)
    assert on.key_dict()["grad_clip_norm"] == 50.0 and on.config_hash() != paper.config_hash()


def test_a_negative_clip_norm_is_one_clear_error():
    with pytest.raises(UserError, match=r"grad_clip_norm must be >= 0 \(0 = off\), got -1"):
        RefinerConfig(grad_clip_norm=-1.0)
    with pytest.raises(UserError, match="grad_clip_norm must be float"):
        RefinerConfig.from_dict({"grad_clip_norm": "fifty"})
