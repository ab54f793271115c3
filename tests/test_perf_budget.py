"""`bench perf --only budget`: the counted per-image FLOPs agree with the networks' own analytic
counts, training costs about three forward passes, and the paper-scale stages add up."""

import pytest

from benchmarks.perf.budget import budget_rows, paper_stages, per_image_flops

pytestmark = pytest.mark.slow  # counting ResNet-18's backward alone takes seconds


@pytest.fixture(scope="module")
def flops():
    return per_image_flops()


def test_counted_flops_match_the_analytic_counts_of_the_paper_networks(flops):
    from refine.config import RefinerConfig
    from refine.networks import discriminator_flops, refiner_flops

    c = RefinerConfig()
    assert flops["R forward"] == pytest.approx(
        refiner_flops(c.refiner_width, c.refiner_blocks, c.input_hw), rel=0.01
    )
    assert flops["D forward"] == pytest.approx(
        discriminator_flops(c.disc_widths, c.input_hw), rel=0.01
    )
    # backward w.r.t. activations and weights ~ 2 forwards (the first conv has no input grad)
    assert 2.5 < flops["CNN train"] / flops["CNN forward"] <= 3.01
    assert 2.5 < flops["R pretrain"] / flops["R forward"] <= 3.01


def test_paper_stages_and_the_table_total(flops):
    stages = {name.split(" (")[0]: (total, images) for name, total, images in paper_stages(flops)}
    assert {"cnn-refined-4x", "resnet18-refined", "refining 1,200,000 images"} <= set(stages)
    # 4x data = 4x the work of the 1x row (test-set prediction aside)
    assert stages["cnn-refined-4x"][0] == pytest.approx(4 * stages["cnn-refined"][0], rel=0.01)
    rows = budget_rows(flops)
    total = rows[-1]
    assert total["unit"] == "min on one H200" and total["measured"] is False
    assert total["value"] == pytest.approx(sum(r.get("h200_s", 0) for r in rows) / 60, rel=0.01)
