"""Which stores a study shows: a results dir's refined or synthetic images, its held-out real
images, or any store path.

A `bench run` results dir names its stores by content checksum, not by path: each row's
``train_dataset`` reads ``"<source> (<n> pool, <checksum[7:19]>); refiner ..."`` and its
``test_source`` ``"<source> (<n> images, <checksum[7:19]>)"``. The stores themselves live under
the run's work dir (``WORK/stores/...``), found by matching those checksums against the
manifests there. Candidate work dirs: ``--work``, else GAZEBENCH_WORK or ./work (click resolves
both, so the variable gets --work's checks), plus the work dir each refiner's ``refiners/NAME/seedS/fit.json`` names (its ``run_dir`` is WORK/refiner/...).

The real images of a study are the run's **test** store (MPIIGaze's Evaluation Subset / the demo
``wild`` test people): held out from every training set.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets.store import is_store, open_store
from benchmarks.records.rows import latest_rows, read_rows
from estimators.base import UserError

_POOL_RE = re.compile(r"\(([\d,]+) pool, ([0-9a-f]{12})\)")
_TEST_RE = re.compile(r"\(([\d,]+) images, ([0-9a-f]{12})\)")


@dataclass(frozen=True)
class ResolvedSource:
    """A study source found on disk: its name in the study, the store and what it is."""

    name: str
    store_path: str
    checksum: str
    description: str  # the store's own ``source`` and size, e.g. "demo:wild (3,000 images)"

    def to_dict(self) -> dict:
        return dict(vars(self))


def work_candidates(
    results_dir: Path | None, work_dir: Path | None, default_work: Path = Path("work")
) -> list[Path]:
    """Work dirs to look for a results dir's stores in, most explicit first: ``work_dir`` (given
    on the command line) alone, else ``default_work`` (GAZEBENCH_WORK or ./work, as click read
    them) and the work dirs the run's refiner fits name."""
    if work_dir is not None:
        return [Path(work_dir)]
    found = [Path(default_work)]
    if results_dir is not None:
        for fit in sorted(Path(results_dir).glob("refiners/*/seed*/fit.json")):
            run_dir = json.loads(fit.read_text()).get("run_dir")
            if run_dir:  # WORK/refiner/<key>-seed<s>
                found.append(Path(run_dir).parent.parent)
    return list(dict.fromkeys(found))


def _resolved(name: str, path: Path) -> ResolvedSource:
    store = open_store(path)
    desc = f"{store.source} ({len(store):,} images)"
    return ResolvedSource(name, str(path), store.checksum, desc)


def find_store(checksum12: str, work_dirs: list[Path], what: str) -> Path:
    """The store under some ``WORK/stores/`` whose checksum starts with ``checksum12`` (the 12
    hex digits after ``sha256:``); UserError naming ``what`` and where it looked."""
    for work in work_dirs:
        for manifest in sorted((work / "stores").rglob("manifest.json")):
            if any(part.startswith(".") for part in manifest.relative_to(work).parts):
                continue  # a temporary or partial store
            try:
                checksum = json.loads(manifest.read_text()).get("checksum", "")
            except (OSError, ValueError):
                continue
            if checksum[7:19] == checksum12:
                return manifest.parent
    looked = ", ".join(str(w / "stores") for w in work_dirs)
    raise UserError(
        f"{what} (store checksum {checksum12}) is not under {looked}; pass --work (that run's "
        "work dir) or a store path"
    )


def _checksum_in(text: str, pattern: re.Pattern, what: str) -> str:
    found = pattern.findall(str(text))
    if not found:
        raise UserError(f"{what}: cannot read a store checksum from {text!r}")
    return found[-1][1]


def _refined_rows(rows: list[dict], spec: str) -> list[dict]:
    """Rows trained on refined images: the bare ``refined`` rows (the profile's refiner) for
    ``refined``, those of refiner NAME (bare or named) for ``refined:NAME``."""
    refined = [r for r in rows if str(r.get("train_source", "")).startswith("refined")]
    if spec == "refined":
        return [r for r in refined if r["train_source"] == "refined"]
    return [r for r in refined if r.get("refiner") == spec.split(":", 1)[1]]


def resolve_source(spec: str, results_dir: Path | None, work_dirs: list[Path]) -> ResolvedSource:
    """A study source: ``refined`` (the run's refined store), ``refined:<refiner>``,
    ``synthetic`` (the run's synthetic store) or a store path; the lowest seed's store when the
    run has several."""
    if spec not in ("refined", "synthetic") and not spec.startswith("refined:"):
        if is_store(spec):
            return _resolved(spec, Path(spec))
        raise UserError(
            f"unknown source {spec!r}: expected refined, refined:<refiner>, synthetic or a "
            "store directory"
        )
    if results_dir is None:
        raise UserError(f"source {spec!r} needs a results dir (--results)")
    rows = sorted(latest_rows(read_rows(results_dir)), key=lambda r: r["seed"])
    if spec == "synthetic":
        chosen = [r for r in rows if r.get("train_source") == "synthetic"]
        if not chosen:
            raise UserError(f"{results_dir}: no row trains on synthetic images")
    else:
        chosen = _refined_rows(rows, spec)
        if not chosen:
            names = sorted({f"refined:{r['refiner']}" for r in rows if r.get("refiner")})
            have = f"; it has {', '.join(names)}" if names else ""
            raise UserError(f"{results_dir}: no refined images for source {spec!r}{have}")
    what = f"{results_dir}: the {spec} images of row {chosen[0]['row_id']}"
    checksum = _checksum_in(chosen[0].get("train_dataset", ""), _POOL_RE, what)
    return _resolved(spec, find_store(checksum, work_dirs, what))


def resolve_real(
    real_path: Path | None, results_dir: Path | None, work_dirs: list[Path]
) -> ResolvedSource:
    """The study's real images: ``real_path`` if given, else the results dir's test store."""
    if real_path is not None:
        return _resolved("real", Path(real_path))
    if results_dir is None:
        raise UserError("the real images need --real STORE or a results dir (--results)")
    rows = latest_rows(read_rows(results_dir))
    if not rows:
        raise UserError(f"{results_dir}: rows.jsonl holds no result rows")
    what = f"{results_dir}: the held-out real (test) images"
    checksum = _checksum_in(rows[0].get("test_source", ""), _TEST_RE, what)
    return _resolved("real", find_store(checksum, work_dirs, what))
