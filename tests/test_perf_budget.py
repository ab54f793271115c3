"""`bench perf --only budget`: the counted per-image FLOPs agree with the networks' own analytic
counts, training costs about three forward passes, the paper-scale stages add up, the CNN rows
train on the paper profile's budget in images seen, and every time says it is not measured."""

from collections import defaultdict

import pytest

from benchmarks.perf.budget import budget_rows, paper_stages, per_image_flops

slow = pytest.mark.slow  # counting ResNet-18's backward alone takes seconds


@pytest.fixture(scope="module")
def flops():
    return per_image_flops()


def unit_flops():
    """One FLOP per image for every pass: the stage structure without counting anything."""
    return defaultdict(lambda: 1.0)


def test_cnn_stages_see_the_paper_profiles_budget_in_images():
    """The budget prices each CNN row at the paper profile's ``train_samples`` (turned into whole
    epochs by the estimator's own rule), not at an epoch count of its own: they cannot drift."""
    from benchmarks.pipeline.suite import load_profile, load_suite, row_params

    prof, suite = load_profile("paper"), load_suite("table1")
    cnn = {s.name.split(" (")[0]: s for s in paper_stages(unit_flops()) if s.epochs is not None}
    assert {"cnn-lab", "cnn-synthetic", "cnn-refined-4x", "resnet18-refined"} <= set(cnn)
    for row in suite.rows:
        if row.id in cnn:
            budget = int(row_params(row, prof)["train_samples"])
            st = cnn[row.id]
            # whole epochs: at most half an epoch's fitting rows off the budget
            assert abs(st.images_seen - budget) <= st.images_seen / st.epochs / 2, row.id
    budget = int(prof["estimators"]["cnn"]["train_samples"])
    # the 1x and 4x rows see the same images (4x: more distinct ones, fewer passes)
    for row_id in ("cnn-synthetic", "cnn-refined", "cnn-synthetic-4x", "cnn-refined-4x"):
        assert cnn[row_id].images_seen == budget, row_id
    assert cnn["cnn-refined-4x"].epochs * 4 == cnn["cnn-refined"].epochs


def test_every_stage_time_says_it_is_estimated_from_flops_not_measured():
    stages = [r for r in budget_rows(unit_flops()) if "h200_s" in r or r["unit"].endswith("H200")]
    assert len(stages) >= 4
    for r in stages:
        assert r["measured"] is False, r["what"]
        assert "estimated from FLOPs" in r["basis"] and "not measured" in r["basis"], r["what"]


@slow
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


@slow
def test_paper_stages_and_the_table_total(flops):
    stages = {s.name.split(" (")[0]: s.flops for s in paper_stages(flops)}
    assert {"cnn-refined-4x", "resnet18-refined", "refining 1,200,000 images"} <= set(stages)
    assert {"refiner pretraining", "refiner adversarial"} <= set(stages)
    # the same images seen: 4x data costs what the 1x row costs, not 4x
    assert stages["cnn-refined-4x"] == pytest.approx(stages["cnn-refined"], rel=0.01)
    # cnn-lab's LeNet is far cheaper per image than SimGAN's CNN
    assert stages["cnn-lab"] < stages["cnn-simgan-lab"] / 3
    rows = budget_rows(flops)
    total = rows[-1]
    assert total["unit"] == "min on one H200" and total["measured"] is False
    assert total["value"] == pytest.approx(sum(r.get("h200_s", 0) for r in rows) / 60, rel=0.01)
