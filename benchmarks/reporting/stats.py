"""Spread and significance over test *people*: the unit a gaze result generalises over.

Samples of one person are correlated (one face, one session), so a bootstrap over samples
understates the uncertainty. Both functions here resample or pair by person (subject id):

- ``subject_bootstrap_ci``: a cluster bootstrap over test people of the mean error averaged over
  seeds (each replicate draws people with replacement and keeps all their samples, in every seed);
- ``paired_subject_test``: per-person mean errors of two rows (each averaged over seeds), compared
  with the Wilcoxon signed-rank test over people.
"""

from __future__ import annotations

import numpy as np

ErrSubject = tuple[np.ndarray, np.ndarray]  # (err_deg float64 (n,), subject int32 (n,))


def _subject_sums(runs: list[ErrSubject]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(subject ids (k,), error sums (runs, k), sample counts (runs, k)) per run and person."""
    ids = np.unique(np.concatenate([s for _, s in runs]))
    sums = np.zeros((len(runs), len(ids)))
    counts = np.zeros((len(runs), len(ids)))
    for i, (err, subj) in enumerate(runs):
        pos = np.searchsorted(ids, subj)
        sums[i] = np.bincount(pos, weights=err, minlength=len(ids))
        counts[i] = np.bincount(pos, minlength=len(ids))
    return ids, sums, counts


def per_subject_mean(runs: list[ErrSubject]) -> tuple[np.ndarray, np.ndarray]:
    """(subject ids (k,), mean error per subject (k,) in degrees, averaged over the runs)."""
    ids, sums, counts = _subject_sums(runs)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return ids, np.nanmean(means, axis=0)


def subject_bootstrap_ci(
    runs: list[ErrSubject], n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile CI (degrees) of the sample-weighted mean error, averaged over runs (seeds),
    resampling test people with replacement. With one person (or unknown people, id -1) it
    degenerates to resampling nothing and returns (mean, mean)."""
    ids, sums, counts = _subject_sums(runs)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ids), size=(n_boot, len(ids)))
    # (n_boot, runs): mean error of each run on the drawn people, then the mean over runs
    boot = (sums[:, draws].sum(-1) / counts[:, draws].sum(-1)).T.mean(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def paired_subject_test(a: list[ErrSubject], b: list[ErrSubject]) -> dict[str, float]:
    """Compare rows a and b over the test people both were scored on.

    Returns {"n_people", "mean_diff_deg" (b - a, per-person means), "people_b_better",
    "p_value" (two-sided Wilcoxon signed-rank; nan below 2 people)}."""
    from scipy.stats import wilcoxon

    ids_a, ma = per_subject_mean(a)
    ids_b, mb = per_subject_mean(b)
    common, ia, ib = np.intersect1d(ids_a, ids_b, return_indices=True)
    diff = mb[ib] - ma[ia]
    p = float("nan")
    if len(common) >= 2 and np.any(diff != 0):
        p = float(wilcoxon(diff).pvalue)
    return {
        "n_people": int(len(common)),
        "mean_diff_deg": float(diff.mean()) if len(diff) else float("nan"),
        "people_b_better": int((diff < 0).sum()),
        "p_value": p,
    }
