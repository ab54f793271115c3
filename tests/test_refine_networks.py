import numpy as np
import pytest
import torch

from refine.buffer import HistoryBuffer
from refine.config import RefinerConfig, parse_override
from refine.images import to_tensor, to_uint8
from refine.losses import patch_cross_entropy, self_regularisation
from refine.networks import LocalDiscriminator, Refiner, build_networks

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_paper_networks_shapes_and_ranges():
    r, d = build_networks(RefinerConfig())
    x = torch.rand(3, 1, 35, 55) * 2 - 1
    with torch.no_grad():
        y = r(x)
        logits = d(y)
        p = d.probabilities(y)
    assert y.shape == (3, 1, 35, 55) and y.abs().max() <= 1.0
    assert logits.shape == (3, 2, 9, 14)  # the paper's 126 patches
    assert torch.allclose(p.sum(1), torch.ones(3, 9, 14), atol=1e-5)
    # paper widths: stem 64, 4 blocks of two 64-wide 3x3 convs, 1x1 head; D 96/64/32/32/2
    assert r.stem.out_channels == 64 and len(r.blocks) == 4 and r.head.kernel_size == (1, 1)
    convs = [m for m in d.net if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 64, 32, 32, 2]
    assert [c.stride[0] for c in convs] == [2, 2, 1, 1, 1]
    # ReLU after every conv but the last
    kinds = [type(m).__name__ for m in d.net]
    assert kinds[-1] == "Conv2d" and kinds.count("ReLU") == 4


def test_light_variant_and_any_size_refiner():
    r = Refiner(width=8, blocks=1)
    assert r(torch.zeros(2, 1, 36, 60)).shape == (2, 1, 36, 60)  # fully convolutional
    assert LocalDiscriminator((8, 8, 8, 8))(torch.zeros(1, 1, 35, 55)).shape == (1, 2, 9, 14)


def test_losses_are_means():
    logits = torch.zeros(2, 2, 9, 14)
    logits[:, 0] = 10.0  # confidently "real" everywhere
    assert float(patch_cross_entropy(logits, 0)) < 1e-4
    assert float(patch_cross_entropy(logits, 1)) == pytest.approx(10.0, abs=1e-3)
    a, b = torch.zeros(2, 1, 4, 4), torch.full((2, 1, 4, 4), 0.5)
    assert float(self_regularisation(a, b)) == pytest.approx(0.5)


def test_history_buffer_fills_is_sampled_and_changes():
    rng = np.random.default_rng(0)
    buf = HistoryBuffer(10, (2, 3))
    with pytest.raises(ValueError, match="empty"):
        buf.sample(1, rng)
    for i in range(3):  # 3 pushes of 4: 4, 8, then full at 10
        buf.push(torch.full((4, 1, 2, 3), float(i + 1)), rng)
        assert len(buf) == min(4 * (i + 1), 10)
    assert set(buf.images[:, 0, 0, 0].tolist()) == {1.0, 2.0, 3.0}
    draws = buf.sample(200, rng)[:, 0, 0, 0]
    assert set(draws.tolist()) == {1.0, 2.0, 3.0}  # every generation gets drawn
    before = buf.images.clone()
    buf.push(torch.full((4, 1, 2, 3), 9.0), rng)  # full: replaces 4 random slots
    changed = (buf.images != before).flatten(1).any(1)
    assert int(changed.sum()) == 4 and len(buf) == 10
    # state round trip
    other = HistoryBuffer(10, (2, 3))
    other.load_state_dict(buf.state_dict())
    assert torch.equal(other.images, buf.images) and len(other) == 10


def test_config_dict_round_trip_and_unknown_keys():
    c = RefinerConfig(lr=2e-4, input_hw=[35, 55])
    assert RefinerConfig.from_dict(c.to_dict()) == c
    assert c.input_hw == (35, 55) and c.total_steps == 1000 + 200 + 10_000
    with pytest.raises(ValueError, match="unknown refiner config key.*lamda"):
        RefinerConfig.from_dict({"lamda": 1})
    with pytest.raises(ValueError, match="batch_size"):
        RefinerConfig(batch_size=0)
    assert RefinerConfig.preset("quick", steps=5).steps == 5
    assert RefinerConfig.preset("smoke").disc_widths == (96, 64, 32, 32)  # D stays the paper's
    with pytest.raises(ValueError, match="unknown refiner preset"):
        RefinerConfig.preset("huge")
    assert parse_override("lr=2e-4") == ("lr", 2e-4)
    assert parse_override("optimizer=adam") == ("optimizer", "adam")
    assert parse_override("disc_widths=[8,8,8,8]") == ("disc_widths", [8, 8, 8, 8])


def test_image_conversion_round_trip():
    im = np.arange(36 * 60, dtype=np.uint8).reshape(1, 36, 60)
    assert np.array_equal(to_uint8(to_tensor(im, (36, 60))), im)
    assert to_tensor(im, (35, 55)).shape == (1, 1, 35, 55)


def _counted_flops(net: torch.nn.Module, hw: tuple[int, int]) -> int:
    """FLOPs of one forward pass on one image, counted by torch (2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.zeros(1, 1, *hw))
    return counter.get_total_flops()


@pytest.mark.parametrize(
    "width, blocks, hw", [(64, 4, (35, 55)), (16, 1, (35, 55)), (32, 2, (36, 60))]
)
def test_refiner_flops_match_torchs_count(width, blocks, hw):
    from refine.networks import refiner_flops

    assert refiner_flops(width, blocks, hw) == _counted_flops(Refiner(width, blocks), hw)


@pytest.mark.parametrize(
    "widths, hw",
    [((96, 64, 32, 32), (35, 55)), ((8, 8, 8, 8), (35, 55)), ((96, 64, 32, 32), (36, 60))],
)
def test_discriminator_flops_match_torchs_count(widths, hw):
    from refine.networks import discriminator_flops

    assert discriminator_flops(widths, hw) == _counted_flops(LocalDiscriminator(widths), hw)


def test_refiner_perf_section_registered():
    from benchmarks.perf.core import SECTIONS

    assert SECTIONS["refiner"] == "benchmarks.perf.refiner:perf_refiner"


def test_replicate_padding_option():
    from refine.config import RefinerConfig

    r, _ = build_networks(RefinerConfig(refiner_padding="replicate", refiner_width=8))
    assert r.stem.padding_mode == "replicate"
    assert r(torch.zeros(1, 1, 35, 55)).shape[-2:] == (35, 55)
    with pytest.raises(ValueError, match="refiner_padding"):
        RefinerConfig(refiner_padding="circle")
