"""UT Multiview (Sugano et al. CVPR 2014) -> one store of 36x60 eye patches, both eyes.

Layout (docs/conventions.md)::

    ROOT/sNN/{synth,test}/NNN_{left,right}.csv   one line per image: gaze (3), head rotation
                                                 vector (3), head translation (3), comma separated
    ROOT/sNN/{synth,test}/NNN_{left,right}.zip   36x60 grayscale %08d.bmp, in namelist order

``test/`` holds the real captures (8 per gaze target and eye), ``synth/`` the images synthesized
from the multi-view reconstructions (144 per target and eye). Subject = person index (s07 -> 7),
eye 0 = left, 1 = right. Whether the distributed right-eye files are already mirrored is not
settled publicly: with ``mirror_right`` (default) the reader mirrors right patches and negates
the yaw of gaze and head, like MPIIGaze; either way the manifest records the assumption and the
parts used. Work is saved per person and part, so a killed run resumes; bad files are skipped
and listed in ``<store>.skipped.txt``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import cv2
import numpy as np

from benchmarks.datasets.faults import FaultLog
from benchmarks.datasets.shards import ShardDir, stack_fields
from benchmarks.datasets.store import LEFT, RIGHT, Store, StoreError, reuse_store
from estimators.base import UserError
from estimators.geometry import rodrigues_to_pitchyaw, vector_to_pitchyaw
from torchkit.files import config_hash
from torchkit.progress import progress_bar

SOURCE = "utmultiview"
PARTS = ("synth", "test")
N_COLUMNS = 9  # gaze (3), head rotation vector (3), head translation (3)
_PERSON = re.compile(r"s(\d{2})")
_MEMBER = re.compile(r"\d{8}\.bmp")


def read_labels(csv_path: Path, faults: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n, 9) float64 labels and (n,) bool ``ok`` (False: a NaN or badly formed line)."""
    lines = csv_path.read_text().splitlines()
    labels = np.full((len(lines), N_COLUMNS), np.nan)
    for k, line in enumerate(lines):
        cells = [c.strip() for c in line.split(",")]
        while cells and cells[-1] == "":  # a trailing comma is not a column
            cells.pop()
        if len(cells) != N_COLUMNS:
            faults.append(f"{csv_path} line {k + 1}: {len(cells)} columns, expected {N_COLUMNS}")
            continue
        try:
            labels[k] = [float(c) for c in cells]
        except ValueError:
            faults.append(f"{csv_path} line {k + 1}: not numbers: {line.strip()!r}")
            continue
        if not np.isfinite(labels[k]).all():
            faults.append(f"{csv_path} line {k + 1}: NaN/inf label")
    ok = np.isfinite(labels).all(1) & (np.linalg.norm(labels[:, :3], axis=1) > 0)
    return labels, ok


def read_pair(csv_path: Path, side: str, subject: int, mirror: bool, faults: list[str]):
    """Rows of one ``NNN_side.csv`` + ``NNN_side.zip`` pair (rows with faults left out)."""
    zip_path = csv_path.with_suffix(".zip")
    if not zip_path.is_file():
        faults.append(f"{csv_path}: no matching {zip_path.name}")
        return None
    labels, ok = read_labels(csv_path, faults)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            odd = [n for n in names if not _MEMBER.fullmatch(n.rsplit("/", 1)[-1])]
            if odd:
                faults.append(f"{zip_path}: member {odd[0]!r} is not named %08d.bmp; file skipped")
                return None
            if len(names) != len(labels):
                faults.append(
                    f"{zip_path}: {len(names)} images but {csv_path.name} has {len(labels)} "
                    "lines; file skipped"
                )
                return None
            images = np.zeros((len(names), 36, 60), np.uint8)
            for k, name in enumerate(names):
                if not ok[k]:
                    continue
                img = cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)
                if img is None or img.shape != (36, 60):
                    what = "unreadable" if img is None else f"{img.shape[0]}x{img.shape[1]}"
                    faults.append(f"{zip_path} member {name}: {what} image, expected 36x60")
                    ok[k] = False
                    continue
                images[k] = img
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        faults.append(f"{zip_path}: unreadable zip ({e})")
        return None
    gaze = vector_to_pitchyaw(labels[ok, :3])
    head = rodrigues_to_pitchyaw(labels[ok, 3:6])
    images = images[ok]
    if side == "right" and mirror:
        images, gaze, head = images[:, :, ::-1], gaze * [1.0, -1.0], head * [1.0, -1.0]
    n = int(ok.sum())
    return {
        "images": np.ascontiguousarray(images),
        "gaze_pitchyaw_rad": gaze.astype(np.float32),
        "head_pitchyaw_rad": head.astype(np.float32),
        "subject": np.full(n, subject, np.int32),
        "eye": np.full(n, LEFT if side == "left" else RIGHT, np.uint8),
    }


def read_part(part_dir: Path, subject: int, mirror: bool, faults: list[str]):
    """All rows of one person's ``synth/`` or ``test/`` folder (targets in order, left then right)."""
    if not part_dir.is_dir():
        faults.append(f"{part_dir}: folder is missing")
        return stack_fields([])
    # Order: 000_left, 000_right, 001_left, ... (the stem sorts that way).
    csvs = sorted(
        [*part_dir.glob("*_left.csv"), *part_dir.glob("*_right.csv")], key=lambda p: p.stem
    )
    for zip_path in sorted(part_dir.glob("*.zip")):
        if not zip_path.with_suffix(".csv").is_file():
            faults.append(f"{zip_path}: no matching {zip_path.with_suffix('.csv').name}")
    rows = []
    for csv_path in csvs:
        side = csv_path.stem.rsplit("_", 1)[1]
        r = read_pair(csv_path, side, subject, mirror, faults)
        if r is not None:
            rows.append(r)
    if not csvs:
        faults.append(f"{part_dir}: no NNN_left.csv / NNN_right.csv files")
    return stack_fields(rows)


def prepare_utmultiview(
    root: Path,
    out: Path,
    *,
    parts: tuple[str, ...] | list[str] = PARTS,
    mirror_right: bool = True,
    force: bool = False,
    progress: bool = True,
) -> Store:
    """Prepare UT Multiview ``root`` (folders s00 ... s49) into the store ``out``.

    parts: which of ``synth`` and ``test`` to include (recorded in the manifest).
    mirror_right: mirror right-eye patches and negate their yaws (assumes the distributed right
    eyes are not mirrored yet; pass False if they are). Recorded in the manifest.
    """
    root, out = Path(root), Path(out)
    parts = tuple(parts)
    if not parts or any(p not in PARTS for p in parts) or len(set(parts)) != len(parts):
        raise UserError(f"parts must be a non-empty selection of {', '.join(PARTS)}, got {parts}")
    options = {"root": str(root.resolve()), "parts": list(parts), "mirror_right": mirror_right}
    if (done := reuse_store(out, options, force)) is not None:
        return done
    if not root.is_dir():
        raise StoreError(f"{root}: UT Multiview folder not found")
    people = sorted(p.name for p in root.iterdir() if p.is_dir() and _PERSON.fullmatch(p.name))
    if not people:
        raise StoreError(f"{root}: no person folders s00 ... s49 found (empty root?)")
    jobs = [
        (int(p[1:]) * len(PARTS) + PARTS.index(part), p, part) for p in people for part in parts
    ]
    shards = ShardDir(out, config_hash({**options, "people": people, "v": 1}, length=16)).open()
    for i, person, part in progress_bar(jobs, desc="utmultiview", unit="part", enabled=progress):
        if not shards.is_done(i):
            faults: list[str] = []
            rows = read_part(root / person / part, int(person[1:]), mirror_right, faults)
            shards.save(i, rows, faults)
    assumption = (
        "distributed right-eye files are NOT mirrored: the reader mirrored them and negated yaws"
        if mirror_right
        else "distributed right-eye files are ALREADY mirrored: stored as read"
    )
    extra = {
        "people": people,
        "parts": list(parts),
        "right_eye_assumption": assumption,
        "subject_names": {str(int(p[1:])): p for p in people},
    }
    return shards.assemble(
        [i for i, _, _ in jobs],
        source=f"{SOURCE}:{'+'.join(parts)}",
        options=options,
        extra=extra,
        faults=FaultLog(),
        overwrite=force and out.exists(),
    )
