"""Profiles: sections named for what they govern ([data] both modes, [demo] / [real] one each)."""

import pytest

from benchmarks.pipeline.suite import data_seed, demo_sizes, load_profile
from estimators.base import UserError


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_shipped_profiles_name_their_sections(name):
    prof = load_profile(name)
    assert data_seed(prof) == 0
    assert set(demo_sizes(prof)) == {"n_sim", "n_lab", "n_wild", "n_test"}
    assert "data_seed" not in prof["demo"]


def test_a_real_data_profile_needs_no_demo_sizes(tmp_path):
    path = tmp_path / "real.toml"
    path.write_text('[profile]\nname = "r"\n[data]\ndata_seed = 7\n[train]\nn_train = 10\n')
    prof = load_profile(str(path))
    assert data_seed(prof) == 7 and prof["demo"] == {} and prof["real"] == {}
    with pytest.raises(UserError, match=r"real.toml: \[demo\] needs n_sim, n_lab, n_wild, n_test"):
        demo_sizes(prof)


def test_data_seed_under_demo_is_refused_in_one_line(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text("[profile]\n[demo]\ndata_seed = 0\nn_sim = 1\n[train]\n")
    with pytest.raises(UserError, match=r"old.toml: data_seed belongs in \[data\]"):
        load_profile(str(path))
