"""`bench run --data real` end to end on tiny datasets written in the real on-disk formats
(the readers' own fixture writers), with the dummy estimator and the identity refiner."""

from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.datasets.unityeyes_synth import write_unityeyes_folder
from benchmarks.records.rows import read_rows
from tests.test_mpiigaze import make_root as make_mpiigaze
from tests.test_pipeline import SUITE
from tests.test_utmultiview import make_root as make_utmultiview

PROFILE = """
[profile]
name = "tiny-real"
seeds = 1
[train]
n_train = 100
[refiner]
kind = "identity"
"""


def test_real_mode_converts_each_dataset_once_and_scores_on_the_evaluation_subset(
    tmp_path, monkeypatch
):
    mpii = make_mpiigaze(tmp_path)
    ut = make_utmultiview(tmp_path)
    ue = tmp_path / "UnityEyes"
    write_unityeyes_folder(ue, 12)
    monkeypatch.setenv("GAZEBENCH_UNITYEYES", str(ue))  # one root from the environment
    (tmp_path / "suite.toml").write_text(SUITE)
    (tmp_path / "profile.toml").write_text(PROFILE)
    args = [
        "run",
        str(tmp_path / "suite.toml"),
        "--profile",
        str(tmp_path / "profile.toml"),
        "--data",
        "real",
        "--mpiigaze",
        str(mpii),
        "--utmultiview",
        str(ut),
        "--work",
        str(tmp_path / "work"),
        "--results",
        str(tmp_path / "res"),
        "--quiet",
        "--jobs",
        "1",
    ]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    rows = {x["row_id"]: x for x in read_rows(tmp_path / "res")}
    assert set(rows) == {"mean-lab", "mean-synthetic", "mean-refined"}
    assert {x["n_test"] for x in rows.values()} == {3}  # the three Evaluation Subset lines
    assert rows["mean-lab"]["n_train"] == 20  # 2 people x (2+2 test + 3+3 synth) patches
    assert rows["mean-synthetic"]["n_train"] == 12
    assert rows["mean-lab"]["data_mode"] == "real"
    assert "mpiigaze" in rows["mean-lab"]["test_source"].lower()
    md = (tmp_path / "res" / "table1.md").read_text()
    assert md.startswith("# Table 1: gaze estimation on MPIIGaze") and "DEMO" not in md
    # a second run converts nothing again and scores nothing again
    stores = sorted(p.name for p in (tmp_path / "work" / "stores" / "real").iterdir())
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and len(read_rows(tmp_path / "res")) == 3
    assert sorted(p.name for p in (tmp_path / "work" / "stores" / "real").iterdir()) == stores
