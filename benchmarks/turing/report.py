"""`bench turing report`: what people answered, per source, next to the paper and the machines.

Per arm (fake source): accuracy with its Wilson 95% CI and exact binomial p against chance;
HYPE's error rates on real and on fake images separately and overall, with a 95% interval from
a bootstrap over participants and, with several arms, how stable their ranking is; the same per
participant. Beside them: SimGAN's two results (517 of 1,000 trials right, real vs refined; 162
of 200, real vs synthetic) and the machine realism panel (refine.diagnostics.CLASSIFIERS: fresh
classifiers telling the study's real pool from the arm's pool, held-out accuracy), so a reader
sees where people and classifiers disagree. Rendering is in report_md.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.pipeline.provenance import git_info
from benchmarks.turing.answers import Answer, has_torn_tail, read_answers
from benchmarks.turing.design import FAKE, REAL
from benchmarks.turing.stats import Binomial, PeopleBootstrap, binomial, people_bootstrap
from benchmarks.turing.study import Study, open_study


@dataclass(frozen=True)
class PaperResult:
    """One of SimGAN's visual Turing test results: ``correct`` right answers of ``trials``."""

    arm: str
    what: str
    correct: int
    trials: int

    @property
    def accuracy(self) -> Binomial:
        return binomial(self.correct, self.trials)


PAPER = {
    "refined": PaperResult("refined", "real vs refined (SimGAN)", 517, 1000),
    "synthetic": PaperResult("synthetic", "real vs synthetic (UnityEyes)", 162, 200),
}


def paper_for(arm: str) -> PaperResult | None:
    """The paper's result an arm compares with: refined[:NAME] -> refined, synthetic -> synthetic."""
    return PAPER["refined"] if arm.split(":")[0] == "refined" else PAPER.get(arm)


@dataclass(frozen=True)
class Counts:
    """Answers of one group (an arm, or a participant within an arm).

    err_real: fraction of real images called fake; err_fake: fraction of fake images called
    real; hype_error: all wrong answers / all trials (HYPE's infinity-time score, 0.5 = people
    cannot tell); median_rt_s: median response time in seconds."""

    accuracy: Binomial
    n_real: int
    err_real: float
    n_fake: int
    err_fake: float
    hype_error: float
    median_rt_s: float


def counts(answers: list[Answer]) -> Counts:
    real = [a for a in answers if a.truth == REAL]
    fake = [a for a in answers if a.truth == FAKE]

    def wrong(xs: list[Answer]) -> float:
        return sum(not a.correct for a in xs) / len(xs) if xs else math.nan

    right = sum(a.correct for a in answers)
    rts = [a.response_time_s for a in answers]
    return Counts(
        binomial(right, len(answers)),
        len(real),
        wrong(real),
        len(fake),
        wrong(fake),
        1 - right / len(answers) if answers else math.nan,
        float(np.median(rts)) if rts else math.nan,
    )


@dataclass(frozen=True)
class Machine:
    """The realism panel on the study's pools: classifier -> held-out accuracy (real vs the
    arm), 'mean' included; n_test: images each classifier is scored on (half of both pools)."""

    accuracy: dict[str, float]
    n_test: int

    def tells_apart(self) -> bool:
        """Whether any classifier's Wilson 95% interval lies above chance."""
        return any(
            binomial(round(acc * self.n_test), self.n_test).ci95_lo > 0.5
            for name, acc in self.accuracy.items()
            if name != "mean"
        )


def machine_panel(study: Study, arm: str) -> Machine:
    """refine.diagnostics.CLASSIFIERS trained to tell the real pool from the arm's pool, at the
    stores' 36x60 (what people see, before enlarging), seeded by the study's seed."""
    from refine.diagnostics import CLASSIFIERS

    real, fake = study.images[REAL], study.images[arm]
    acc = {name: float(fn(real, fake, study.design.seed)) for name, (_, fn) in CLASSIFIERS.items()}
    acc["mean"] = float(np.mean(list(acc.values())))
    return Machine(acc, (len(real) + len(fake)) // 2)


@dataclass(frozen=True)
class ArmReport:
    arm: str
    description: str
    counts: Counts
    n_participants: int
    err_boot_lo: float  # HYPE error rate, 95% interval over participant resamples
    err_boot_hi: float
    paper: PaperResult | None
    machine: Machine | None


@dataclass(frozen=True)
class StudyReport:
    study: Study
    arms: tuple[ArmReport, ...]
    per_participant: tuple[tuple[str, str, Counts], ...]  # (participant, arm, counts)
    bootstrap: PeopleBootstrap
    n_answers: int
    torn_tail: bool  # an unterminated last line (the answer in flight at a crash) was skipped
    report_git: dict[str, Any]


def build_report(study_dir: Path, machine: bool = True) -> StudyReport:
    """Read the study and its answers (checked line by line) and compute every number."""
    study = open_study(study_dir)
    answers = read_answers(study.answers_path, study.trials)
    arms = study.design.sources
    people = sorted({a.participant for a in answers})
    by = {(p, arm): [] for p in people for arm in arms}
    for a in answers:
        by[(a.participant, a.arm)].append(a)
    errors = np.array([[sum(not a.correct for a in by[(p, arm)]) for arm in arms] for p in people])
    totals = np.array([[len(by[(p, arm)]) for arm in arms] for p in people])
    boot = people_bootstrap(errors.reshape(-1, len(arms)), totals.reshape(-1, len(arms)),
                            seed=study.design.seed)  # fmt: skip
    reports = []
    for i, arm in enumerate(arms):
        mine = [a for a in answers if a.arm == arm]
        reports.append(
            ArmReport(
                arm,
                study.record.source(arm).description,
                counts(mine),
                len({a.participant for a in mine}),
                boot.err_lo[i],
                boot.err_hi[i],
                paper_for(arm),
                machine_panel(study, arm) if machine else None,
            )
        )
    per_person = tuple((p, arm, counts(by[(p, arm)])) for p in people for arm in arms
                       if by[(p, arm)])  # fmt: skip
    return StudyReport(
        study,
        tuple(reports),
        per_person,
        boot,
        len(answers),
        has_torn_tail(study.answers_path),
        git_info(),
    )
