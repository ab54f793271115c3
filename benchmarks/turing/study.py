"""A study directory: study.json (design, sources, image pools, provenance) beside answers.jsonl.

study.json is written once, atomically, when the study is created; restarting `bench turing` on
the directory reads it back and resumes. The pools (the store rows trials draw from) are drawn
at creation and saved, so a participant's plan never depends on anything but study.json and the
participant id. The stores are reopened by path and checked against the saved checksums.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets.store import open_store
from benchmarks.pipeline.provenance import git_info, now_iso
from benchmarks.turing.design import REAL, StudyDesign, Trial, draw_pool, plan_trials
from benchmarks.turing.sources import ResolvedSource
from estimators.base import MissingFileError, UserError
from torchkit.files import write_json_atomic

SCHEMA = "gazebench.turing.study/1"
STUDY_FILE = "study.json"
ANSWERS_FILE = "answers.jsonl"


@dataclass(frozen=True)
class StudyRecord:
    """What study.json holds. pools: source name ("real" and each arm) -> sorted store rows."""

    design: StudyDesign
    real: ResolvedSource
    fakes: tuple[ResolvedSource, ...]
    pools: dict[str, tuple[int, ...]]
    provenance: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "design": self.design.to_dict(),
            "real": self.real.to_dict(),
            "fakes": [f.to_dict() for f in self.fakes],
            "pools": {k: list(v) for k, v in self.pools.items()},
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudyRecord:
        return cls(
            design=StudyDesign.from_dict(d["design"]),
            real=ResolvedSource(**d["real"]),
            fakes=tuple(ResolvedSource(**f) for f in d["fakes"]),
            pools={k: tuple(int(x) for x in v) for k, v in d["pools"].items()},
            provenance=dict(d.get("provenance", {})),
        )

    def source(self, name: str) -> ResolvedSource:
        return self.real if name == REAL else {f.name: f for f in self.fakes}[name]


@dataclass
class Study:
    """An opened study: its record and every pool's images in memory ((k, 36, 60) uint8)."""

    path: Path
    record: StudyRecord
    images: dict[str, np.ndarray]
    _plans: dict[str, tuple[Trial, ...]] = field(default_factory=dict, repr=False)

    @property
    def design(self) -> StudyDesign:
        return self.record.design

    @property
    def answers_path(self) -> Path:
        return self.path / ANSWERS_FILE

    def pools(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, np.int64) for k, v in self.record.pools.items()}

    def trials(self, participant: str) -> tuple[Trial, ...]:
        """The participant's plan (cached; UserError for a malformed participant id)."""
        if participant not in self._plans:
            self._plans[participant] = plan_trials(self.design, self.pools(), participant)
        return self._plans[participant]

    def image(self, source: str, row: int) -> np.ndarray:
        """(36, 60) uint8: row ``row`` of the source's store (a row of its pool)."""
        pool = self.record.pools[source]
        return self.images[source][int(np.searchsorted(pool, row))]


def create_study(
    path: Path,
    design: StudyDesign,
    real: ResolvedSource,
    fakes: list[ResolvedSource],
    results_dir: Path | None,
) -> Study:
    """Draw the pools, write study.json into the new study dir ``path`` and open it."""
    path = Path(path)
    if (path / STUDY_FILE).exists():
        raise UserError(f"{path}: already holds a study")
    if [f.name for f in fakes] != list(design.sources):
        raise UserError("the resolved sources do not match the design's")
    pools = {}
    for stream, src in enumerate([real, *fakes]):
        n = len(open_store(src.store_path))
        pools[src.name] = tuple(
            int(r) for r in draw_pool(n, design.pool_per_source, design.seed, stream)
        )
    need = {
        REAL: design.trials_per_person // 2,
        **{f.name: design.trials_per_arm // 2 for f in fakes},
    }
    for name, k in need.items():
        if len(pools[name]) < k:
            raise UserError(
                f"source {name!r} ({record_desc(real, fakes, name)}) has {len(pools[name])} "
                f"images; one person sees {k} of them"
            )
    provenance = {
        **git_info(),
        "created_at": now_iso(),
        "results_dir": None if results_dir is None else str(results_dir),
    }
    record = StudyRecord(design, real, tuple(fakes), pools, provenance)
    write_json_atomic(path / STUDY_FILE, record.to_dict())
    return open_study(path)


def record_desc(real: ResolvedSource, fakes: list[ResolvedSource], name: str) -> str:
    return {s.name: s.description for s in [real, *fakes]}[name]


def read_record(path: Path) -> StudyRecord:
    """study.json of the study dir ``path``; one-line UserError when missing or malformed."""
    file = Path(path) / STUDY_FILE
    if not file.is_file():
        raise MissingFileError(f"{path}: no study here ({STUDY_FILE} is missing)")
    try:
        data = json.loads(file.read_text())
        if data.get("schema") != SCHEMA:
            raise UserError(f"{file}: schema is {data.get('schema')!r}, expected {SCHEMA!r}")
        return StudyRecord.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        if isinstance(e, UserError):
            raise
        raise UserError(f"{file}: not a readable study ({type(e).__name__}: {e})") from None


def open_study(path: Path) -> Study:
    """Open a study dir: its record, and its pools' images from stores whose checksums match."""
    record = read_record(path)
    images = {}
    for src in [record.real, *record.fakes]:
        store = open_store(src.store_path)
        if store.checksum != src.checksum:
            raise UserError(
                f"{src.store_path}: the store changed since the study was made (checksum "
                f"{store.checksum[7:19]}, study.json says {src.checksum[7:19]})"
            )
        rows = np.asarray(record.pools[src.name], np.int64)
        images[src.name] = np.ascontiguousarray(store.images[rows])
    return Study(Path(path), record, images)
