"""Mean, spread and 95% confidence intervals over seeds, and the difference between two settings.

Intervals use the t-distribution, as few seeds call for: with n values the half-width is
t(0.975, n - 1) * s / sqrt(n). A difference of two settings uses Welch's interval, which does not
assume equal variances. With one value there is no spread, and the intervals are None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """One metric over seeds."""

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
        """'0.9123 ± 0.0100 (95% CI 0.9023-0.9223, n=3)', or the bare mean for one value."""
        if self.std is None:
            return f"{self.mean:.{digits}f} (n=1)"
        half = (self.ci_high - self.ci_low) / 2
        return f"{self.mean:.{digits}f} ± {half:.{digits}f} (95% CI, n={self.n})"


def estimate(values: Sequence[float]) -> Estimate:
    """Mean with its 95% t-interval; NaN values (a diverged seed) are kept and make it NaN."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        raise ValueError("estimate needs at least one value")
    mean = float(array.mean())
    if array.size == 1:
        return Estimate(mean, None, None, None, array.tolist())
    std = float(array.std(ddof=1))
    half = float(stats.t.ppf((1 + CONFIDENCE) / 2, array.size - 1)) * std / math.sqrt(array.size)
    return Estimate(mean, std, mean - half, mean + half, array.tolist())


@dataclass(frozen=True)
class Difference:
    """`a - b` for one metric, with Welch's 95% interval."""

    difference: float
    ci_low: float | None
    ci_high: float | None
    significant: bool | None  # the interval excludes 0; None when there is too little data

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self, digits: int = 4) -> str:
        if self.significant is None:
            return f"{self.difference:+.{digits}f} (too few seeds for an interval)"
        verdict = "significant" if self.significant else "not significant"
        return (f"{self.difference:+.{digits}f} (95% CI {self.ci_low:+.{digits}f} to "
                f"{self.ci_high:+.{digits}f}, {verdict})")


def difference(a: Sequence[float], b: Sequence[float]) -> Difference:
    """Mean of `a` minus mean of `b`, with Welch's t-interval (unequal variances)."""
    a_array, b_array = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
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
