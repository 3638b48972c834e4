"""Confidence intervals over seeds against scipy's own t-interval and Welch test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trainlab.metrics.statistics import difference, estimate, mean_and_half_width


def test_estimate_matches_a_hand_computed_t_interval():
    values = [0.90, 0.92, 0.94]
    result = estimate(values)
    # mean 0.92, s = 0.02, t(0.975, 2) = 4.302653, half-width = 4.302653 * 0.02 / sqrt(3)
    half = 4.302652729911275 * 0.02 / math.sqrt(3)
    assert result.mean == pytest.approx(0.92)
    assert result.std == pytest.approx(0.02)
    assert (result.ci_low, result.ci_high) == pytest.approx((0.92 - half, 0.92 + half))
    low, high = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
    assert result.text() == f"0.9200 ± {half:.4f} (95% CI, n=3)"


def test_one_value_has_no_interval():
    result = estimate([0.5])
    assert (result.mean, result.std, result.ci_low, result.ci_high) == (0.5, None, None, None)
    assert result.text() == "0.5000 (n=1)"
    with pytest.raises(ValueError, match="at least one value"):
        estimate([])


def test_mean_and_half_width_of_a_stored_estimate():
    values = [0.90, 0.92, 0.94]
    half = 4.302652729911275 * 0.02 / math.sqrt(3)
    mean, half_width = mean_and_half_width(estimate(values).to_dict())
    assert (mean, half_width) == pytest.approx((0.92, half))
    folds = estimate(values, held_out_ratio=0.25).to_dict()  # the corrected interval is kept
    assert mean_and_half_width(folds)[1] == (folds["ci_high"] - folds["ci_low"]) / 2
    assert mean_and_half_width(estimate([0.5]).to_dict()) == (0.5, 0.0)
    missing_mean, missing_half = mean_and_half_width(None)
    assert math.isnan(missing_mean) and missing_half == 0.0


def test_difference_agrees_with_welchs_test():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.8, 0.02, 5), rng.normal(0.7, 0.05, 4)
    result = difference(a, b)
    welch = stats.ttest_ind(a, b, equal_var=False)
    low, high = welch.confidence_interval(0.95)
    assert result.difference == pytest.approx(a.mean() - b.mean())
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
    assert result.significant == (welch.pvalue < 0.05)


def test_overlapping_settings_are_not_significant():
    result = difference([0.80, 0.82, 0.84], [0.81, 0.83, 0.79])
    assert result.significant is False
    assert "not significant" in result.text()
    assert difference([0.8], [0.7, 0.75]).significant is None


T_975_2 = 4.302652729911275  # t(0.975, 2 degrees of freedom)


def test_an_estimate_over_folds_uses_the_corrected_resampled_variance():
    # Nadeau & Bengio (2003): K folds share training data, so the variance of their mean is
    # s^2 (1/K + n_held_out / n_train) rather than s^2 / K. Three folds: 1/3 + 1/2.
    values = [0.90, 0.92, 0.94]
    result = estimate(values, held_out_ratio=1 / 2)
    half = T_975_2 * 0.02 * math.sqrt(1 / 3 + 1 / 2)
    assert (result.ci_low, result.ci_high) == pytest.approx((0.92 - half, 0.92 + half))
    assert half > T_975_2 * 0.02 / math.sqrt(3) * 1.5  # wider than the naive interval


def test_paired_difference_agrees_with_the_paired_t_test():
    # Seed effects shared by both settings cancel in a paired comparison: Welch sees only noise.
    a = np.array([0.80, 0.85, 0.90])
    b = np.array([0.78, 0.829, 0.881])  # a - b = 0.020, 0.021, 0.019
    paired = difference(a, b, paired=True)
    low, high = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert paired.difference == pytest.approx(0.02)
    assert (paired.ci_low, paired.ci_high) == pytest.approx((low, high))
    assert paired.significant is True and difference(a, b).significant is False
    assert "paired" in paired.method and "Welch" in difference(a, b).method


def test_paired_difference_over_folds_is_corrected_by_hand():
    a, b = [0.80, 0.85, 0.90], [0.78, 0.829, 0.881]
    result = difference(a, b, paired=True, held_out_ratio=1 / 2)
    half = T_975_2 * 0.001 * math.sqrt(1 / 3 + 1 / 2)  # s of the differences is 0.001
    assert (result.ci_low, result.ci_high) == pytest.approx((0.02 - half, 0.02 + half))
    assert "Nadeau" in result.method
    with pytest.raises(ValueError, match="same seeds or folds"):
        difference([0.1, 0.2], [0.1, 0.2, 0.3], paired=True)
