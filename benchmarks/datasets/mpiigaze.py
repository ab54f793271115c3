"""MPIIGaze (normalized eye patches) -> two stores: ``all`` (unlabeled real set) and ``eval``.

Layout (docs/conventions.md)::

    ROOT/Data/Normalized/pXX/dayYY.mat
    ROOT/Evaluation Subset/sample list for eye image/pXX.txt   lines: "day08/0069.jpg left"

``out/all``: both eyes of every image of every person not in ``exclude_people`` (the refiner's
real set; 2 x 213,659 patches for the full dataset). ``out/eval``: the Evaluation Subset (3,000
per person, 45,000 in all), the standard test set, in list order. Subject = person index
(p07 -> 7); eye 0 = left, 1 = right; right patches are mirrored (``image[:, ::-1]``) and the yaw
of gaze and head negated, so they look like left eyes. Labels: gaze vector -> pitch/yaw with
``vector_to_pitchyaw``, head rotation vector -> pitch/yaw with ``rodrigues_to_pitchyaw``.

Work is saved per person (:mod:`benchmarks.datasets.shards`): a killed run resumes with the next
person. A damaged day file, a NaN label, or a list line naming a sample that is not there is
skipped and listed in ``<store>.skipped.txt``; the count is in the manifest.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from benchmarks.datasets.faults import FaultLog
from benchmarks.datasets.mpiigaze_mat import SIDES, Day, day_rows, load_day
from benchmarks.datasets.shards import ShardDir, stack_fields
from benchmarks.datasets.store import Store, StoreError, reuse_store
from estimators.base import UserError
from torchkit.files import config_hash
from torchkit.progress import progress_bar

SOURCE = "mpiigaze"
EVAL_DIR = Path("Evaluation Subset") / "sample list for eye image"
NORMALIZED_DIR = Path("Data") / "Normalized"
_PERSON = re.compile(r"p(\d{2})")


def list_people(root: Path) -> list[str]:
    """Person folder names (``p00`` ...) under ``ROOT/Data/Normalized``; StoreError if none."""
    root = Path(root)
    if not root.is_dir():
        raise StoreError(f"{root}: MPIIGaze folder not found")
    norm = root / NORMALIZED_DIR
    if not norm.is_dir():
        raise StoreError(f"{root}: not an MPIIGaze folder ({NORMALIZED_DIR} is missing)")
    if not (root / EVAL_DIR).is_dir():
        raise StoreError(f"{root}: not an MPIIGaze folder ({EVAL_DIR} is missing)")
    people = sorted(p.name for p in norm.iterdir() if p.is_dir() and _PERSON.fullmatch(p.name))
    if not people:
        raise StoreError(f"{norm}: no person folders p00 ... p14 found (empty root?)")
    return people


def _person_rows(root: Path, person: str, file_faults: list[str], sample_faults: list[str]):
    """All rows of one person (every day, left block then right block) and the loaded days.

    Whole-file faults (both stores lose those samples) and per-sample label faults are
    collected apart: the eval store's report lists the former and its own line faults.
    """
    subject = int(person[1:])
    days: dict[str, Day] = {}
    all_rows = []
    mats = sorted((root / NORMALIZED_DIR / person).glob("day*.mat"))
    if not mats:
        file_faults.append(f"{root / NORMALIZED_DIR / person}: no dayXX.mat files")
    for mat in mats:
        try:
            day = load_day(mat)
        except StoreError as e:
            file_faults.append(str(e))
            continue
        days[mat.stem] = day
        for side in SIDES:
            rows, ok = day_rows(day, side, np.arange(len(day)), subject)
            for k in np.flatnonzero(~ok):
                sample_faults.append(
                    f"{mat} ({day.filenames[k]}, {side}): NaN/inf or zero gaze/pose label"
                )
            all_rows.append(rows)
    return stack_fields(all_rows), days


def _eval_rows(root: Path, person: str, subject: int, days: dict[str, Day]):
    lst = root / EVAL_DIR / f"{person}.txt"
    faults: list[str] = []
    if not lst.is_file():
        return stack_fields([]), [f"{lst}: Evaluation Subset list is missing"]
    index = {name: day.index() for name, day in days.items()}
    rows = []
    for lineno, line in enumerate(lst.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        where = f"{lst} line {lineno}"
        if len(parts) != 2 or parts[1] not in SIDES or "/" not in parts[0]:
            faults.append(f"{where}: expected 'dayXX/NNNN.jpg left|right', got {line.strip()!r}")
            continue
        day_name, filename = parts[0].split("/", 1)
        k = index.get(day_name, {}).get(filename)
        if k is None:
            faults.append(f"{where}: names {parts[0]}, which is not in {person}/{day_name}.mat")
            continue
        r, ok = day_rows(days[day_name], parts[1], np.array([k]), subject)
        if not ok[0]:
            faults.append(f"{where}: {parts[0]} {parts[1]} has a NaN/inf or zero label")
            continue
        rows.append(r)
    return stack_fields(rows), faults


def prepare_mpiigaze(
    root: Path,
    out: Path,
    *,
    exclude_people: list[str] | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict[str, Store]:
    """Write ``out/all`` and ``out/eval`` from the MPIIGaze folder ``root``; return both stores.

    exclude_people: names like ``p00`` left out of ``all`` (e.g. the test people, so the refiner
    never sees them); ``eval`` always holds the whole Evaluation Subset. Finished stores made with
    the same options are returned as they are; other options need ``force``.
    """
    root, out = Path(root), Path(out)
    excluded = sorted(set(exclude_people or []))
    bad = [p for p in excluded if not _PERSON.fullmatch(p)]
    if bad:
        raise UserError(f"exclude_people: {', '.join(bad)} are not person names like p00")
    base = {"root": str(root.resolve())}
    options = {
        "all": {**base, "exclude_people": excluded, "eyes": "left and right (mirrored)"},
        "eval": {**base, "list": str(EVAL_DIR)},
    }
    stores: dict[str, Store] = {}
    for name in options:
        if (done := reuse_store(out / name, options[name], force)) is not None:
            stores[name] = done
    if len(stores) == 2:
        return stores
    people = list_people(root)
    missing = sorted(set(excluded) - set(people))
    if missing:
        raise UserError(
            f"exclude_people: {', '.join(missing)} not found under {root / NORMALIZED_DIR}"
        )
    key = config_hash({**base, "people": people, "v": 1}, length=16)
    sh = {n: ShardDir(out / n, key).open() for n in options if n not in stores}
    ids = [int(p[1:]) for p in people]
    for person, i in progress_bar(
        list(zip(people, ids, strict=True)), desc="mpiigaze", unit="person", enabled=progress
    ):
        if all(s.is_done(i) for s in sh.values()):
            continue
        file_faults: list[str] = []
        sample_faults: list[str] = []
        all_rows, days = _person_rows(root, person, file_faults, sample_faults)
        if "all" in sh:
            sh["all"].save(i, all_rows, file_faults + sample_faults)
        if "eval" in sh:
            eval_rows, eval_faults = _eval_rows(root, person, i, days)
            sh["eval"].save(i, eval_rows, file_faults + eval_faults)
    extra = {
        "subject_names": {str(i): p for p, i in zip(people, ids, strict=True)},
        "people": people,
        "licence": "MPIIGaze: CC BY-NC-SA 4.0",
    }
    if "all" in sh:
        stores["all"] = sh["all"].assemble(
            [i for p, i in zip(people, ids, strict=True) if p not in excluded],
            source=f"{SOURCE}:all",
            options=options["all"],
            extra={**extra, "excluded_people": excluded, "role": "unlabeled real set (refiner)"},
            faults=FaultLog(),
            overwrite=force and (out / "all").exists(),
        )
    if "eval" in sh:
        stores["eval"] = sh["eval"].assemble(
            ids,
            source=f"{SOURCE}:eval",
            options=options["eval"],
            extra={**extra, "role": "Evaluation Subset test set (3,000 per person)"},
            faults=FaultLog(),
            overwrite=force and (out / "eval").exists(),
        )
    return stores
