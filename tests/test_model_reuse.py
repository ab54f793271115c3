"""Fitted models are kept by what determines the fit and reused when only the scored people
differ: the test people are scored by the very models fitted (frozen) for the development people,
never by a retrain (benchmarks/pipeline/fit_row.py, cells.py)."""

import pickle
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import benchmarks.pipeline.fit_row as fit_row
from benchmarks.datasets.demo import render_domain
from benchmarks.datasets.store import write_store
from benchmarks.records.rows import read_rows
from estimators.knn import KNNGaze
from estimators.mean import MeanGaze

pytestmark = pytest.mark.usefixtures("small_probe")  # diagnostics that only need to run


def _store(path, domain="lab", n=24, seed=1):
    d = render_domain(domain, n, seed=seed)
    return write_store(
        path, images=d["images"], gaze_pitchyaw_rad=d["gaze_pitchyaw_rad"],
        head_pitchyaw_rad=d["head_pitchyaw_rad"],
        subject=np.repeat(np.arange(4), n // 4).astype(np.int32), source=f"demo:{domain}",
    )  # fmt: skip


@pytest.fixture()
def stores(tmp_path):
    """A training store and two test stores of other people (other renders)."""
    return SimpleNamespace(
        train=str(_store(tmp_path / "train", "lab", 24, 1).path),
        dev=str(_store(tmp_path / "dev", "wild", 16, 2).path),
        test=str(_store(tmp_path / "test", "wild", 20, 3).path),
        root=tmp_path,
    )


IDX = np.arange(0, 24, 2)
KNN = {"n_neighbors": 3}


def _cell(stores, test, preds, model=None, key="k1", method="knn", params=KNN):
    out = fit_row.fit_predict_row(
        method, params, stores.train, IDX, test, 0, str(stores.root / preds), 1,
        model_path=None if model is None else str(model), fit_key=key,
    )  # fmt: skip
    with np.load(stores.root / preds) as z:
        return out, z["pred_pitchyaw_rad"]


def _no_fit(monkeypatch, cls=KNNGaze):
    def fit(self, X, y):
        raise AssertionError("fitted again: the kept model was not used")

    monkeypatch.setattr(cls, "fit", fit)


def test_a_kept_model_scores_other_people_without_fitting_again(stores, monkeypatch):
    model = stores.root / "models" / "knn.pkl"
    dev, _ = _cell(stores, stores.dev, "dev.npz", model)
    assert model.is_file() and dev["fit_reused"] is False
    assert not list(model.parent.glob(".*"))  # no temporary file left beside it
    fresh, want = _cell(stores, stores.test, "fresh.npz")  # a fresh fit, keeping nothing
    assert fresh["fit_reused"] is False
    _no_fit(monkeypatch)
    test, got = _cell(stores, stores.test, "test.npz", model)
    assert test["fit_reused"] is True and test["fit_s"] == dev["fit_s"]  # the original fit's
    assert test["n_test"] == 20 and test["n_train"] == dev["n_train"] == len(IDX)
    np.testing.assert_array_equal(got, want)
    assert test["err_mean_deg"] == fresh["err_mean_deg"]


def test_a_corrupt_or_stale_model_file_is_refitted_and_overwritten(stores, monkeypatch):
    model = stores.root / "models" / "knn.pkl"
    first, want = _cell(stores, stores.test, "a.npz", model)
    good = model.read_bytes()
    model.write_bytes(good[: len(good) // 2])  # torn
    again, got = _cell(stores, stores.test, "b.npz", model)
    assert again["fit_reused"] is False
    np.testing.assert_array_equal(got, want)
    with open(model, "rb") as f:  # overwritten by the refit: a whole model of its key
        assert pickle.load(f)["fit_key"] == "k1"
    stale, _ = _cell(stores, stores.test, "c.npz", model, key="k2")  # another fit's file
    assert stale["fit_reused"] is False
    with open(model, "rb") as f:
        assert pickle.load(f)["fit_key"] == "k2"
    _no_fit(monkeypatch)
    assert _cell(stores, stores.test, "d.npz", model, key="k2")[0]["fit_reused"] is True


class Unpicklable(MeanGaze):
    def _fit(self, X, y):
        super()._fit(X, y)
        self.hook_ = lambda: None  # a lambda: pickle refuses it


def test_a_model_that_does_not_pickle_is_not_kept_and_the_row_still_scores(stores, monkeypatch):
    monkeypatch.setattr(fit_row, "create_estimator", lambda name, **kw: Unpicklable())
    model = stores.root / "models" / "mean.pkl"
    with pytest.warns(UserWarning, match="not kept"):  # a built-in should pickle: say so
        out, _ = _cell(stores, stores.test, "a.npz", model, method="mean", params={})
    assert out["fit_reused"] is False and out["n_test"] == 20
    assert not model.parent.exists() or not list(model.parent.iterdir())  # no file, no temp
    monkeypatch.setattr(fit_row, "is_plugin_estimator", lambda name: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a plug-in need not pickle: no word about it
        out, _ = _cell(stores, stores.test, "b.npz", model, method="mean", params={})
    assert out["fit_reused"] is False and not model.exists()


# --- the fit key: what determines the fit, never the people scored ----------------------------


def _plan(bench, stores, profile=None, eval_split="test", threads=1, precision=None):
    from benchmarks.pipeline.run import RunOptions
    from benchmarks.pipeline.sources import Sources
    from benchmarks.pipeline.suite import load_profile, load_suite

    if profile is not None:
        bench.write(profile=profile)
    suite = load_suite(str(bench.suite))
    prof = load_profile(str(bench.profile))
    opts = RunOptions(eval_split=eval_split, precision=precision)
    return SimpleNamespace(suite=suite, profile=prof, opts=opts, rows=suite.rows, device="cpu",
                           row_threads=threads, work_dir=bench / "work",
                           sources=Sources("demo", stores))  # fmt: skip


def _keys(plan, stores, seed=0, protocol=None):
    from benchmarks.pipeline.cells import pending_cells

    (cell,) = pending_cells(plan, stores, {}, seed, set(), protocol=protocol)
    assert cell.identity["fit_key"] == cell.fit_key
    return cell.fit_key, cell.identity["stage_key"]


def test_the_fit_key_ignores_the_people_scored_and_follows_what_the_fit_is(tmp_path, tiny_bench):
    from benchmarks.datasets.store import open_store

    profile = dict(name="fitkey", n_train=10)
    bench = tiny_bench(tmp_path, [("knn-lab", "knn", "real-lab", "R")], profile)
    lab = open_store(_store(tmp_path / "lab", "lab", 24, 1).path)
    other_lab = open_store(_store(tmp_path / "lab2", "lab", 24, 5).path)
    dev = open_store(_store(tmp_path / "dev", "wild", 16, 2).path)
    test = open_store(_store(tmp_path / "test", "wild", 20, 3).path)
    on_test = {"real-lab": lab, "test": test}
    on_dev = {"real-lab": lab, "test": dev}
    fit, cell = _keys(_plan(bench, on_test), on_test)
    assert len(fit) == 12 and fit != cell
    # other people scored (another test store, the dev split): another cell, the same model
    fit_dev, cell_dev = _keys(_plan(bench, on_dev, eval_split="dev"), on_dev)
    assert fit_dev == fit and cell_dev != cell
    # what the model is a function of: each changes the fit key
    changed = [
        _keys(_plan(bench, {**on_test, "real-lab": other_lab}), {**on_test, "real-lab": other_lab}),
        _keys(_plan(bench, on_test, {**profile, "estimators": {"knn": {"n_neighbors": 3}}}),
              on_test),
        _keys(_plan(bench, on_test, {**profile, "n_train": 12}), on_test),
        _keys(_plan(bench, on_test, profile, threads=2), on_test),
        _keys(_plan(bench, on_test, profile, precision="bf16"), on_test),
        _keys(_plan(bench, on_test, profile), on_test, seed=1),
    ]  # fmt: skip
    fits = [f for f, _ in changed]
    assert fit not in fits and len(set(fits)) == len(fits)
    # under --protocol strict no model is kept (its cells never share one)
    strict = _keys(_plan(bench, on_test, profile), on_test, protocol={"name": "strict", "folds": 2})
    assert strict[0] is None


# --- end to end: `bench run --eval dev`, then `--eval test` on the same --work ------------------

ROWS = ["mean-lab", ("knn-synthetic", "knn", "synthetic"), "mean-refined"]
PROFILE = dict(name="reuse", demo=(120, 100, 100, 60), n_train=80)  # test_keys.py's sizes


def test_eval_test_after_eval_dev_scores_the_dev_runs_models(tmp_path, tiny_bench):
    bench = tiny_bench(tmp_path, ROWS, PROFILE, name="reuse")
    for split in ("dev", "test"):
        r = bench.run("--eval", split, "--no-report", "--no-audit", results=f"res-{split}")
        assert r.exit_code == 0, r.output
    dev = {x["row_id"]: x for x in read_rows(tmp_path / "res-dev")}
    test = {x["row_id"]: x for x in read_rows(tmp_path / "res-test")}
    assert dev.keys() == test.keys() == {"mean-lab", "knn-synthetic", "mean-refined"}
    models = sorted(p.name for p in (tmp_path / "work" / "models").iterdir())
    assert len(models) == 3 and all(m.endswith(".pkl") for m in models)
    for row_id, d in dev.items():
        t = test[row_id]
        assert d["fit_reused"] is False and t["fit_reused"] is True
        assert t["fit_s"] == d["fit_s"]  # the dev run's fit, not a new one
        assert t["fit_key"] == d["fit_key"] and t["stage_key"] != d["stage_key"]
        assert (d["eval_split"], t["eval_split"]) == ("dev", "test")
        assert t["test_source"] != d["test_source"]  # other people scored
    # a protocol that keeps no model: its rows say so
    r = bench.run("--protocol", "strict", "--folds", "2", "--rows", "mean-lab", "--no-report",
                  "--no-audit", results="res-strict")  # fmt: skip
    assert r.exit_code == 0, r.output
    (row,) = read_rows(tmp_path / "res-strict")
    assert row["fit_reused"] is False and row["fit_key"] is None


def test_a_model_file_records_its_key_and_fit_seconds(stores):
    model = stores.root / "m.pkl"
    out, _ = _cell(stores, stores.test, "a.npz", model, key="abc")
    with open(model, "rb") as f:
        saved = pickle.load(f)
    assert saved["fit_key"] == "abc" and saved["fit_s"] == out["fit_s"]
    assert saved["method"] == "knn" and isinstance(saved["estimator"], KNNGaze)
