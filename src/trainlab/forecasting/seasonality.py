"""Find the seasonal period of a series from its autocorrelation function."""

from __future__ import annotations

from typing import Any

import numpy as np

# A peak must clear the white-noise band at 3 standard errors (1.96 lets noise through: a long
# autocorrelation function has hundreds of local maxima) and rise at least MIN_PROMINENCE above the
# troughs around it, which the wandering autocorrelation of a random walk rarely does.
SIGNIFICANCE_Z = 3.0
MIN_PROMINENCE = 0.3


def autocorrelation(values: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation r[0..max_lag] of a 1-D series (the biased estimator, as statsmodels)."""
    centred = values - values.mean()
    size = len(centred)
    # Zero padding to twice the length makes the circular FFT correlation a linear one.
    spectrum = np.fft.rfft(centred, n=2 * size)
    covariance = np.fft.irfft(spectrum * np.conj(spectrum))[: max_lag + 1]
    return covariance / covariance[0]


def detect_period(series: Any, max_period: int | None = None) -> int:
    """The seasonal period of `series`: its most prominent significant autocorrelation peak.

    The series (T,) is first detrended (least-squares line), so that a trend's slowly decaying
    autocorrelation does not hide the seasonal peaks. Candidates are the local maxima r[p] at lags
    p = 2..max_period with r[p] > 3 / sqrt(T) and a prominence (the rise above the troughs around
    the peak) of at least 0.3; the most prominent wins, because the highest raw value is usually a
    noise wiggle at a short lag. Returns 1 when no lag qualifies (no season found). A heuristic:
    noisy seasons may come out a step off (367 for daily temperatures), so give the period when the
    calendar says it.

    Args:
        series: (T,) values, or (T, 1).
        max_period: the longest period considered; None: T // 3 (at least three seasons).
    """
    values = np.asarray(series, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"detect_period takes one series (T,) (got shape {values.shape})")
    if not np.isfinite(values).all():
        raise ValueError("detect_period: the series holds NaN or infinite values; fill them first")
    steps = len(values)
    max_period = steps // 3 if max_period is None else min(max_period, steps // 2)
    if max_period < 2:
        return 1
    time = np.arange(steps)
    detrended = values - np.polyval(np.polyfit(time, values, 1), time)
    if np.ptp(detrended) <= 1e-12 * max(1.0, np.abs(values).max()):  # a straight line: no season
        return 1
    # Lags beyond max_period let a peak near max_period see the trough after it.
    correlation = autocorrelation(detrended, min(2 * max_period, steps - 1))
    band = SIGNIFICANCE_Z / np.sqrt(steps)
    from scipy.signal import (
        find_peaks,  # scipy.signal takes ~0.5 s to import: only when a season is sought
    )

    peaks, properties = find_peaks(correlation, prominence=0)
    best_lag, best_prominence = 1, MIN_PROMINENCE
    for lag, prominence in zip(peaks, properties["prominences"]):
        if 2 <= lag <= max_period and correlation[lag] > band and prominence > best_prominence:
            best_lag, best_prominence = int(lag), prominence
    return best_lag
