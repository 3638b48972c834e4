"""The bias-variance decomposition recovers what the generating process puts in."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from trainlab.studies.bias_variance import decompose, polynomial_fitter


def test_noise_estimate_is_within_ten_percent_and_bias_falls_while_variance_rises_with_degree():
    noise = 0.3
    results = {degree: decompose(polynomial_fitter(degree), seed=0, noise=noise, training_sets=300)[0]
               for degree in (1, 3, 5, 9, 15)}
    for degree, result in results.items():
        assert result.noise == pytest.approx(noise**2, rel=0.10), degree
        # The parts add up to the error measured against fresh noisy observations.
        assert result.total == pytest.approx(result.test_mse, rel=0.05), degree
    bias = [results[degree].bias_squared for degree in (1, 3, 5)]
    assert bias[0] > bias[1] > bias[2]
    variance = [results[degree].variance for degree in (1, 3, 5, 9, 15)]
    assert all(low < high for low, high in pairwise(variance))
    # Training error only falls with degree: it cannot tell an overfit.
    train = [results[degree].train_mse for degree in (1, 3, 5, 9, 15)]
    assert all(high > low for high, low in pairwise(train))


def test_a_model_that_predicts_the_training_mean_has_the_variance_and_bias_of_theory():
    # f(x) = x on [-1, 1] with the fixed design: the fit is mean(y) = mean(x_grid) + mean(noise) =
    # mean(noise), so variance = noise^2 / n, and bias^2 = E_x[(0 - x)^2] over the test points.
    noise, train_examples = 0.5, 20

    def training_mean(x, y, generator):
        return lambda points: np.full(len(points), y.mean())

    result, _ = decompose(training_mean, seed=3, train_examples=train_examples, noise=noise,
                          training_sets=4000, test_points=500, function=lambda x: x)
    generator = np.random.default_rng(3)
    x_test = generator.uniform(-1, 1, 500)  # decompose draws its test points first from the seed
    assert result.variance == pytest.approx(noise**2 / train_examples, rel=0.05)
    assert result.bias_squared == pytest.approx(np.mean(x_test**2), abs=3 * noise**2 / train_examples / 60)


def test_the_curves_kept_for_the_figure_are_fits_on_the_grid_and_their_mean():
    _, curves = decompose(polynomial_fitter(1), seed=0, training_sets=10, keep_curves=4)
    assert len(curves["curves"]) == 4 and len(curves["grid"]) == len(curves["mean_curve"])
    assert np.allclose(curves["truth"], np.sin(np.pi * np.asarray(curves["grid"])))
