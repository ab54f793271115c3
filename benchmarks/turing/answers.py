"""The answers log: one JSON line per answer, appended and fsync'd the moment it is given.

Each line is written with one ``write`` call, flushed and fsync'd before the participant sees
the next trial, so a closed tab, a killed server or a power cut loses at most the answer in
flight. An unterminated last line is that answer: readers skip it, and :class:`AnswerLog`
removes it when the study is reopened. Any other damage is refused with one line naming the
file and line: text that is not JSON, an unknown participant or trial, a trial that does not
match the study's plan, a trial answered twice or out of order.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.turing.design import FAKE, REAL, Trial
from estimators.base import UserError

SCHEMA = "gazebench.turing.answer/1"
ANSWERS = (REAL, FAKE)


@dataclass(frozen=True)
class Answer:
    """One answer. participant: the anonymous id; trial: the index in their plan; arm, source,
    image_row, truth: the trial as planned (design.Trial); answer: "real" | "fake";
    response_time_s: from the image appearing to the answer (the browser's clock, else the
    server's); answered_at: server time, ISO 8601."""

    participant: str
    trial: int
    arm: str
    source: str
    image_row: int
    truth: str
    answer: str
    response_time_s: float
    answered_at: str

    @property
    def correct(self) -> bool:
        return self.answer == self.truth

    @classmethod
    def of(cls, participant: str, trial: Trial, answer: str, response_time_s: float) -> Answer:
        if answer not in ANSWERS:
            raise UserError(f"answer must be real or fake, not {answer!r}")
        return cls(
            participant,
            trial.index,
            trial.arm,
            trial.source,
            trial.image_row,
            trial.truth,
            answer,
            round(float(response_time_s), 3),
            time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )

    def to_line(self) -> str:
        return json.dumps({"schema": SCHEMA, **asdict(self)}) + "\n"


def _complete_lines(path: Path) -> tuple[list[str], bool]:
    """(the file's newline-terminated lines, whether an unterminated tail follows them)."""
    if not path.is_file():
        return [], False
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    return lines[:-1], bool(lines[-1])


def has_torn_tail(path: Path) -> bool:
    """Whether ``path`` ends in an unterminated line (an answer cut off by a crash)."""
    return _complete_lines(Path(path))[1]


def read_answers(path: Path, trials_of: Callable[[str], tuple[Trial, ...]]) -> list[Answer]:
    """Every answer in ``path``, checked against the plans ``trials_of(participant)`` gives
    (UserError naming the line at the first bad one); an unterminated last line is skipped."""
    lines, _ = _complete_lines(Path(path))
    answers: list[Answer] = []
    seen: dict[tuple[str, int], int] = {}
    next_trial: dict[str, int] = {}
    for no, line in enumerate(lines, 1):
        where = f"{path}:{no}"
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except ValueError:
            raise UserError(f"{where}: not a JSON line (the answers file was edited?)") from None
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            raise UserError(f"{where}: not an answer of this version ({SCHEMA})")
        try:
            a = Answer(**{k: v for k, v in d.items() if k != "schema"})
            plan = trials_of(a.participant)
        except (TypeError, UserError) as e:
            raise UserError(f"{where}: not a valid answer ({e})") from None
        key = (a.participant, a.trial)
        if key in seen:
            raise UserError(
                f"{where}: participant {a.participant} trial {a.trial} answered twice "
                f"(also line {seen[key]})"
            )
        if not isinstance(a.trial, int) or not 0 <= a.trial < len(plan):
            raise UserError(f"{where}: unknown trial id {a.trial!r} (plans have {len(plan)})")
        want = plan[a.trial]
        got = Trial(a.trial, a.arm, a.source, a.image_row, a.truth)
        if got != want:
            raise UserError(
                f"{where}: participant {a.participant} trial {a.trial} shows {a.source}/"
                f"{a.image_row} ({a.truth}) but the study's plan shows {want.source}/"
                f"{want.image_row} ({want.truth})"
            )
        if a.trial != next_trial.get(a.participant, 0):
            raise UserError(
                f"{where}: participant {a.participant} answers trial {a.trial} before "
                f"trial {next_trial.get(a.participant, 0)}"
            )
        if a.answer not in ANSWERS:
            raise UserError(f"{where}: answer must be real or fake, not {a.answer!r}")
        seen[key] = no
        next_trial[a.participant] = a.trial + 1
        answers.append(a)
    return answers


class AnswerLog:
    """The study's answers file, opened for appending by one server (thread-safe).

    Opening checks every line (read_answers) and drops an unterminated last line left by a
    crash; ``answered(participant)`` is how many trials they have answered (their next trial).
    """

    def __init__(self, path: Path, trials_of: Callable[[str], tuple[Trial, ...]]):
        self.path = Path(path)
        self.lock = threading.Lock()
        _, torn = _complete_lines(self.path)
        if torn:  # the answer in flight when the last server died: not an answer
            data = self.path.read_bytes()
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
                f.flush()
                os.fsync(f.fileno())
        self.counts: dict[str, int] = {}
        for a in read_answers(self.path, trials_of):
            self.counts[a.participant] = a.trial + 1
        self.torn_tail_dropped = torn

    def answered(self, participant: str) -> int:
        with self.lock:
            return self.counts.get(participant, 0)

    def append(self, answer: Answer) -> bool:
        """Append ``answer`` if it is the participant's next trial (False: a stale or repeated
        submit, ignored); returns once the line is on disk."""
        with self.lock:
            if answer.trial != self.counts.get(answer.participant, 0):
                return False
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(answer.to_line())
                f.flush()
                os.fsync(f.fileno())
            self.counts[answer.participant] = answer.trial + 1
            return True
