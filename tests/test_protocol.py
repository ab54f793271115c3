"""`bench run --protocol strict`: person-disjoint folds over the test people, fold pools that
never hold their fold's people, pooled predictions that cover each test sample once; and the
default protocol's rows saying which real people the refiner saw."""

import numpy as np
import pytest

from benchmarks.datasets.store import open_store, write_store
from benchmarks.pipeline.people import people_of
from benchmarks.pipeline.protocol import Fold, make_folds, merge_fold_predictions, pool_without
from benchmarks.records.rows import read_rows, save_predictions
from estimators.base import UserError

pytestmark = pytest.mark.usefixtures("small_probe")  # diagnostics that only need to run


def _store(path, subject, names=None):
    n = len(subject)
    rng = np.random.default_rng(0)
    return write_store(
        path, images=rng.integers(0, 255, (n, 36, 60), dtype=np.uint8),
        gaze_pitchyaw_rad=np.zeros((n, 2), np.float32),
        head_pitchyaw_rad=np.zeros((n, 2), np.float32),
        subject=np.asarray(subject, np.int32), source="fixture",
        extra={"subject_names": names or {str(i): f"p{i:02d}" for i in set(subject)}},
    )  # fmt: skip


def test_folds_are_person_disjoint_and_cover_the_test_set(tmp_path):
    subject = np.repeat(np.arange(5), [3, 1, 4, 2, 2])
    folds = make_folds(_store(tmp_path / "t", subject), 2)
    assert [f.test_people for f in folds] == [("p00", "p02", "p04"), ("p01", "p03")]
    assert np.array_equal(np.sort(np.concatenate([f.test_idx for f in folds])), np.arange(12))
    for f in folds:
        assert {f"p{s:02d}" for s in subject[f.test_idx]} == set(f.test_people)
    with pytest.raises(UserError, match=r"--folds 5: .* has only 2 people; use --folds 2"):
        make_folds(_store(tmp_path / "t2", [0, 0, 1]), 5)  # never silently fewer refiners
    assert len(make_folds(_store(tmp_path / "t2b", [0, 0, 1]), 2)) == 2
    with pytest.raises(ValueError, match="needs 2 or more test people"):
        make_folds(_store(tmp_path / "t3", [4, 4]), 2)


def test_a_fold_pool_holds_none_of_its_folds_people(tmp_path):
    real = _store(tmp_path / "real", np.repeat(np.arange(4), 5))
    pool = pool_without(real, ("p01", "p03"), tmp_path / "work")
    assert people_of(pool) == ["p00", "p02"] and len(pool) == 10
    kept = np.asarray(open_store(pool.path).images)
    assert np.array_equal(kept, np.asarray(real.images)[np.isin(real.subject, [0, 2])])
    assert pool_without(real, ("p09",), tmp_path / "work") is real  # nobody to remove
    with pytest.raises(ValueError, match="nothing is left"):
        pool_without(real, ("p00", "p01", "p02", "p03"), tmp_path / "work")


def test_pooled_predictions_hold_each_test_sample_exactly_once(tmp_path):
    folds = [Fold(0, ("a",), np.array([0, 2])), Fold(1, ("b",), np.array([1, 3]))]
    for f in folds:
        k = len(f.test_idx)
        pred = np.full((k, 2), f.index, np.float32)
        save_predictions(tmp_path / f"f{f.index}.npz", pred, pred, np.full(k, 1.0 + f.index),
                         np.full(k, f.index))  # fmt: skip
    parts = [(f, f"f{f.index}.npz") for f in folds]
    err = merge_fold_predictions(tmp_path, parts, 4, tmp_path / "pooled.npz")
    assert err.tolist() == [1.0, 2.0, 1.0, 2.0]
    with np.load(tmp_path / "pooled.npz") as z:
        assert z["subject"].tolist() == [0, 1, 0, 1]
    with pytest.raises(RuntimeError, match="predict 1 test samples never and 1 more than once"):
        merge_fold_predictions(tmp_path, [parts[0], (Fold(1, ("b",), np.array([1, 2])),
                               "f1.npz")], 4, tmp_path / "bad.npz")  # fmt: skip


def _run(bench, *extra, results="res"):
    r = bench.run("--jobs", "1", *extra, results=results)
    assert r.exit_code == 0, r.output
    return r


def test_strict_and_default_on_the_demo_say_what_the_refiner_saw(tmp_path, tiny_bench):
    tiny = tiny_bench(tmp_path, profile=dict(demo=(300, 200, 200, 120), n_train=150))
    _run(tiny)
    rows = {x["row_id"]: x for x in read_rows(tmp_path / "res")}
    ref = rows["mean-refined"]
    assert ref["protocol"] == "transductive" and ref["refiner_sees_test_people"] is False
    assert len(ref["refiner_people"]) > 0 and ref["target_unlabelled_n"] == 200
    assert ref["target_labelled_n"] == 0 and rows["mean-lab"]["target_unlabelled_n"] == 0
    assert rows["mean-lab"]["refiner_sees_test_people"] is None
    assert "Refiner saw" in (tmp_path / "res" / "table1.md").read_text()

    _run(tiny, "--protocol", "strict", "--folds", "3", results="s")
    rows = {x["row_id"]: x for x in read_rows(tmp_path / "s")}
    ref = rows["mean-refined"]
    assert {x["protocol"] for x in rows.values()} == {"strict"}
    assert ref["n_test"] == 120 and ref["refiner_sees_test_people"] is False
    with np.load(tmp_path / "s" / ref["preds_file"]) as z:
        assert len(z["err_deg"]) == 120  # every test sample once, pooled over the 3 folds
    assert "Protocol: strict" in (tmp_path / "s" / "table1.md").read_text()


def test_strict_on_the_real_format_fixtures_keeps_test_people_out_of_each_fold(real_bench):
    tmp_path = real_bench.root
    real = ["--data", "real", "--mpiigaze", str(real_bench.mpiigaze), "--utmultiview",
            str(real_bench.utmultiview), "--unityeyes", str(real_bench.unityeyes)]  # fmt: skip
    _run(real_bench, *real)
    ref = {x["row_id"]: x for x in read_rows(tmp_path / "res")}["mean-refined"]
    assert ref["refiner_sees_test_people"] is True  # transductive: all of MPIIGaze, as the paper
    _run(real_bench, *real, "--protocol", "strict", "--folds", "2", results="s")
    rows = {x["row_id"]: x for x in read_rows(tmp_path / "s")}
    ref = rows["mean-refined"]
    assert ref["protocol"] == "strict" and ref["refiner_sees_test_people"] is False
    assert ref["n_test"] == rows["mean-lab"]["n_test"] == 3
    pools = list((tmp_path / "work" / "stores" / "strict").iterdir())
    assert len(pools) == 2
    for p in pools:
        s = open_store(p)
        without = s.manifest["strict_pool"]["without"]
        assert without and not set(people_of(s)) & set(without)
