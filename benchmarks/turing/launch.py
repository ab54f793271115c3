"""What `bench turing` serves: resume the study in its directory, or make it from a run.

Without ``--study`` the study lives beside the run it shows, ``RESULTS/turing-<sources>/``, so
running `bench turing` again (no arguments) resumes it. Options that change a study's design
(``--trials``, ``--seed`` ...) are refused on an existing study rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.turing.design import StudyDesign
from benchmarks.turing.sources import resolve_real, resolve_source, work_candidates
from benchmarks.turing.study import STUDY_FILE, Study, create_study, open_study, read_record
from estimators.base import UserError

DEFAULT_SOURCES = ("refined",)
RUNS = Path("results/runs")


@dataclass(frozen=True)
class StudyRequest:
    """The command line's study options; None = not given. design: StudyDesign fields given."""

    results_dir: Path | None = None
    work_dir: Path | None = None
    sources: tuple[str, ...] = ()
    real_path: Path | None = None
    study_dir: Path | None = None
    design: dict[str, Any] = field(default_factory=dict)
    default_work: Path = Path("work")  # without work_dir: GAZEBENCH_WORK or ./work, from click


def source_slug(sources: tuple[str, ...]) -> str:
    """'refined:degrade' -> 'refined-degrade'; a store path -> its folder name; joined by '+'."""
    names = [
        Path(s).name if ("/" in s or s.startswith(".")) else s.replace(":", "-") for s in sources
    ]
    return "+".join(names)


def _check_same(study_dir: Path, req: StudyRequest) -> None:
    """Refuse options that would change an existing study's design or sources."""
    have = read_record(study_dir).design
    differ = [
        f"{k}: {getattr(have, k)!r} -> {v!r}"
        for k, v in req.design.items()
        if getattr(have, k) != v
    ]
    if req.sources and tuple(req.sources) != have.sources:
        differ.append(f"sources: {', '.join(have.sources)} -> {', '.join(req.sources)}")
    if differ:
        raise UserError(
            f"{study_dir}: already holds a study with other settings ({'; '.join(differ)}); "
            "pass another --study DIR, or drop those options to resume it"
        )


def open_or_create(req: StudyRequest, latest_results: Callable[[], Path]) -> tuple[Study, bool]:
    """(the study, whether it was created now). ``latest_results()``: the results dir to use
    when none is given and one is needed (the latest `bench run`)."""
    if req.study_dir is not None and (req.study_dir / STUDY_FILE).is_file():
        _check_same(req.study_dir, req)
        return open_study(req.study_dir), False
    sources = tuple(req.sources) or DEFAULT_SOURCES
    design = StudyDesign(**{**req.design, "sources": sources})  # checks the design first
    needs_run = req.real_path is None or any(
        s in ("refined", "synthetic") or s.startswith("refined:") for s in sources
    )
    results_dir = req.results_dir or (latest_results() if needs_run else None)
    study_dir = req.study_dir
    if study_dir is None:
        if results_dir is None:
            raise UserError("pass --study DIR: where the study's design and answers go")
        study_dir = Path(results_dir) / f"turing-{source_slug(sources)}"
        if (study_dir / STUDY_FILE).is_file():
            _check_same(study_dir, req)
            return open_study(study_dir), False
    works = work_candidates(results_dir, req.work_dir, req.default_work)
    real = resolve_real(req.real_path, results_dir, works)
    fakes = [resolve_source(s, results_dir, works) for s in sources]
    return create_study(study_dir, design, real, fakes, results_dir), True


def latest_study(runs: Path = RUNS) -> Path:
    """The study dir under ``runs``/*/ whose answers (or design) changed last."""
    found = [p.parent for p in Path(runs).glob(f"*/turing-*/{STUDY_FILE}")]
    if not found:
        raise UserError(f"no study under {runs}/*/turing-*/ (run `bench turing`, or pass --study)")

    def changed(d: Path) -> float:
        answers = d / "answers.jsonl"
        return (answers if answers.is_file() else d / STUDY_FILE).stat().st_mtime

    return max(found, key=changed)
