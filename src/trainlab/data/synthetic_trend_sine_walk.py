"""Shape task: tell a linear trend, a sine and a random walk apart once level and scale are gone."""

from __future__ import annotations

import math

import numpy as np
import torch

from trainlab.data.synthetic_splits import Pair, Seed, SequenceSplits, _draw_splits

TREND_SINE_WALK_CLASSES = ["trend", "sine", "walk"]


def trend_sine_walk(
    num_examples: int, length: int, seed: Seed, noise: float = 0.1, normalize: bool = True
) -> Pair:
    """Classify a sequence's shape: 0 linear trend, 1 sine, 2 random walk (balanced classes).

    Over time t from 0 to 1, every sequence starts from a level uniform in [-1, 1] and gets
    noise * N(0, 1) per step on top of its shape:
      trend: slope * t, slope of random sign and magnitude uniform in [0.5, 2];
      sine: sin(2 pi f t + phase), f uniform in [1, 3] cycles, phase uniform in [0, 2 pi);
      walk: a Gaussian random walk from 0 whose steps have std 1 / sqrt(length - 1) (end std 1).
    With `normalize`, each sequence is z-normalised (mean 0, std 1 over its steps), so level and
    scale give nothing away and only shape remains: that makes trend versus walk harder, since a
    walk can drift like a trend. Class counts differ by at most one.

    Returns:
        inputs float32 (num_examples, length, 1) and class indices int64 (num_examples,).
    """
    if length < 2:
        raise ValueError(f"`length` ({length}) must be >= 2")
    generator = np.random.default_rng(seed)
    labels = generator.permutation(np.arange(num_examples) % 3)
    trends, sines, walks = (labels == label for label in range(3))
    # float32 throughout: half the memory traffic of float64, which dominates the time here.
    time = np.linspace(0.0, 1.0, length, dtype=np.float32)
    series = np.zeros((num_examples, length), dtype=np.float32)
    signs = generator.choice(np.array([-1.0, 1.0], dtype=np.float32), (trends.sum(), 1))
    series[trends] = signs * generator.uniform(0.5, 2.0, (trends.sum(), 1)).astype(np.float32) * time
    cycles = generator.uniform(1.0, 3.0, (sines.sum(), 1)).astype(np.float32)
    phases = generator.uniform(0.0, 2 * np.pi, (sines.sum(), 1)).astype(np.float32)
    series[sines] = np.sin(2 * np.pi * cycles * time + phases)
    steps = generator.standard_normal((walks.sum(), length - 1), dtype=np.float32) / math.sqrt(length - 1)
    series[walks, 1:] = np.cumsum(steps, axis=1)
    series += generator.uniform(-1.0, 1.0, (num_examples, 1)).astype(np.float32)
    series += noise * generator.standard_normal(series.shape, dtype=np.float32)
    if normalize:
        series -= series.mean(axis=1, keepdims=True)
        series /= series.std(axis=1, keepdims=True)
    return torch.from_numpy(series[..., None]), torch.from_numpy(labels.astype(np.int64))


def trend_sine_walk_splits(
    num_examples: int,
    length: int,
    seed: int = 0,
    noise: float = 0.1,
    normalize: bool = True,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> SequenceSplits:
    """Trend/sine/walk splits, each balanced; the memoryless baseline is chance, accuracy 1/3."""
    train, val, test = _draw_splits(
        num_examples, seed, val_fraction, test_fraction,
        lambda generator, count: trend_sine_walk(count, length, generator, noise, normalize),
    )
    return SequenceSplits(
        name="trend-sine-walk",
        kind="classification",
        train=train, val=val, test=test,
        input_size=1, output_size=3, classes=list(TREND_SINE_WALK_CLASSES),
        memoryless_baseline=1 / 3,
        baseline_metric="accuracy",
    )
