"""`bench run --data real` end to end on tiny datasets written in the real on-disk formats
(conftest's real_bench, from the readers' fixture writers), with the dummy estimator and the
identity refiner."""

import pytest

from benchmarks.records.rows import read_rows

pytestmark = pytest.mark.usefixtures("small_probe")  # diagnostics that only need to run


def test_real_mode_converts_each_dataset_once_and_scores_on_the_evaluation_subset(
    real_bench, monkeypatch
):
    tmp_path = real_bench.root
    monkeypatch.setenv("GAZEBENCH_UNITYEYES", str(real_bench.unityeyes))  # a root from the env
    args = ["--data", "real", "--mpiigaze", str(real_bench.mpiigaze), "--utmultiview",
            str(real_bench.utmultiview), "--jobs", "1"]  # fmt: skip
    r = real_bench.run(*args)
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
    r = real_bench.run(*args)
    assert r.exit_code == 0 and len(read_rows(tmp_path / "res")) == 3
    assert sorted(p.name for p in (tmp_path / "work" / "stores" / "real").iterdir()) == stores
