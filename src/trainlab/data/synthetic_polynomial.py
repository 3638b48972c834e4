"""Capacity task: noisy samples of a fixed curve, for fits of rising degree (under/overfitting)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from trainlab.data.synthetic_splits import Pair, Seed, SequenceSplits, _draw_splits


def true_function(x: np.ndarray, coefficients: Sequence[float] | None = None) -> np.ndarray:
    """sin(pi x) by default, else the polynomial sum_k coefficients[k] * x**k (lowest degree first)."""
    if coefficients is None:
        return np.sin(np.pi * x)
    return np.polynomial.Polynomial(coefficients)(x)


def polynomial_regression(
    num_examples: int,
    seed: Seed,
    noise: float = 0.1,
    x_range: tuple[float, float] = (-1.0, 1.0),
    coefficients: Sequence[float] | None = None,
) -> Pair:
    """Noisy samples of a fixed curve for the under/overfitting study (polynomials of rising degree).

    x is uniform in `x_range`; y = true_function(x) + noise * N(0, 1). The default curve, sin(pi x)
    on [-1, 1], is Bishop's (PRML section 1.1) sin(2 pi x) on [0, 1] mirrored: a degree-1 fit
    underfits it, degree 3 to 5 fits it, and degree 9 or more on a few points overfits.

    Returns:
        x float32 (num_examples, 1) and y float32 (num_examples,).
    """
    low, high = x_range
    if not low < high:
        raise ValueError(f"x_range {x_range} must be (low, high) with low < high")
    generator = np.random.default_rng(seed)
    x = generator.uniform(low, high, num_examples)
    y = true_function(x, coefficients) + noise * generator.standard_normal(num_examples)
    return torch.from_numpy(x[:, None].astype(np.float32)), torch.from_numpy(y.astype(np.float32))


def polynomial_constant_mse(
    noise: float, x_range: tuple[float, float] = (-1.0, 1.0), coefficients: Sequence[float] | None = None
) -> float:
    """MSE of the best constant prediction, E[y]: Var f(x) + noise**2 for x uniform in `x_range`.

    The moments are exact integrals: for sin(pi x), E f = (cos(pi a) - cos(pi b)) / (pi (b - a)) and
    E f**2 = 1/2 - (sin(2 pi b) - sin(2 pi a)) / (4 pi (b - a)), so 1/2 + noise**2 on [-1, 1].
    """
    low, high = x_range
    width = high - low
    if coefficients is None:
        mean = (math.cos(math.pi * low) - math.cos(math.pi * high)) / (math.pi * width)
        sine_difference = math.sin(2 * math.pi * high) - math.sin(2 * math.pi * low)
        mean_square = 0.5 - sine_difference / (4 * math.pi * width)
    else:
        curve = np.polynomial.Polynomial(coefficients)
        mean = float(np.diff(curve.integ()([low, high]))[0]) / width
        mean_square = float(np.diff((curve**2).integ()([low, high]))[0]) / width
    return mean_square - mean**2 + noise**2


def polynomial_splits(
    num_examples: int,
    seed: int = 0,
    noise: float = 0.1,
    x_range: tuple[float, float] = (-1.0, 1.0),
    coefficients: Sequence[float] | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> SequenceSplits:
    """Polynomial-regression splits; `irreducible_error` is noise**2, the MSE of the true curve."""
    train, val, test = _draw_splits(
        num_examples, seed, val_fraction, test_fraction,
        lambda generator, count: polynomial_regression(count, generator, noise, x_range, coefficients),
    )
    return SequenceSplits(
        name="polynomial",
        kind="regression",
        train=train, val=val, test=test,
        input_size=1, output_size=1, classes=[],
        memoryless_baseline=polynomial_constant_mse(noise, x_range, coefficients),
        baseline_metric="mse",
        irreducible_error=noise**2,
    )
