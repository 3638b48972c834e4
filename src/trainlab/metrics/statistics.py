"""Mean, spread and 95% confidence intervals over seeds or folds, and the difference between two
settings.

Intervals use the t-distribution, as few seeds call for: with n values the half-width is
t(0.975, n - 1) * s / sqrt(n). The folds of a cross-validation are not independent samples: they
share training data, so the naive interval is too narrow. Over folds the variance of the mean is
corrected as Nadeau & Bengio (2003) do (the "corrected resampled t-test"): s^2 (1/n + n_held_out /
n_train) instead of s^2 / n, `held_out_ratio` being n_held_out / n_train (1 / (K - 1) for K folds).

Two settings run on the same seeds or folds are compared paired: the interval is that of the mean
per-seed (per-fold) difference, so what a seed does to both settings alike cancels. Otherwise
Welch's interval, which does not assume equal variances. With one value there is no spread, and
the intervals are None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
NADEAU_BENGIO = "corrected resampled t (Nadeau & Bengio 2003)"


def interval_name(held_out_ratio: float | None) -> str:
    """How an interval over these replicates is computed, for reports."""
    return "t" if held_out_ratio is None else NADEAU_BENGIO


@dataclass(frozen=True)
class Estimate:
    """One metric over seeds (or folds)."""

    mean: float
    std: float | None  # sample standard deviation (n - 1); None with one value
    ci_low: float | None
    ci_high: float | None
    values: list[float]

    @property
    def n(self) -> int:
        return len(self.values)

    def to_dict(self) -> dict:
        return {**asdict(self), "n": self.n}

    def text(self, digits: int = 4) -> str:
        """'0.9123 ± 0.0100 (95% CI, n=3)', or the bare mean for one value."""
        if self.std is None:
            return f"{self.mean:.{digits}f} (n=1)"
        half = (self.ci_high - self.ci_low) / 2
        return f"{self.mean:.{digits}f} ± {half:.{digits}f} (95% CI, n={self.n})"


def _half_width(std: float, n: int, held_out_ratio: float | None) -> float:
    """t(0.975, n - 1) times the standard error of a mean of n values (corrected over folds)."""
    variance_share = 1 / n + (held_out_ratio or 0.0)
    return float(stats.t.ppf((1 + CONFIDENCE) / 2, n - 1)) * std * math.sqrt(variance_share)


def estimate(values: Sequence[float], held_out_ratio: float | None = None) -> Estimate:
    """Mean with its 95% t-interval; NaN values (a diverged seed) are kept and make it NaN.

    Args:
        held_out_ratio: for values over the folds of a cross-validation, n_held_out / n_train of
            each fold: the interval is then Nadeau & Bengio's corrected one.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        raise ValueError("estimate needs at least one value")
    mean = float(array.mean())
    if array.size == 1:
        return Estimate(mean, None, None, None, array.tolist())
    std = float(array.std(ddof=1))
    half = _half_width(std, array.size, held_out_ratio)
    return Estimate(mean, std, mean - half, mean + half, array.tolist())


def mean_and_half_width(estimate_dict: Mapping[str, Any] | None) -> tuple[float, float]:
    """(mean, half-width of the 95% interval) of an estimate as a summary stores it
    (`Estimate.to_dict()`), for error bars and "mean ± half" text.

    The half-width is 0.0 where there is no interval (one value); a missing estimate (a metric an
    arm does not have) gives (nan, 0.0), which plots leave out.
    """
    if estimate_dict is None:
        return math.nan, 0.0
    if estimate_dict["ci_low"] is None:
        return estimate_dict["mean"], 0.0
    return estimate_dict["mean"], (estimate_dict["ci_high"] - estimate_dict["ci_low"]) / 2


@dataclass(frozen=True)
class Difference:
    """`a - b` for one metric, with a 95% interval computed as `method` says."""

    difference: float
    ci_low: float | None
    ci_high: float | None
    significant: bool | None  # the interval excludes 0; None when there is too little data
    method: str = "Welch t"

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self, digits: int = 4) -> str:
        if self.significant is None:
            return f"{self.difference:+.{digits}f} (too few seeds for an interval)"
        verdict = "significant" if self.significant else "not significant"
        return (f"{self.difference:+.{digits}f} (95% CI {self.ci_low:+.{digits}f} to "
                f"{self.ci_high:+.{digits}f}, {self.method}, {verdict})")


def difference(
    a: Sequence[float], b: Sequence[float], paired: bool = False, held_out_ratio: float | None = None
) -> Difference:
    """Mean of `a` minus mean of `b` with a 95% interval: over the paired differences a[i] - b[i]
    when `paired` (the same seeds or folds, in the same order; corrected over folds with
    `held_out_ratio`, see `estimate`), else Welch's t-interval (unequal variances)."""
    a_array, b_array = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if paired:
        if a_array.shape != b_array.shape:
            raise ValueError(f"a paired difference needs the same seeds or folds in both settings "
                             f"(got {a_array.size} and {b_array.size} values)")
        method = f"paired {interval_name(held_out_ratio)}"
        paired_estimate = estimate(a_array - b_array, held_out_ratio)
        if paired_estimate.std is None:
            return Difference(paired_estimate.mean, None, None, None, method)
        low, high = paired_estimate.ci_low, paired_estimate.ci_high
        return Difference(paired_estimate.mean, low, high, bool(low > 0 or high < 0), method)
    diff = float(a_array.mean() - b_array.mean())
    if a_array.size < 2 or b_array.size < 2:
        return Difference(diff, None, None, None)
    a_var, b_var = a_array.var(ddof=1) / a_array.size, b_array.var(ddof=1) / b_array.size
    standard_error = math.sqrt(a_var + b_var)
    if standard_error == 0:  # identical values in both: the difference is exact
        return Difference(diff, diff, diff, diff != 0)
    # Welch-Satterthwaite degrees of freedom.
    dof = (a_var + b_var) ** 2 / (a_var**2 / (a_array.size - 1) + b_var**2 / (b_array.size - 1))
    half = float(stats.t.ppf((1 + CONFIDENCE) / 2, dof)) * standard_error
    low, high = diff - half, diff + half
    return Difference(diff, low, high, bool(low > 0 or high < 0))


def stratified_folds(labels: Sequence[int], folds: int, seed: int = 0) -> list[np.ndarray]:
    """Indices of `folds` disjoint folds that together hold every example, each class spread
    evenly: per class, the examples are shuffled (by `seed`) and dealt to the folds in turn, so
    fold sizes per class differ by at most one (scikit-learn's StratifiedKFold does the same).

    Raises:
        ValueError: fewer than 2 folds, or a class with fewer examples than folds.
    """
    labels = np.asarray(labels)
    if folds < 2:
        raise ValueError(f"`folds` ({folds}) must be >= 2")
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < folds:
        raise ValueError(f"`folds` ({folds}) is more than the {counts.min()} examples of class "
                         f"{classes[counts.argmin()]}")
    generator = np.random.default_rng(seed)
    members: list[list[np.ndarray]] = [[] for _ in range(folds)]
    offset = 0
    for label in classes:
        shuffled = generator.permutation(np.flatnonzero(labels == label))
        # Dealing on from where the last class stopped keeps total fold sizes within one.
        dealt_to = (np.arange(len(shuffled)) + offset) % folds
        for fold in range(folds):
            members[fold].append(shuffled[dealt_to == fold])
        offset += len(shuffled)
    return [np.sort(np.concatenate(fold)).astype(np.int64) for fold in members]
