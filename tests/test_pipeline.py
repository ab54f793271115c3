"""The Table-1 pipeline on a tiny suite: the dummy (mean) estimator and the identity refiner keep
it fast; the real estimators and refiner have their own tests."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.records.rows import REQUIRED, read_rows

pytestmark = pytest.mark.usefixtures("small_probe")  # diagnostics that only need to run

PROFILE = dict(seeds=2, demo=(300, 200, 200, 120), n_train=150)  # conftest's profile_toml


@pytest.fixture(scope="module")
def head():
    """The checkout's commit (asked when a test needs it, not when the module is imported)."""
    return subprocess.run(
        ["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture()
def tiny(tmp_path, tiny_bench):
    """The mean rows (lab, synthetic, refined) on PROFILE, the identity refiner."""
    return tiny_bench(tmp_path, profile=PROFILE)


def test_run_writes_self_describing_rows_predictions_and_report(tiny, head):
    r = tiny.run()
    assert r.exit_code == 0, r.output
    rows = read_rows(tiny / "res")
    assert sorted((x["row_id"], x["seed"]) for x in rows) == sorted(
        (i, s) for i in ("mean-lab", "mean-synthetic", "mean-refined") for s in (0, 1)
    )
    for row in rows:
        assert all(k in row for k in REQUIRED)
        assert row["data_mode"] == "demo" and row["n_train"] == 150 and row["n_test"] == 120
        assert row["n_train_used"] == 150  # the mean estimator fits every row it is given
        prov = row["provenance"]
        assert prov["git_sha"] == head  # the checkout's commit, never "unknown"
        assert len(row["stage_key"]) == 12 and int(row["stage_key"], 16) >= 0
        # the mean estimator runs in numpy: its rows say cpu, also where a GPU is visible
        assert prov["device"] == "cpu" and prov["seed"] == row["seed"]
        with np.load(tiny / "res" / row["preds_file"]) as z:
            err = z["err_deg"]
            assert z["pred_pitchyaw_rad"].shape == (120, 2)
        assert row["err_mean_deg"] == pytest.approx(float(err.mean()), rel=1e-5)
        assert row["within_7deg_pct"] == pytest.approx(100 * float((err <= 7).mean()), rel=1e-5)
    assert len({r["stage_key"] for r in rows}) == len(rows)  # one key per (row, seed)
    # identity refiner: the refined row trains on exactly the synthetic images
    by = {(x["row_id"], x["seed"]): x for x in rows}
    assert by["mean-refined", 0]["err_mean_deg"] == pytest.approx(
        by["mean-synthetic", 0]["err_mean_deg"]
    )
    assert "identity" in by["mean-refined", 0]["train_dataset"]
    md = (tiny / "res" / "table1.md").read_text()
    assert md.startswith("# Table 1 on the DEMO domain") and "not MPIIGaze" in md
    assert "| Mean gaze (refined) | demo sim, refined | S |" in md
    assert "nan " not in md and "| – |" in md  # a row the paper does not report: "–", not NaN
    assert (tiny / "res" / "error_curves.png").read_bytes()[:4] == b"\x89PNG"
    csv = (tiny / "res" / "table1.csv").read_text().splitlines()
    assert csv[0].startswith("row_id,label") and len(csv) == 4
    assert "| n_train | n_train_used |" in md and "## Per-person error" in md
    people = pd.read_csv(tiny / "res" / "table1_per_person.csv")
    assert list(people.columns) == ["row_id", "subject", "err_mean_deg", "n_seeds"]
    lab = people[people.row_id == "mean-lab"]
    err, subject = [], []
    for row in (r for r in rows if r["row_id"] == "mean-lab"):
        with np.load(tiny / "res" / row["preds_file"]) as z:
            err.append(z["err_deg"])
            subject.append(z["subject"])
    first = lab.subject.iloc[0]  # person mean within each seed, then over the two seeds
    want = np.mean([e[s == first].mean() for e, s in zip(err, subject, strict=True)])
    assert lab.err_mean_deg.iloc[0] == pytest.approx(want, rel=1e-4)
    assert set(lab.subject) == set(np.unique(subject[0])) and (lab.n_seeds == 2).all()


def test_rerun_skips_finished_rows_and_redoes_lost_ones(tiny):
    assert tiny.run().exit_code == 0
    n = len(read_rows(tiny / "res"))
    r = tiny.run()
    assert r.exit_code == 0 and len(read_rows(tiny / "res")) == n  # nothing recomputed
    assert "already scored" in r.output
    lost = read_rows(tiny / "res")[0]
    (tiny / "res" / lost["preds_file"]).unlink()
    assert tiny.run().exit_code == 0
    new = read_rows(tiny / "res")
    assert len(new) == n + 1 and new[-1]["row_id"] == lost["row_id"]


def test_the_stage_key_follows_the_config(tiny):
    """Same config, same key (the re-run above skips); a changed training size or estimator
    parameter is a new key, so the row is fitted again instead of reusing a stale result."""
    assert tiny.run("--seeds", "1", "--rows", "mean-lab", "--no-report").exit_code == 0
    first = read_rows(tiny / "res")[-1]
    tiny.write(profile={**PROFILE, "n_train": 140})
    assert tiny.run("--seeds", "1", "--rows", "mean-lab", "--no-report").exit_code == 0
    second = read_rows(tiny / "res")[-1]
    assert second["n_train"] == 140 and second["stage_key"] != first["stage_key"]
    tiny.write(profile={**PROFILE, "n_train": 140, "estimators": {"mean": {"random_state": 5}}})
    assert tiny.run("--seeds", "1", "--rows", "mean-lab", "--no-report").exit_code == 0
    third = read_rows(tiny / "res")[-1]
    assert len(read_rows(tiny / "res")) == 3
    assert third["stage_key"] not in (first["stage_key"], second["stage_key"])
    assert third["provenance"]["config_hash"] == third["stage_key"]


def test_the_profiles_skip_list_and_rows(tiny):
    """A profile's [rows] skip list leaves rows out; --rows runs exactly the rows named (a skipped
    one too, in suite order); an unknown id stops the run naming it and listing the suite's."""
    tiny.write(profile={**PROFILE, "rows": {"skip": ["mean-synthetic"]}})
    assert tiny.run("--seeds", "1", "--no-report").exit_code == 0
    assert [x["row_id"] for x in read_rows(tiny / "res")] == ["mean-lab", "mean-refined"]
    r = tiny.run("--seeds", "1", "--no-report", "--rows", "mean-refined,mean-synthetic",
                results="res2")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert [x["row_id"] for x in read_rows(tiny / "res2")] == ["mean-synthetic", "mean-refined"]
    r = tiny.run("--rows", "mean-lab,nope", results="res3")
    assert r.exit_code == 2 and r.output.strip().count("\n") == 0
    assert "no row 'nope'" in r.output and "mean-lab, mean-synthetic, mean-refined" in r.output
    assert not (tiny / "res3").exists()


def test_extra_rows_run_with_rows_all_and_either_report_is_written(tiny):
    """A default run fits the suite's own rows, not one marked extra, and its report is written
    without it; --rows all (the same results: only the extra row is new) adds it, marked extra
    in the report."""
    extra = {"id": "mean-extra", "label": "Mean gaze (extra)", "method": "mean",
             "train": "real-lab", "rs": "R", "extra": True}  # fmt: skip
    tiny.write([*("mean-lab", "mean-synthetic", "mean-refined"), extra])
    r = tiny.run("--seeds", "1")
    assert r.exit_code == 0, r.output
    assert [x["row_id"] for x in read_rows(tiny / "res")] == [
        "mean-lab", "mean-synthetic", "mean-refined"
    ]  # fmt: skip
    report = (tiny / "res" / "table1.md").read_text()
    assert "Mean gaze (refined)" in report and "Mean gaze (extra)" not in report
    r = tiny.run("--seeds", "1", "--rows", "all")
    assert r.exit_code == 0, r.output
    assert [x["row_id"] for x in read_rows(tiny / "res")][3:] == ["mean-extra"]
    assert "Mean gaze (extra) *(extra)*" in (tiny / "res" / "table1.md").read_text()


# n_train = the whole lab pool: every seed trains on the same images, so seed 0 and seed 1 can
# only differ through the estimator's own random_state
RF_PROFILE = {**PROFILE, "n_train": 200, "estimators": {"rf": {"n_estimators": 4, "n_jobs": 1}}}


def _preds(res, rows):
    out = {}
    for x in rows:
        with np.load(res / x["preds_file"]) as z:
            out[x["row_id"], x["seed"]] = z["pred_pitchyaw_rad"]
    return out


def test_a_stochastic_row_is_seeded_and_parallel_rows_give_the_same_numbers(tiny):
    """rf draws bootstrap samples and feature splits from its seed: on the same training images,
    seed 0 and seed 1 predict differently, and a second run of the same seeds, in two processes,
    predicts bit for bit what the serial run predicted."""
    tiny.write([{"id": "mean-lab", "method": "rf"}], RF_PROFILE)
    assert tiny.run("--rows", "mean-lab", "--no-report").exit_code == 0
    rows_a = read_rows(tiny / "res")
    assert {x["n_train"] for x in rows_a} == {200}  # the whole pool, for both seeds
    a = _preds(tiny / "res", rows_a)
    assert not np.array_equal(a["mean-lab", 0], a["mean-lab", 1])
    r = tiny.run("--rows", "mean-lab", "--jobs", "2", "--no-report", results="res2")
    assert r.exit_code == 0, r.output
    b = _preds(tiny / "res2", read_rows(tiny / "res2"))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_check_passes_then_fails_on_a_stricter_baseline(tiny):
    assert tiny.run("--seeds", "1", "--no-report").exit_code == 0
    runner = CliRunner()
    base = tiny / "base.csv"
    r = runner.invoke(
        main,
        [
            "check",
            "--results",
            str(tiny / "res"),
            "--baseline",
            str(base),
            "--write-baseline",
            "--tolerance-deg",
            "0.3",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["check", "--results", str(tiny / "res"), "--baseline", str(base)])
    assert r.exit_code == 0 and "check passed: 3 row(s)" in r.output
    lines = base.read_text().splitlines()
    row_id, err, tol, *of = lines[1].split(",")  # of: the run's profile, data mode, config
    assert of[:2] == ["tiny", "demo"]
    lines[1] = ",".join([row_id, str(float(err) - 1.0), tol, *of])  # stricter than the result
    lines.append(",".join(["ghost-row", "5.0", "0.5", *of]))  # and a row that never ran
    base.write_text("\n".join(lines) + "\n")
    r = runner.invoke(main, ["check", "--results", str(tiny / "res"), "--baseline", str(base)])
    assert r.exit_code == 1
    assert f"WORSE  {row_id}" in r.output and "MISSING ghost-row" in r.output
    assert "2 row(s) worse or missing" in r.output


def test_real_mode_without_roots_is_one_message_listing_what_to_set(tiny, monkeypatch):
    for env in ("GAZEBENCH_MPIIGAZE", "GAZEBENCH_UNITYEYES", "GAZEBENCH_UTMULTIVIEW"):
        monkeypatch.delenv(env, raising=False)
    r = tiny.run("--data", "real")
    assert r.exit_code != 0 and "Traceback" not in r.output
    msg = r.output.strip()
    assert msg.count("\n") == 0
    for needle in (
        "GAZEBENCH_MPIIGAZE",
        "GAZEBENCH_UNITYEYES",
        "GAZEBENCH_UTMULTIVIEW",
        "--utmultiview",
        "mean-lab",
    ):
        assert needle in msg


def test_bad_suite_files_are_refused_by_name(tiny):
    from benchmarks.pipeline.suite import load_suite

    p, good = tiny / "bad.toml", tiny.suite.read_text()
    p.write_text(good.replace('train = "real-lab"', 'train = "mpii"'))
    with pytest.raises(ValueError, match=r"bad.toml: row 1 \(mean-lab\): train must be one of"):
        load_suite(str(p))
    p.write_text(good.replace('rs = "R"', 'rs = "R"\ncolour = "blue"'))
    with pytest.raises(ValueError, match="unknown key"):
        load_suite(str(p))
    with pytest.raises(ValueError, match="unknown suite 'nope'; available: refiners, table1"):
        load_suite("nope")


def test_the_shipped_suite_and_profiles_are_consistent():
    from benchmarks.pipeline.suite import load_profile, load_suite
    from estimators.registry import list_estimators

    suite = load_suite("table1")
    paper = [r for r in suite.rows if not r.extra]
    assert [r.paper_err_deg for r in paper] == [16.5, 16.4, 15.4, 16.2, 13.9, 9.9, 11.2, 7.8]
    assert {r.method.split(":")[0] for r in suite.rows} <= set(list_estimators())
    for name in ("smoke", "quick", "paper"):
        prof = load_profile(name)
        assert set(prof["rows"]["skip"]) <= set(suite.row_ids)
        assert not {r.id for r in paper} & set(prof["rows"]["skip"])  # every paper row runs
        if any(r.train_scale > 1 for r in suite.rows if r.id not in prof["rows"]["skip"]):
            assert prof["demo"]["n_sim"] >= 4 * prof["train"]["n_train"]


def test_report_on_missing_results_is_clear(tmp_path):
    r = CliRunner().invoke(main, ["report", "--results", str(tmp_path / "none")])
    assert r.exit_code != 0 and "no results here" in r.output and "Traceback" not in r.output


def test_append_only_rows_survive_a_torn_line(tmp_path):
    from benchmarks.records.rows import append_row

    row = {k: 0 for k in REQUIRED} | {"schema": "gazebench.result/1", "row_id": "a", "seed": 0}
    append_row(tmp_path, row)
    with open(tmp_path / "rows.jsonl", "a") as f:
        f.write('{"schema": "gazebench.result/1", "row_id": "b"')  # killed mid-write
    assert [r["row_id"] for r in read_rows(tmp_path)] == ["a"]
    with pytest.raises(ValueError, match="missing"):
        append_row(tmp_path, {"row_id": "x"})
    assert json.loads((tmp_path / "rows.jsonl").read_text().splitlines()[0])["row_id"] == "a"


CNN_ROWS = [("cnn-refined", "cnn", "refined"), ("knn-lab", "knn", "real-lab", "R")]
CNN_PROFILE = {
    **PROFILE,
    "seeds": 1,
    "estimators": {"cnn": dict(epochs=1, batch_size=32, width=0.25)},
}


def test_device_cpu_keeps_every_torch_stage_on_cpu_when_a_gpu_is_visible(tiny, monkeypatch):
    """With a GPU faked visible, 'auto' anywhere would resolve to cuda (and fail: there is
    none); with --device cpu every stage runs on the CPU and the rows say what really ran.

    torch.cuda.is_available itself cannot be faked here: torch's own optimizer asks it and then
    initialises CUDA. So every module's resolve_device is replaced by one that sees a GPU."""
    import estimators.cnn
    import refine.apply
    import refine.trainer
    import torchkit.device

    asked = []

    def gpu_visible(device="auto"):
        asked.append(device)
        return "cuda" if device == "auto" else device

    for mod in (torchkit.device, estimators.cnn, refine.apply, refine.trainer):
        if hasattr(mod, "resolve_device"):
            monkeypatch.setattr(mod, "resolve_device", gpu_visible)
    import benchmarks.pipeline.refiner_fit as refiner_fit

    seen = {}
    real_fit = refiner_fit.fit_refined_store

    def fit_spy(*args, **kw):  # the profile's identity refiner goes through the registry stage
        seen["refiner"] = args[8]  # (name, synthetic, real, profile, seed, work, log, diag, device)
        return real_fit(*args, **kw)

    monkeypatch.setattr(refiner_fit, "fit_refined_store", fit_spy)
    tiny.write(CNN_ROWS, CNN_PROFILE)
    r = tiny.run("--device", "cpu", "--precision", "fp32", "--no-report")
    assert r.exit_code == 0, r.output
    assert seen == {"refiner": "cpu"}
    assert asked and set(asked) == {"cpu"}  # no stage asked for "auto"
    by = {x["row_id"]: x["provenance"] for x in read_rows(tiny / "res")}
    assert by["cnn-refined"]["device"] == "cpu" and by["cnn-refined"]["precision"] == "fp32"
    assert by["knn-lab"]["device"] == "cpu" and by["knn-lab"]["precision"] is None


def test_rows_record_the_device_their_estimator_used_not_the_requested_one(tiny, monkeypatch):
    import benchmarks.pipeline.fit_row as fit_row

    real_create = fit_row.create_estimator

    def create(name, **params):
        est = real_create(name, **params)
        if name == "mean":
            est.device_ = "somewhere-else"  # as if the estimator had chosen its own device
        return est

    monkeypatch.setattr(fit_row, "create_estimator", create)
    assert tiny.run("--seeds", "1", "--device", "cpu", "--no-report").exit_code == 0
    assert {x["provenance"]["device"] for x in read_rows(tiny / "res")} == {"somewhere-else"}
