"""A convention audit of labelled stores, before anything is scored on them.

The costliest user mistake in gaze work is a label convention: swapped pitch/yaw or a sign flip
costs ~20 degrees and looks like a weak method. Every store here holds gaze and head pose as
(pitch, yaw) radians in the normalized-camera convention (docs/conventions.md). The audit checks:

1. **Units and ranges.** Any |angle| > pi is degrees, not radians; gaze beyond +-pi/2 (looking
   behind the camera) or head beyond +-pi/2 breaks the convention.
2. **Train/test overlap.** The share of test gaze inside the training store's range per axis
   (reported, not fatal: a narrow synthetic range is a finding, not a bug).
3. **The cross-check.** A ridge on 2x2-pooled pixels + head pose is fitted on the training store
   and scored on the test store under the 8 sign/swap variants of the test labels. A convention
   mistake flips the sign (or swaps the axes) of the *relation* between predicted and true gaze,
   so each variant is scored after removing the mean of the predictions and of the labels per
   axis: a training store whose gaze is centred elsewhere than the test store's (the demo's
   ``lab`` looks 7 deg lower than ``wild``) is a domain shift, not a convention, and without this
   step it made "pitch negated" win on clean 300-image stores. The best variant other than the
   identity is then reported only when it wins clearly (``MARGIN``, ``MIN_GAIN_DEG``) *and*
   significantly: a one-sided Wilcoxon signed-rank test over the test people of the per-person
   error difference (identity minus variant), at ``ALPHA`` Bonferroni-corrected for the 7 variants
   it was picked from. A test store with fewer than ``MIN_PEOPLE`` known people is tested over
   ``N_BLOCKS`` random blocks of its images instead (images of one person are not independent,
   so that fallback's p-value is optimistic; the effect-size guards still apply).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from estimators.base import UserError
from estimators.geometry import angular_error_deg

MARGIN = 0.9  # a variant "wins clearly" when its error is below 0.9x the identity's
MIN_GAIN_DEG = 1.0  # ...and at least this many degrees lower (weak fits never trigger it)
N_FIT = 3000  # rows per store the cross-check uses (seeded subsample)
MIN_ROWS = 300  # fewer rows than this in either store: a ridge fit is noise; no cross-check
ALPHA = 0.01  # family-wise false-alarm rate of the cross-check on a clean pair of stores
MIN_PEOPLE = 10  # a one-sided signed-rank test over fewer units cannot reach ALPHA / 7
N_BLOCKS = 20  # units of the test when the test store has fewer known people


def variants() -> list[tuple[str, bool, int, int]]:
    """The 8 (name, swap, pitch sign, yaw sign) label transforms; the identity first."""
    out = []
    for swap in (False, True):
        for sp in (1, -1):
            for sy in (1, -1):
                parts = ["swapped pitch/yaw"] if swap else []
                parts += ["pitch negated"] if sp < 0 else []
                parts += ["yaw negated"] if sy < 0 else []
                out.append((", ".join(parts) or "as stored", swap, sp, sy))
    return out


def apply_variant(pitchyaw: np.ndarray, swap: bool, sp: int, sy: int) -> np.ndarray:
    """(N, 2) pitch/yaw -> the same angles under one sign/swap variant."""
    g = pitchyaw[:, ::-1] if swap else pitchyaw
    return g * np.array([sp, sy], dtype=g.dtype)


@dataclass
class AuditResult:
    store: str
    problems: list[str] = field(default_factory=list)  # each one fatal, one line
    notes: list[str] = field(default_factory=list)  # findings that do not stop a run
    variant_err_deg: dict[str, float] = field(default_factory=dict)  # per-axis means removed
    p_value: float | None = None  # the best non-identity variant's (None: the identity won)


def check_ranges(name: str, gaze: np.ndarray, head: np.ndarray | None) -> list[str]:
    """Unit and range problems of one store's labels (empty: none)."""
    problems = []
    for what, a in (("gaze", gaze), ("head", head)):
        if a is None or not len(a):
            continue
        if not np.isfinite(a).all():
            problems.append(f"{name}: {what} labels hold NaN or inf")
            continue
        peak = float(np.abs(a).max())
        if peak > np.pi:
            problems.append(
                f"{name}: {what} angles reach {peak:.1f}, more than pi: degrees, not radians?"
            )
        elif peak > np.pi / 2:
            problems.append(
                f"{name}: {what} angles reach {peak:.2f} rad (> pi/2): not the normalized-camera "
                "(pitch, yaw) convention"
            )
    return problems


def overlap(train_gaze: np.ndarray, test_gaze: np.ndarray) -> float:
    """Share of test gaze rows inside the training store's [min, max] on both axes."""
    lo, hi = train_gaze.min(axis=0), train_gaze.max(axis=0)
    return float(((test_gaze >= lo) & (test_gaze <= hi)).all(axis=1).mean())


def _features(store: Any, rows: np.ndarray) -> np.ndarray:
    """(len(rows), 541) float32: 2x2-pooled, mean-removed pixels and head pose of sorted rows."""
    img = np.asarray(store.images[rows], np.float32) / 255.0
    n, h, w = img.shape
    pooled = img[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    pooled = pooled.reshape(n, -1)
    pooled -= pooled.mean(axis=1, keepdims=True)  # lighting offsets are not gaze
    return np.hstack([pooled, np.asarray(store.head_pitchyaw_rad[rows], np.float32)])


def paired_units(test: Any, rows: np.ndarray, seed: int = 0) -> tuple[np.ndarray, str]:
    """(unit id per row, what a unit is): the test store's people when it names at least
    ``MIN_PEOPLE``, else ``N_BLOCKS`` random blocks of rows."""
    subject = np.asarray(test.subject[rows]) if hasattr(test, "subject") else None
    if subject is not None:
        known = subject[subject >= 0]
        if len(np.unique(known)) >= MIN_PEOPLE and len(known) == len(subject):
            return subject, "people"
    rng = np.random.default_rng([seed, 1])
    return rng.permutation(len(rows)) % N_BLOCKS, "blocks of images"


def cross_check(
    train: Any, test: Any, seed: int = 0
) -> tuple[dict[str, float], dict[str, np.ndarray], str]:
    """Under each label variant of the test store: the mean angular error (deg) of a ridge
    fitted on the training store, per-axis means removed (see the module doc), and that error
    per unit of the significance test; plus what a unit is ("people" or "blocks of images")."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(seed)
    # sorted rows: memory-mapped stores read forward
    tr = np.sort(rng.choice(len(train), min(N_FIT, len(train)), replace=False))
    te = np.sort(rng.choice(len(test), min(N_FIT, len(test)), replace=False))
    model = Ridge(alpha=10.0).fit(_features(train, tr), train.gaze_pitchyaw_rad[tr])
    pred = model.predict(_features(test, te))
    pred = pred - pred.mean(axis=0)
    true = np.asarray(test.gaze_pitchyaw_rad[te], np.float64)
    units, unit_name = paired_units(test, te, seed)
    uniq, inverse = np.unique(units, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq))
    errs, per_unit = {}, {}
    for name, swap, sp, sy in variants():
        target = apply_variant(true, swap, sp, sy)
        err = angular_error_deg(pred + target.mean(axis=0), target)
        errs[name] = float(err.mean())
        per_unit[name] = np.bincount(inverse, weights=err, minlength=len(uniq)) / counts
    return errs, per_unit, unit_name


def variant_p_value(per_unit: dict[str, np.ndarray], name: str) -> float:
    """One-sided Wilcoxon signed-rank p-value that variant ``name`` has a lower error than the
    labels as stored, paired over the test's units (people)."""
    from scipy.stats import wilcoxon

    diff = per_unit["as stored"] - per_unit[name]
    if not np.any(diff):
        return 1.0
    return float(wilcoxon(diff, alternative="greater").pvalue)


def audit_pair(train_name: str, train: Any, test_name: str, test: Any) -> AuditResult:
    """Audit a training store against the test store it will be scored on."""
    res = AuditResult(store=train_name)
    res.problems += check_ranges(train_name, train.gaze_pitchyaw_rad, train.head_pitchyaw_rad)
    res.problems += check_ranges(test_name, test.gaze_pitchyaw_rad, test.head_pitchyaw_rad)
    if res.problems:
        return res
    share = overlap(np.asarray(train.gaze_pitchyaw_rad), np.asarray(test.gaze_pitchyaw_rad))
    res.notes.append(f"{100 * share:.0f} % of {test_name}'s gaze lies in {train_name}'s range")
    if min(len(train), len(test)) < MIN_ROWS:
        res.notes.append(f"cross-check skipped (fewer than {MIN_ROWS} rows)")
        return res
    errs, per_unit, unit_name = cross_check(train, test)
    res.variant_err_deg = errs
    as_stored = errs["as stored"]
    best = min(errs, key=errs.get)
    if best == "as stored":
        return res
    res.p_value = p = variant_p_value(per_unit, best)
    n_units = len(per_unit[best])
    if (
        errs[best] < MARGIN * as_stored
        and as_stored - errs[best] > MIN_GAIN_DEG
        and p < ALPHA / (len(errs) - 1)
    ):
        res.problems.append(
            f"{test_name} vs {train_name}: labels look {best} in one of the two (a ridge fitted on "
            f"{train_name} scores {errs[best]:.1f} deg with {best}, {as_stored:.1f} deg as stored; "
            f"p = {p:.1g} over {n_units} {unit_name}); check the reader's convention (--no-audit "
            "skips this check)"
        )
    return res


def audit_or_stop(pairs: list[tuple[str, Any, str, Any]], log=print) -> list[AuditResult]:
    """Audit every (train name, train store, test name, test store); raise one UserError line on
    the first problem, else log one line per pair."""
    results = []
    for train_name, train, test_name, test in pairs:
        res = audit_pair(train_name, train, test_name, test)
        if res.problems:
            raise UserError(res.problems[0])
        notes = list(res.notes)
        if res.variant_err_deg:
            notes.append(f"ridge {res.variant_err_deg['as stored']:.1f} deg as stored")
        log(f"audit: {train_name} -> {test_name} ok ({'; '.join(notes)})")
        results.append(res)
    return results


LABELLED_ROLES = ("real-lab", "synthetic")  # training roles whose labels rows learn from


def audit_stores(stores: dict[str, Any], log=print) -> list[AuditResult]:
    """`bench run`'s audit: every labelled training store a run prepared, against its test store
    (refined stores carry the synthetic labels, so auditing synthetic covers them)."""
    pairs = [
        (f"{role} store ({stores[role].source})", stores[role], "the test store", stores["test"])
        for role in LABELLED_ROLES
        if role in stores
    ]
    return audit_or_stop(pairs, log)
