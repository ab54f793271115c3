"""The study's statistics: binomial accuracy against chance, and HYPE's bootstrap over people.

- :func:`binomial`: k correct of n trials: accuracy, its Wilson 95% interval, and the exact
  two-sided binomial p-value against chance (0.5), as a frozen :class:`Binomial`.
- :func:`people_bootstrap`: HYPE (Zhou et al., NeurIPS 2019) resamples *participants*, not
  trials: people differ, and one person's answers are correlated. Given each participant's error
  counts per arm, it returns each arm's 95% percentile interval of the pooled error rate, and
  how often the arms' order by error rate matches the observed order (the ranking's stability).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

N_BOOT = 2000


@dataclass(frozen=True)
class Binomial:
    """k successes of n; p_hat = k / n; Wilson 95% CI; exact two-sided p against 0.5.
    Everything is nan for n = 0."""

    k: int
    n: int
    p_hat: float
    ci95_lo: float
    ci95_hi: float
    p_value: float


def binomial(k: int, n: int) -> Binomial:
    """Accuracy k / n with its Wilson 95% interval and the exact binomial p against chance."""
    if n == 0:
        return Binomial(k, n, math.nan, math.nan, math.nan, math.nan)
    from scipy.stats import binomtest

    test = binomtest(int(k), int(n), 0.5)
    ci = test.proportion_ci(0.95, method="wilson")
    return Binomial(int(k), int(n), k / n, float(ci.low), float(ci.high), float(test.pvalue))


def wilson_halfwidth(n: int, p: float = 0.5) -> float:
    """Half the width of the Wilson 95% interval for n trials at observed proportion p."""
    z = 1.959963984540054
    return z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)


@dataclass(frozen=True)
class PeopleBootstrap:
    """Per arm (in the order given): the 95% percentile interval of the pooled error rate over
    participant resamples; ranking_stable: the fraction of resamples whose arms' order by error
    rate equals the observed order (nan with fewer than two arms)."""

    err_lo: tuple[float, ...]
    err_hi: tuple[float, ...]
    ranking_stable: float
    n_boot: int


def people_bootstrap(
    errors: np.ndarray, counts: np.ndarray, n_boot: int = N_BOOT, seed: int = 0
) -> PeopleBootstrap:
    """errors, counts: (participants, arms) int arrays of wrong answers and trials answered."""
    errors, counts = np.asarray(errors, float), np.asarray(counts, float)
    people, arms = counts.shape
    if people == 0:
        nan = (math.nan,) * arms
        return PeopleBootstrap(nan, nan, math.nan, n_boot)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, people, (n_boot, people))
    tot = counts[draws].sum(1)  # (n_boot, arms)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an arm nobody answered yet: nan
        rates = errors[draws].sum(1) / tot
        lo, hi = np.nanquantile(rates, [0.025, 0.975], axis=0)
    stable = math.nan
    if arms > 1:
        observed = np.argsort(-(errors.sum(0) / np.maximum(counts.sum(0), 1)), kind="stable")
        ranks = np.argsort(-np.nan_to_num(rates, nan=-1.0), axis=1, kind="stable")
        stable = float((ranks == observed).all(1).mean())
    return PeopleBootstrap(tuple(map(float, lo)), tuple(map(float, hi)), stable, n_boot)
