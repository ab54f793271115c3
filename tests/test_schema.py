"""Profiles and suites are validated when loaded (benchmarks/pipeline/schema.py): an unknown key,
a wrong type, an out-of-range value or an unknown estimator/refiner parameter stops `bench run`
before any work, in one line naming the file, the key and what is allowed."""

import dataclasses

import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.pipeline.schema import check_refiner
from benchmarks.pipeline.suite import load_profile, load_suite

SUITE = """
[suite]
name = "schema"
title = "schema"
[[rows]]
id = "knn-lab"
label = "kNN (lab)"
method = "knn"
train = "real-lab"
rs = "R"
paper_err_deg = 16.2
params = { n_neighbors = 5 }
"""

PROFILE = """
[profile]
name = "schema"
seeds = 1
[demo]
n_sim = 100
n_lab = 100
n_wild = 100
n_test = 50
[train]
n_train = 80
[refiner]
preset = "smoke"
steps = 10
[estimators.cnn]
epochs = 1
"""


def _bad(base: str, old: str, new: str) -> str:
    assert old in base
    return base.replace(old, new)


BAD_PROFILES = {  # case -> (profile text, what the one line must say)
    "typo'd key": (_bad(PROFILE, "n_train = 80", "n_trian = 80"), "[train]: unknown key 'n_trian'; allowed: n_train"),
    "string size": (_bad(PROFILE, "n_lab = 100", 'n_lab = "many"'), "[demo]: n_lab must be int, got 'many'"),
    "negative size": (_bad(PROFILE, "n_test = 50", "n_test = -5"), "[demo]: n_test must be >= 1, got -5"),
    "no seeds": (_bad(PROFILE, "seeds = 1", "seeds = 0"), "[profile]: seeds must be >= 1, got 0"),
    "unknown section": (PROFILE + "[trian]\nn = 1\n", "unknown section [trian]; allowed: data, demo"),
    "estimator param": (_bad(PROFILE, "epochs = 1", "epocs = 1"), "[estimators.cnn]: 'epocs' is not a parameter of estimator 'cnn'; allowed: augment"),
    "unknown estimator": (PROFILE + "[estimators.knm]\nk = 1\n", "[estimators.knm]: unknown estimator 'knm'"),
    "refiner param": (PROFILE + "[refiners.histmatch]\nstrenght = 1\n", "'strenght' is not a parameter of refiner 'histmatch'; allowed: max_real, seed, strength"),
    "refiner key": (_bad(PROFILE, "steps = 10", "stepz = 10"), "[refiner]: unknown key 'stepz'; allowed: batch_size"),
    "refiner type": (_bad(PROFILE, "steps = 10", 'steps = "abc"'), "[refiner]: steps must be int, got 'abc'"),
    "refiner range": (_bad(PROFILE, "steps = 10", "steps = 0"), "[refiner]: refiner config: steps out of range"),
    "refiner preset": (_bad(PROFILE, 'preset = "smoke"', 'preset = "smok"'), "[refiner]: preset 'smok' unknown; allowed: smoke, quick"),
    "refiner kind": (PROFILE.replace("[refiner]", '[refiner]\nkind = "simgun"'), "[refiner]: kind 'simgun' is no registered refiner"),
}  # fmt: skip

BAD_SUITES = {
    "row key": (_bad(SUITE, 'rs = "R"', 'rs = "R"\ncolour = "blue"'), "row 1 (knn-lab): unknown key 'colour'; allowed: extra, id"),
    "paper number as text": (_bad(SUITE, "16.2", '"16.2"'), "row 1 (knn-lab): paper_err_deg must be float | None, got '16.2'"),
    "row param": (_bad(SUITE, "n_neighbors", "n_neighbours"), "row 1 (knn-lab): params: 'n_neighbours' is not a parameter of estimator 'knn'; allowed: feature"),
    "method": (_bad(SUITE, 'method = "knn"', 'method = "knm"'), "row 1 (knn-lab): params: unknown estimator 'knm'"),
    "train scale": (_bad(SUITE, 'rs = "R"', 'rs = "R"\ntrain_scale = 0'), "train_scale must be >= 1, got 0"),
    "head key": (_bad(SUITE, 'title = "schema"', 'titel = "schema"'), "[suite]: unknown key 'titel'; allowed: baseline, layout"),
    "top-level key": ("[suite2]\n" + SUITE, "unknown top-level key(s) suite2; allowed: rows, suite"),
}  # fmt: skip


def run(tmp_path, suite=SUITE, profile=PROFILE):
    (tmp_path / "suite.toml").write_text(suite)
    (tmp_path / "profile.toml").write_text(profile)
    args = ["run", str(tmp_path / "suite.toml"), "--profile", str(tmp_path / "profile.toml")]
    args += ["--work", str(tmp_path / "work"), "--results", str(tmp_path / "res"), "--quiet"]
    return CliRunner().invoke(main, args)


@pytest.mark.parametrize("case", [*BAD_PROFILES, *BAD_SUITES])
def test_a_bad_profile_or_suite_stops_bench_run_before_any_work_in_one_line(tmp_path, case):
    if case in BAD_PROFILES:
        profile, want = BAD_PROFILES[case]
        r, where = run(tmp_path, profile=profile), "profile.toml"
    else:
        suite, want = BAD_SUITES[case]
        r, where = run(tmp_path, suite=suite), "suite.toml"
    assert r.exit_code == 2, r.output
    assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output, r.output
    assert r.output.startswith(f"Error: {tmp_path / where}: ") and want in r.output, r.output
    assert not (tmp_path / "work").exists() and not (tmp_path / "res").exists()


def test_the_good_files_and_the_shipped_ones_load():
    for name in ("smoke", "quick", "paper"):
        load_profile(name)
    for name in ("table1", "refiners"):
        load_suite(name)


def test_every_refiner_config_field_is_a_profile_key_without_a_list_to_update():
    """[refiner] accepts what RefinerConfig has: a field added there is a profile key at once."""
    from refine.config import RefinerConfig

    every = {f.name: getattr(RefinerConfig(), f.name) for f in dataclasses.fields(RefinerConfig)}
    every = {k: list(v) if isinstance(v, tuple) else v for k, v in every.items()}
    check_refiner({**every, "kind": "simgan"}, "profile.toml: [refiner]")
    with pytest.raises(ValueError, match="unknown key 'nope'"):
        check_refiner({"nope": 1}, "profile.toml: [refiner]")
