"""The study's web app (Flask): anonymous participants, one trial at a time, images by token.

Routes: ``GET /`` (start page, or back to the current trial), ``POST /start`` (a new anonymous
participant id, kept in a cookie), ``GET /trial`` (the participant's next unanswered trial),
``GET /image/<token>`` (that trial's image as PNG), ``POST /answer`` (records it, then redirects
to the next trial: a reload never answers twice), ``GET /done``, ``POST /new`` (forget the
cookie: the next person on this browser starts afresh).

Tokens are random, minted per trial page and valid for that participant's current trial only,
so the page and the image URL say nothing about the image; images are uncompressed PNGs of one
size, so neither does the download's byte count. Several people can take the study at
once (a threaded server; the answers log serialises appends).
"""

from __future__ import annotations

import errno
import secrets
import socket
import threading
import time

import cv2
import numpy as np
from flask import Flask, Response, abort, redirect, render_template_string, request

from benchmarks.turing.answers import ANSWERS, Answer, AnswerLog
from benchmarks.turing.design import PARTICIPANT_RE, Trial
from benchmarks.turing.page import DONE, START, STYLE, TRIAL, display_note
from benchmarks.turing.study import Study
from estimators.base import UserError

COOKIE = "gazebench_turing_participant"
MAX_RT_MS = 3_600_000  # a client response time above an hour is not one


def upscaled_png(image: np.ndarray, upscale: int, interpolation: str) -> bytes:
    """(H, W) uint8 -> PNG bytes of the image enlarged ``upscale`` times. Stored uncompressed,
    so every image of a study has the same byte size: the size says nothing about the source."""
    h, w = image.shape
    how = cv2.INTER_NEAREST if interpolation == "nearest" else cv2.INTER_LINEAR
    big = cv2.resize(np.ascontiguousarray(image), (w * upscale, h * upscale), interpolation=how)
    ok, png = cv2.imencode(".png", big, [cv2.IMWRITE_PNG_COMPRESSION, 0])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return png.tobytes()


class StudyServer:
    """What the app keeps between requests: the study, its answers log and the live tokens."""

    def __init__(self, study: Study):
        self.study = study
        self.log = AnswerLog(study.answers_path, study.trials)
        self.lock = threading.Lock()
        self.tokens: dict[str, tuple[str, int, float]] = {}  # token -> (participant, trial, t0)
        self.live: dict[str, str] = {}  # participant -> their one live token

    def next_trial(self, participant: str) -> Trial | None:
        k = self.log.answered(participant)
        plan = self.study.trials(participant)
        return plan[k] if k < len(plan) else None

    def mint(self, participant: str, trial: Trial) -> str:
        token = secrets.token_urlsafe(18)
        with self.lock:
            self.tokens.pop(self.live.get(participant, ""), None)
            self.tokens[token] = (participant, trial.index, time.monotonic())
            self.live[participant] = token
        return token

    def lookup(self, token: str, participant: str | None) -> tuple[Trial, float] | None:
        """(the trial, when its page was served) for a live token of this participant."""
        with self.lock:
            found = self.tokens.get(token)
        if found is None or found[0] != participant:
            return None
        return self.study.trials(participant)[found[1]], found[2]

    def retire(self, token: str) -> None:
        with self.lock:
            participant, _, _ = self.tokens.pop(token, (None, 0, 0.0))
            if participant is not None and self.live.get(participant) == token:
                del self.live[participant]


def _participant() -> str | None:
    pid = request.cookies.get(COOKIE)
    return pid if pid and PARTICIPANT_RE.match(pid) else None


def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


def create_app(study: Study) -> Flask:
    """The Flask app serving ``study`` (answers appended to its answers.jsonl)."""
    state = StudyServer(study)
    design = study.design
    display = display_note(design.upscale, design.interpolation)
    app = Flask("gazebench_turing")
    app.config["TURING_STATE"] = state
    common = {"style": STYLE, "trials": design.trials_per_person, "display": display}

    @app.get("/")
    def start():
        pid = _participant()
        if pid is not None and state.log.answered(pid) > 0:
            return redirect("/trial", 303)
        return _no_store(Response(render_template_string(START, **common)))

    @app.post("/start")
    def begin():
        resp = redirect("/trial", 303)
        if _participant() is None:
            pid = "p" + secrets.token_hex(6)
            resp.set_cookie(COOKIE, pid, max_age=180 * 86400, httponly=True, samesite="Lax")
        return resp

    @app.get("/trial")
    def trial():
        pid = _participant()
        if pid is None:
            return redirect("/", 303)
        t = state.next_trial(pid)
        if t is None:
            return redirect("/done", 303)
        h, w = study.images["real"].shape[1:]
        page = render_template_string(
            TRIAL,
            **common,
            number=t.index + 1,
            token=state.mint(pid, t),
            width=w * design.upscale,
            height=h * design.upscale,
        )
        return _no_store(Response(page))

    @app.get("/image/<token>")
    def image(token: str):
        found = state.lookup(token, _participant())
        if found is None:
            abort(404)
        t = found[0]
        png = upscaled_png(study.image(t.source, t.image_row), design.upscale, design.interpolation)
        return _no_store(Response(png, mimetype="image/png"))

    @app.post("/answer")
    def answer():
        pid, token = _participant(), request.form.get("token", "")
        value = request.form.get("answer", "")
        if value not in ANSWERS:
            abort(400)
        found = state.lookup(token, pid)
        if found is not None:  # else a stale page or a second click: nothing to record
            t, served_at = found
            rt_s = time.monotonic() - served_at  # the server's clock, unless the browser's
            try:
                rt_ms = float(request.form.get("rt_ms", ""))
                if 0 <= rt_ms <= MAX_RT_MS:
                    rt_s = rt_ms / 1000.0
            except ValueError:
                pass
            state.log.append(Answer.of(pid, t, value, rt_s))
            state.retire(token)
        return redirect("/trial", 303)

    @app.get("/done")
    def done():
        pid = _participant()
        if pid is None or state.next_trial(pid) is not None:
            return redirect("/", 303)
        return _no_store(Response(render_template_string(DONE, **common)))

    @app.post("/new")
    def new():
        resp = redirect("/", 303)
        resp.delete_cookie(COOKIE)
        return resp

    return app


def make_server(study: Study, host: str = "127.0.0.1", port: int = 8025):
    """A threaded WSGI server for the study, bound to (host, port) (port 0: any free port; the
    bound one is ``server.port``); UserError when the address cannot be bound."""
    import logging

    from werkzeug.serving import make_server as werkzeug_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request; errors stay

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UserError(
                f"port {port} on {host} is in use (another `bench turing`?); pass --port N"
            ) from None
        raise UserError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    try:
        return werkzeug_server(host, port, create_app(study), threaded=True, fd=sock.fileno())
    finally:
        sock.close()  # the server holds its own duplicate of the socket
