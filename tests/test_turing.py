"""`bench turing` without a browser: the design, the answers log, the Flask app (test client),
simulated participants, resume, tampering, bad input and the report."""

from __future__ import annotations

import json
import re
import socket
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.turing.answers import AnswerLog, read_answers
from benchmarks.turing.design import FAKE, REAL, StudyDesign, plan_trials
from benchmarks.turing.fixtures import write_demo_run
from benchmarks.turing.launch import StudyRequest, open_or_create
from benchmarks.turing.report import build_report
from benchmarks.turing.server import COOKIE, create_app, make_server
from benchmarks.turing.stats import binomial, people_bootstrap, wilson_halfwidth
from benchmarks.turing.study import open_study
from estimators.base import UserError

TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_demo_run(tmp_path_factory.mktemp("run"), n_real=80, n_synthetic=80)


def make_study(run, tmp_path, sources=("refined",), trials=20, pool=40, seed=0):
    req = StudyRequest(
        run.results_dir,
        run.work_dir,
        tuple(sources),
        None,
        tmp_path / "study",
        {"trials_per_person": trials, "pool_per_source": pool, "seed": seed},
    )
    return open_or_create(req, lambda: run.results_dir)[0]


def take(app, study, choose, pid=None):
    """One participant takes the whole study through the app (a fresh test client);
    choose(trial) -> 'real' | 'fake' (a trial: design.Trial). Returns the participant id.
    pid: a fixed id (a browser that has it already), so plans, and so results, are fixed."""
    client = app.test_client()
    if pid is not None:
        client.set_cookie(COOKIE, pid)
    assert client.post("/start").status_code == 303
    pid = client.get_cookie(COOKIE).value
    for k in range(study.design.trials_per_person):
        r = client.get("/trial")
        assert r.status_code == 200 and f"Image {k + 1} of" in r.get_data(as_text=True)
        token = TOKEN_RE.search(r.get_data(as_text=True)).group(1)
        assert client.get(f"/image/{token}").data[:8] == b"\x89PNG\r\n\x1a\n"
        answer = choose(study.trials(pid)[k])
        client.post("/answer", data={"token": token, "answer": answer, "rt_ms": "640"})
    assert client.get("/trial").headers["Location"].endswith("/done")
    return pid


# -- design -------------------------------------------------------------------------------------
def test_plan_is_half_real_per_arm_distinct_and_deterministic():
    design = StudyDesign(trials_per_person=24, sources=("a", "b"), pool_per_source=30)
    pools = {REAL: np.arange(100, 130), "a": np.arange(30), "b": np.arange(50, 80)}
    plan = plan_trials(design, pools, "p0123456789ab")
    assert plan == plan_trials(design, pools, "p0123456789ab")
    assert plan != plan_trials(design, pools, "p0123456789ac")
    assert [t.index for t in plan] == list(range(24))
    for arm in ("a", "b"):
        mine = [t for t in plan if t.arm == arm]
        assert sum(t.truth == REAL for t in mine) == sum(t.truth == FAKE for t in mine) == 6
        assert {t.source for t in mine if t.truth == FAKE} == {arm}
    reals = [t.image_row for t in plan if t.truth == REAL]
    assert len(set(reals)) == 12 and set(reals) <= set(range(100, 130))


@pytest.mark.parametrize(
    "kw,msg",
    [
        ({"trials_per_person": 7}, "multiple of 2"),
        ({"trials_per_person": 6, "sources": ("a", "b")}, "multiple of 4"),
        ({"pool_per_source": 5}, "pool per source"),
        ({"interpolation": "cubic"}, "interpolation"),
        ({"sources": ()}, "at least one source"),
    ],
)
def test_bad_designs_are_one_line(kw, msg):
    with pytest.raises(UserError, match=msg):
        StudyDesign(**kw)


# -- simulated participants ---------------------------------------------------------------------
def test_random_answers_cover_chance_and_a_cue_gives_all_right(run, tmp_path):
    study = make_study(run, tmp_path, trials=40, pool=40)
    app = create_app(study)
    rng = np.random.default_rng(5)
    for person in range(10):  # fixed ids: random answers against fixed plans, a fixed result
        take(app, study, lambda t: str(rng.choice([REAL, FAKE])), pid=f"p{person:012x}")
    guessing = build_report(study.path, machine=False).arms[0].counts.accuracy
    assert guessing.n == 400 and guessing.ci95_lo < 0.5 < guessing.ci95_hi
    assert guessing.p_value > 0.05

    cheat = make_study(run, tmp_path / "cue", trials=40, pool=40)
    app = create_app(cheat)
    for _ in range(3):  # reads the true label: a planted cue
        take(app, cheat, lambda t: t.truth)
    cued = build_report(cheat.path, machine=False).arms[0]
    assert cued.counts.accuracy.p_hat == 1.0 and cued.counts.accuracy.p_value < 1e-20
    assert cued.counts.err_real == cued.counts.err_fake == cued.counts.hype_error == 0.0


def test_several_people_at_once_get_their_own_plans(run, tmp_path):
    study = make_study(run, tmp_path, sources=("refined", "synthetic"), trials=8)
    app = create_app(study)
    clients = [app.test_client() for _ in range(3)]
    pids = []
    for c in clients:
        c.post("/start")
        pids.append(c.get_cookie(COOKIE).value)
    assert len(set(pids)) == 3
    for _ in range(8):  # interleaved: one answer each in turn
        for c in clients:
            token = TOKEN_RE.search(c.get("/trial").get_data(as_text=True)).group(1)
            c.post("/answer", data={"token": token, "answer": "real"})
    answers = read_answers(study.answers_path, study.trials)
    assert len(answers) == 24
    for pid in pids:
        mine = [a for a in answers if a.participant == pid]
        assert [a.trial for a in mine] == list(range(8))
        assert [(a.source, a.image_row) for a in mine] == [
            (t.source, t.image_row) for t in study.trials(pid)
        ]


# -- the page: nothing leaks, tokens are per participant, stale submits are ignored -------------
def test_trial_page_and_image_url_leak_nothing(run, tmp_path):
    study = make_study(run, tmp_path, sources=("refined", "synthetic"), trials=8)
    app = create_app(study)
    c = app.test_client()
    c.post("/start")
    secrets = ["refined", "synthetic", "degrade", "demo", "wild", "sim", str(run.work_dir)]
    secrets += [s.store_path for s in [study.record.real, *study.record.fakes]]
    sizes = set()
    for _ in range(8):
        html = c.get("/trial").get_data(as_text=True)
        for word in secrets:
            assert word not in html.lower(), word
        token = TOKEN_RE.search(html).group(1)
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}", token)
        sizes.add(len(c.get(f"/image/{token}").data))  # a byte count that differs would tell
        other = app.test_client()
        other.post("/start")
        assert other.get(f"/image/{token}").status_code == 404  # not someone else's token
        c.post("/answer", data={"token": token, "answer": "fake"})
        c.post("/answer", data={"token": token, "answer": "real"})  # a second click: ignored
    assert len(read_answers(study.answers_path, study.trials)) == 8
    assert c.get("/trial").headers["Location"].endswith("/done")
    assert len(sizes) == 1


# -- answers survive restarts and crashes -------------------------------------------------------
def test_a_restarted_server_resumes_each_participant_at_their_next_trial(run, tmp_path):
    study = make_study(run, tmp_path, trials=10)
    c = create_app(study).test_client()
    c.post("/start")
    pid = c.get_cookie(COOKIE).value
    for _ in range(4):
        token = TOKEN_RE.search(c.get("/trial").get_data(as_text=True)).group(1)
        c.post("/answer", data={"token": token, "answer": "real"})
    # the server dies with an answer half written: at most that answer is lost
    with open(study.answers_path, "a") as f:
        f.write('{"schema": "gazebench.turing.answer/1", "participant": "' + pid)
    assert len(read_answers(study.answers_path, study.trials)) == 4  # readers skip the tail
    again = open_or_create(StudyRequest(study_dir=study.path), lambda: run.results_dir)[0]
    app = create_app(again)
    assert app.config["TURING_STATE"].log.torn_tail_dropped
    c2 = app.test_client()
    c2.set_cookie(COOKIE, pid)  # the same browser, after the restart
    assert c2.get("/").headers["Location"].endswith("/trial")
    html = c2.get("/trial").get_data(as_text=True)
    assert "Image 5 of 10" in html
    token = TOKEN_RE.search(html).group(1)
    c2.post("/answer", data={"token": token, "answer": "fake"})
    answers = read_answers(study.answers_path, study.trials)
    assert [a.trial for a in answers] == [0, 1, 2, 3, 4]
    assert study.answers_path.read_text().endswith("\n")


def test_each_answer_is_on_disk_before_the_next_page(run, tmp_path, monkeypatch):
    import os

    study = make_study(run, tmp_path, trials=4)
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    take(create_app(study), study, lambda t: REAL)
    assert len(synced) == 4
    lines = study.answers_path.read_text().splitlines()
    a = json.loads(lines[0])
    assert set(a) >= {"participant", "trial", "source", "image_row", "answer", "response_time_s"}
    assert a["response_time_s"] == 0.64


def test_changing_an_existing_study_is_refused(run, tmp_path):
    study = make_study(run, tmp_path, trials=10)
    req = StudyRequest(study_dir=study.path, design={"trials_per_person": 20})
    with pytest.raises(UserError, match=r"trials_per_person: 10 -> 20"):
        open_or_create(req, lambda: run.results_dir)


# -- tampered answers files ---------------------------------------------------------------------
def _tamper(lines, kind):
    first = json.loads(lines[0])
    if kind == "not json":
        return [lines[0], "this is not json", *lines[1:]]
    if kind == "unknown trial":
        return [*lines, json.dumps({**first, "trial": 999})]
    if kind == "duplicate":
        return [*lines, lines[1]]
    if kind == "other image":
        return [json.dumps({**first, "image_row": first["image_row"] + 1}), *lines[1:]]
    if kind == "unknown participant":
        return [json.dumps({**first, "participant": "mallory"}), *lines[1:]]
    if kind == "out of order":
        return [lines[1], lines[0], *lines[2:]]
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind,msg",
    [
        ("not json", ":2: not a JSON line"),
        ("unknown trial", ":7: unknown trial id 999"),
        ("duplicate", ":7: participant p[0-9a-f]+ trial 1 answered twice"),
        ("other image", ":1: participant p[0-9a-f]+ trial 0 shows .* but the study's plan"),
        ("unknown participant", ":1: not a valid answer .*not a participant id"),
        ("out of order", ":1: participant p[0-9a-f]+ answers trial 1 before trial 0"),
    ],
)
def test_a_tampered_answers_file_is_one_clear_line(run, tmp_path, kind, msg):
    study = make_study(run, tmp_path, trials=6)
    take(create_app(study), study, lambda t: FAKE)
    lines = study.answers_path.read_text().splitlines()
    study.answers_path.write_text("\n".join(_tamper(lines, kind)) + "\n")
    with pytest.raises(UserError, match=msg):
        read_answers(study.answers_path, study.trials)
    with pytest.raises(UserError, match=msg):  # the server refuses to resume on it too
        AnswerLog(study.answers_path, study.trials)
    r = CliRunner().invoke(main, ["turing", "report", "--study", str(study.path), "--no-machine"])
    assert r.exit_code == 2 and re.search(msg, r.output), r.output
    assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output


# -- bad input ----------------------------------------------------------------------------------
def _bench(*args):
    r = CliRunner().invoke(main, ["turing", *map(str, args)])
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: ") and r.output.strip().count("\n") == 0, r.output
    return r.output


def test_unknown_source_is_one_line(run, tmp_path):
    out = _bench("--results", run.results_dir, "--work", run.work_dir, "--source", "bogus",
                 "--study", tmp_path / "s")  # fmt: skip
    assert "unknown source 'bogus'" in out


def test_a_run_without_refined_images_is_one_line(tmp_path):
    bare = write_demo_run(tmp_path, n_real=20, n_synthetic=20, refiner=None)
    out = _bench("--results", bare.results_dir, "--work", bare.work_dir)
    assert "no refined images for source 'refined'" in out
    assert not (bare.results_dir / "turing-refined").exists()


def test_a_refiner_the_run_does_not_have_lists_those_it_has(run, tmp_path):
    out = _bench("--results", run.results_dir, "--work", run.work_dir, "--source",
                 "refined:simgan", "--study", tmp_path / "s")  # fmt: skip
    assert "it has refined:degrade" in out


def test_stores_missing_from_the_work_dir_are_one_line(run, tmp_path):
    out = _bench("--results", run.results_dir, "--work", tmp_path / "elsewhere", "--study",
                 tmp_path / "s")  # fmt: skip
    assert "is not under" in out and "--work" in out


def test_a_port_in_use_is_one_line(run, tmp_path):
    study = make_study(run, tmp_path, trials=4)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UserError, match=f"port {port} on 127.0.0.1 is in use"):
            make_server(study, "127.0.0.1", port)
        out = _bench("--study", study.path, "--port", port)
        assert f"port {port} on 127.0.0.1 is in use" in out


def test_a_free_port_serves(run, tmp_path):
    study = make_study(run, tmp_path, trials=4)
    server = make_server(study, "127.0.0.1", 0)
    try:
        assert server.port > 0
    finally:
        server.server_close()


# -- the report ---------------------------------------------------------------------------------
def test_report_numbers_paper_rows_machine_panel_and_provenance(run, tmp_path):
    study = make_study(run, tmp_path, sources=("refined", "synthetic"), trials=8, pool=40)
    app = create_app(study)
    take(app, study, lambda t: t.truth if t.arm == "synthetic" else REAL)
    take(app, study, lambda t: FAKE)
    r = CliRunner().invoke(main, ["turing", "report", "--study", str(study.path)])
    assert r.exit_code == 0, r.output
    import pandas as pd

    df = pd.read_csv(study.path / "turing.csv")
    by = {(k, s): row for k, s, row in zip(df["kind"], df["source"], df.itertuples(), strict=True)}
    syn, ref = by[("study", "synthetic")], by[("study", "refined")]
    # synthetic: person 1 all right (4), person 2 right on the 2 fakes; refined: 2 + 2 right
    assert (syn.trials, syn.right, ref.trials, ref.right) == (8, 6, 8, 4)
    assert ref.err_real == 0.5 and ref.err_fake == 0.5 and syn.err_fake == 0.0
    assert by[("paper", "refined")].right == 517 and by[("paper", "refined")].trials == 1000
    assert by[("paper", "synthetic")].right == 162 and by[("paper", "synthetic")].trials == 200
    assert 0.0 <= syn.machine_cnn_acc <= 1.0 and 0.0 <= syn.machine_mean_acc <= 1.0
    assert syn.study_seed == 0 and isinstance(syn.git_sha, str) and len(syn.git_sha) == 40
    people = pd.read_csv(study.path / "turing_per_participant.csv")
    assert len(people) == 4 and set(people["trials"]) == {4}
    md = (study.path / "turing.md").read_text()
    for text in ["| *paper: real vs refined (SimGAN)* | 1000 | 517 | 0.517 |", "People vs machines",
                 "Per participant", "## Provenance", "seed 0", "Demo domain"]:  # fmt: skip
        assert text in md, text


def test_stats():
    b = binomial(517, 1000)
    assert b.p_hat == 0.517 and b.ci95_lo < 0.5 < b.ci95_hi and 0.25 < b.p_value < 0.35
    assert binomial(162, 200).p_value < 1e-15
    assert (
        abs(wilson_halfwidth(100) - 0.0962) < 1e-3 and abs(wilson_halfwidth(1000) - 0.0309) < 1e-3
    )
    errors = np.array([[1, 9], [2, 8], [0, 10]])
    counts = np.full((3, 2), 10)
    boot = people_bootstrap(errors, counts, n_boot=200)
    assert boot.ranking_stable == 1.0 and boot.err_hi[0] < boot.err_lo[1]


def test_the_study_dir_reopens_with_the_same_pools(run, tmp_path):
    study = make_study(run, tmp_path, trials=4)
    again = open_study(study.path)
    assert again.record == study.record
    assert again.trials("p00000000abcd") == study.trials("p00000000abcd")


def test_a_report_before_anyone_answered_and_with_one_partial_participant(run, tmp_path):
    study = make_study(run, tmp_path, sources=("refined", "synthetic"), trials=8)
    r = CliRunner().invoke(main, ["turing", "report", "--study", str(study.path), "--no-machine"])
    assert r.exit_code == 0, r.output
    assert "| refined | 0 | 0 | – | – | – | 0 |" in (study.path / "turing.md").read_text()
    c = create_app(study).test_client()
    c.post("/start")
    token = TOKEN_RE.search(c.get("/trial").get_data(as_text=True)).group(1)
    c.post("/answer", data={"token": token, "answer": "real"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "All-NaN slice" from the arm nobody answered yet
        report = build_report(study.path, machine=False)
    assert sum(a.counts.accuracy.n for a in report.arms) == 1


def test_bench_turing_without_arguments_serves_the_latest_run_and_resumes(tmp_path, monkeypatch):
    import benchmarks.turing.server as server_module

    made = write_demo_run(tmp_path / "made", n_real=30, n_synthetic=30)
    (tmp_path / "results" / "runs").mkdir(parents=True)
    made.results_dir.rename(tmp_path / "results" / "runs" / "table1-demo-quick")
    made.work_dir.rename(tmp_path / "work")  # ./work: where `bench run` keeps its stores
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GAZEBENCH_WORK", raising=False)
    real_make_server = server_module.make_server

    def served_once(*args, **kwargs):  # serve nothing: return as Ctrl-C would
        server = real_make_server(*args, **kwargs)
        server.serve_forever = lambda: None
        return server

    monkeypatch.setattr(server_module, "make_server", served_once)
    r = CliRunner().invoke(main, ["turing", "--port", "0", "--trials", "10"])
    assert r.exit_code == 0, r.output
    study = "results/runs/table1-demo-quick/turing-refined"
    assert f"created study {study}: refined vs real, 10 trials per person" in r.output
    assert "open http://localhost:" in r.output and "stopped; answers in" in r.output
    record = json.loads((tmp_path / study / "study.json").read_text())
    assert record["real"]["description"] == "demo:wild (30 images)"
    assert record["fakes"][0]["store_path"] == "work/stores/refined/degrade-fixture-seed0"
    r = CliRunner().invoke(main, ["turing", "--port", "0"])
    assert r.exit_code == 0 and f"resuming study {study}" in r.output, r.output
