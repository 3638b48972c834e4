"""Synthetic diagnostic tasks: memory (copy, adding), capacity (polynomial), shape (trend/sine/walk).

Every generator is seeded and vectorised (no Python loop per example): the same seed gives the same
tensors, and 10,000 sequences of length 1,000 take a fraction of a second. Train, validation and
test are drawn from three independent streams spawned from one seed (`numpy.random.SeedSequence`).

Each task comes twice: a plain function with explicit arguments that returns `(inputs, targets)`
for notebooks (`adding_problem(1000, length=200, seed=0)`), and a `*_splits` function that returns
`SequenceSplits`, which the registered builtin datasets (`copy`, `adding`, `adding-uniform`,
`polynomial`, `trend-sine-walk`) fill from a `DataConfig`.

`memoryless_baseline` is the score of the best predictor that never looks at the input values: it
may know the position in the sequence, not what came before. A recurrent model that does no better
has learnt nothing about memory; the figure of each task is derived in its function's docstring.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.errors import TrainlabError

Pair = tuple[torch.Tensor, torch.Tensor]
Seed = int | np.random.Generator

TREND_SINE_WALK_CLASSES = ["trend", "sine", "walk"]
# A split may only own so few possible copy sequences: with `distinct * share` >= 20 the chance that
# its share of the hash range holds none at all is (1 - share) ** distinct <= e**-20.
_MIN_SEQUENCES_PER_SPLIT = 20
# Argument names of the plain functions -> the config keys that feed them, for one-line errors.
_CONFIG_KEYS = {
    "`delay`": "data.sequence_length",
    "`length`": "data.sequence_length",
    "`num_examples`": "data.num_examples",
    "`alphabet_size`": "data.alphabet_size",
    "`seed`": "data.split_seed",
}


@dataclass(frozen=True)
class SequenceSplits:
    """Inputs and targets per split of a synthetic task; `val` is None without a validation share.

    Attributes:
        kind: "classification" (one class per sequence), "regression" (one value per example) or
            "sequence-labelling" (one class per time step).
        input_size: features per step, or the vocabulary size when inputs are int64 tokens.
        output_size: number of classes, or 1 for regression.
        classes: class names; empty for regression.
        memoryless_baseline: score of the best predictor that ignores the inputs (see module doc),
            in `baseline_metric`: "cross_entropy" (nats per step), "mse" or "accuracy".
        irreducible_error: score of the true function where it is known (the noise floor).
    """

    name: str
    kind: Literal["classification", "regression", "sequence-labelling"]
    train: Pair
    val: Pair | None
    test: Pair
    input_size: int
    output_size: int
    classes: list[str]
    memoryless_baseline: float
    baseline_metric: Literal["cross_entropy", "mse", "accuracy"]
    irreducible_error: float | None = None

    def limited(self, limit: int | None) -> SequenceSplits:
        """The first `limit` examples of each split (quick trials; examples are drawn i.i.d.)."""
        if limit is None:
            return self

        def head(pair: Pair | None) -> Pair | None:
            return None if pair is None else (pair[0][:limit], pair[1][:limit])

        return replace(self, train=head(self.train), val=head(self.val), test=head(self.test))

    def summary(self) -> str:
        sizes = [f"train {len(self.train[1])}"]
        if self.val is not None:
            sizes.append(f"val {len(self.val[1])}")
        sizes.append(f"test {len(self.test[1])}")
        inputs = self.train[0]
        if inputs.dtype == torch.int64:
            shape = f"{inputs.shape[1]} tokens (vocabulary {self.input_size})"
        else:
            shape = "x".join(str(size) for size in inputs.shape[1:])
        outputs = f" into {self.output_size} classes" if self.classes else ""
        return (
            f"{self.name}: {', '.join(sizes)}; inputs {shape}; {self.kind}{outputs}; "
            f"memoryless {self.baseline_metric} {self.memoryless_baseline:.4g}"
        )


# Copy task ------------------------------------------------------------------------------------------


def copy_task(
    num_examples: int, delay: int, seed: Seed, n_symbols: int = 10, alphabet_size: int = 8
) -> Pair:
    """The copy task in Arjovsky et al. (2016)'s form of Hochreiter & Schmidhuber (1997)'s problem.

    Tokens: 0 is the blank, 1..alphabet_size the symbols, alphabet_size + 1 the delimiter. Each input
    is `n_symbols` uniform random symbols, `delay - 1` blanks, the delimiter, then `n_symbols` blanks;
    the target is blank everywhere except the last `n_symbols` steps, which repeat the symbols. So
    every symbol is recalled `delay + n_symbols` steps after it was shown.

    Returns:
        inputs and targets, int64 (num_examples, delay + 2 * n_symbols).
    """
    _check_copy(delay, n_symbols, alphabet_size)
    symbols = np.random.default_rng(seed).integers(1, alphabet_size + 1, (num_examples, n_symbols))
    return _copy_sequences(symbols, delay, alphabet_size)


def copy_memoryless_cross_entropy(delay: int, n_symbols: int = 10, alphabet_size: int = 8) -> float:
    """Per-step cross-entropy (nats) of the best predictor that knows the step but not the inputs.

    It predicts a blank with certainty for the first `delay + n_symbols` steps (loss 0) and a uniform
    guess over the symbols for the last `n_symbols` (loss log(alphabet_size) each), so the mean over
    the `delay + 2 * n_symbols` steps is n_symbols * log(alphabet_size) / (delay + 2 * n_symbols).
    No memoryless predictor does better: given the step, each target is independent of anything it sees.
    """
    return n_symbols * math.log(alphabet_size) / (delay + 2 * n_symbols)


def copy_splits(
    num_examples: int,
    delay: int,
    seed: int = 0,
    n_symbols: int = 10,
    alphabet_size: int = 8,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> SequenceSplits:
    """Copy-task splits that never share a symbol sequence, whatever the alphabet and length.

    Independent streams alone would repeat short sequences across splits, so the space of symbol
    sequences itself is partitioned: a fixed hash of a sequence's content puts it in train,
    validation or test with probabilities equal to the split fractions (the same for every seed),
    and each split draws uniformly among its own sequences.
    """
    _check_copy(delay, n_symbols, alphabet_size)
    sizes = _split_sizes(num_examples, val_fraction, test_fraction)
    shares = (1 - val_fraction - test_fraction, val_fraction, test_fraction)
    distinct = alphabet_size**n_symbols
    smallest_share = min(share for share, size in zip(shares, sizes) if size)
    if distinct * smallest_share < _MIN_SEQUENCES_PER_SPLIT:
        raise ValueError(
            f"only {distinct} distinct symbol sequences (`alphabet_size` ** n_symbols = "
            f"{alphabet_size} ** {n_symbols}): too few to keep validation and test sequences out of "
            f"training; raise `alphabet_size` or n_symbols"
        )
    bounds = (0.0, shares[0], shares[0] + shares[1], 1.0)
    symbols = (
        _symbols_in_share(rng, size, n_symbols, alphabet_size, low, high) if size else None
        for size, rng, low, high in zip(sizes, _streams(seed), bounds[:-1], bounds[1:])
    )
    train, val, test = (
        None if rows is None else _copy_sequences(rows, delay, alphabet_size) for rows in symbols
    )
    return SequenceSplits(
        name="copy", kind="sequence-labelling",
        train=train, val=val, test=test,
        input_size=alphabet_size + 2,  # blank, symbols, delimiter
        output_size=alphabet_size + 1,  # the delimiter is never a target
        classes=["blank"] + [str(symbol) for symbol in range(1, alphabet_size + 1)],
        memoryless_baseline=copy_memoryless_cross_entropy(delay, n_symbols, alphabet_size),
        baseline_metric="cross_entropy",
        irreducible_error=0.0,
    )


def _check_copy(delay: int, n_symbols: int, alphabet_size: int) -> None:
    if delay < 1:
        raise ValueError(f"`delay` ({delay}) must be >= 1 (the delimiter takes one step of it)")
    if n_symbols < 1:
        raise ValueError(f"n_symbols ({n_symbols}) must be >= 1")
    if alphabet_size < 2:
        raise ValueError(
            f"`alphabet_size` ({alphabet_size}) must be >= 2: one symbol leaves nothing to remember"
        )


def _copy_sequences(symbols: np.ndarray, delay: int, alphabet_size: int) -> Pair:
    count, n_symbols = symbols.shape
    inputs = np.zeros((count, delay + 2 * n_symbols), dtype=np.int64)  # 0: blank
    targets = np.zeros_like(inputs)
    inputs[:, :n_symbols] = symbols
    inputs[:, n_symbols + delay - 1] = alphabet_size + 1  # the delimiter: recall now
    targets[:, -n_symbols:] = symbols
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def _symbols_in_share(
    generator: np.random.Generator, count: int, n_symbols: int, alphabet_size: int, low: float, high: float
) -> np.ndarray:
    """`count` uniform symbol rows whose content hash lies in [low, high): one split's own sequences."""
    kept: list[np.ndarray] = []
    found = 0
    while found < count:  # rejection sampling: about count / (high - low) rows in all
        draws = int((count - found) / (high - low) * 1.1) + 64
        rows = generator.integers(1, alphabet_size + 1, (draws, n_symbols))
        position = _content_hash(rows)
        rows = rows[(position >= low) & (position < high)]
        kept.append(rows)
        found += len(rows)
    return np.concatenate(kept)[:count]


def _content_hash(rows: np.ndarray) -> np.ndarray:
    """A number in [0, 1) per row, fixed by its content and spread uniformly (splitmix64 mixing)."""
    state = np.zeros(len(rows), dtype=np.uint64)
    for column in rows.T.astype(np.uint64):
        state = _splitmix64(state + column + np.uint64(0x9E3779B97F4A7C15))  # uint64 arithmetic wraps
    return (state >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _splitmix64(state: np.ndarray) -> np.ndarray:
    state = (state ^ (state >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    state = (state ^ (state >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state ^ (state >> np.uint64(31))


# Adding problem -------------------------------------------------------------------------------------


def adding_problem(
    num_examples: int, length: int, seed: Seed, variant: Literal["uniform", "original"] = "uniform"
) -> Pair:
    """The adding problem: inputs are (value, marker) pairs; the target is the sum of the marked values.

    variant="uniform" (Le et al. 2015; Arjovsky et al. 2016): values uniform in [0, 1]; markers 0
    except two 1s, one uniform in the first half of the steps [0, length // 2), one uniform in the
    second half.

    variant="original" (Hochreiter & Schmidhuber 1997, section 5.4, Experiment 4): values uniform in
    [-1, 1]; the first marked pair is one of the first ten; the second is one of the first
    `length // 2 - 1` pairs still unmarked (so both lie in the first half); the first and last pairs
    carry marker -1 (start and end signals) unless marked; a marked first pair has its value set to
    0. Two departures, both documented choices: every sequence has exactly `length` steps (the paper
    draws lengths in [T, T + T/10]), and the target is the sum X1 + X2 itself, not the paper's
    0.5 + (X1 + X2) / 4 (its success criterion, absolute error < 0.04, is < 0.16 on the sum).

    Returns:
        inputs float32 (num_examples, length, 2) as (value, marker) and targets float32 (num_examples,).
    """
    generator = np.random.default_rng(seed)
    rows = np.arange(num_examples)
    half = length // 2
    markers = np.zeros((num_examples, length), dtype=np.float32)
    if variant == "uniform":
        if length < 2:
            raise ValueError(f"`length` ({length}) must be >= 2: one marker in each half")
        values = generator.random((num_examples, length), dtype=np.float32)
        first = generator.integers(0, half, num_examples)
        second = generator.integers(half, length, num_examples)
    elif variant == "original":
        if length < 20:
            raise ValueError(f"`length` ({length}) must be >= 20 for the original adding problem")
        values = 2 * generator.random((num_examples, length), dtype=np.float32) - 1
        first = generator.integers(0, 10, num_examples)
        # The k-th of the first half - 1 unmarked pairs: positions 0..half-1 without `first`.
        second = generator.integers(0, half - 1, num_examples)
        second += second >= first
        markers[:, [0, -1]] = -1.0
        values[:, 0] = np.where((first == 0) | (second == 0), 0.0, values[:, 0])
    else:
        raise ValueError(f"variant must be 'uniform' or 'original', got {variant!r}")
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    inputs = np.stack([values, markers], axis=-1)
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def adding_memoryless_mse(length: int, variant: Literal["uniform", "original"] = "uniform") -> float:
    """Mean squared error of the best prediction that ignores the inputs: the expected sum.

    Its error is the variance of the sum of the two marked values. Uniform variant: two independent
    U[0, 1] values, 2 * 1/12 = 1/6 (predicting 1.0). Original variant: the prediction is 0; each
    U[-1, 1] value has E[X**2] = 1/3, but the first pair's value is 0 when it is marked, which happens
    with probability p = 1/10 (the first marker) + 9/10 * 1/(length // 2 - 1) (the second), so the
    error is (2 - p) / 3 (0.600 at length 20, about 0.621 at length 50).
    """
    if variant == "uniform":
        return 1 / 6
    first_pair_marked = 0.1 + 0.9 / (length // 2 - 1)
    return (2 - first_pair_marked) / 3


def adding_splits(
    num_examples: int,
    length: int,
    seed: int = 0,
    variant: Literal["uniform", "original"] = "uniform",
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> SequenceSplits:
    """Adding-problem splits from independent streams (real values: no sequence repeats)."""
    train, val, test = _draw_splits(
        num_examples, seed, val_fraction, test_fraction,
        lambda generator, count: adding_problem(count, length, generator, variant),
    )
    return SequenceSplits(
        name="adding" if variant == "original" else "adding-uniform",
        kind="regression",
        train=train, val=val, test=test,
        input_size=2, output_size=1, classes=[],
        memoryless_baseline=adding_memoryless_mse(length, variant),
        baseline_metric="mse",
        irreducible_error=0.0,
    )


# Polynomial regression ------------------------------------------------------------------------------


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


# Trend / sine / random walk -------------------------------------------------------------------------


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


# Splits and the registered datasets -----------------------------------------------------------------


def _split_sizes(num_examples: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    if not (0 <= val_fraction and 0 < test_fraction and val_fraction + test_fraction < 1):
        raise ValueError(
            f"need 0 <= val_fraction, 0 < test_fraction and a sum < 1 (got {val_fraction}, {test_fraction})"
        )
    test = round(num_examples * test_fraction)
    val = round(num_examples * val_fraction)
    if test < 1 or num_examples - val - test < 1:
        raise ValueError(f"`num_examples` ({num_examples}) leaves no training or no test examples")
    return num_examples - val - test, val, test


def _streams(seed: int) -> list[np.random.Generator]:
    """Independent generators for train, validation and test."""
    if seed < 0:
        raise ValueError(f"`seed` ({seed}) must be >= 0")
    return [np.random.default_rng(stream) for stream in np.random.SeedSequence(seed).spawn(3)]


def _draw_splits(
    num_examples: int,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    draw: Callable[[np.random.Generator, int], Pair],
) -> tuple[Pair, Pair | None, Pair]:
    sizes = _split_sizes(num_examples, val_fraction, test_fraction)
    train, val, test = (draw(rng, size) if size else None for size, rng in zip(sizes, _streams(seed)))
    return train, val, test


def _from_config(name: str, data: DataConfig, build: Callable[[], SequenceSplits]) -> SequenceSplits:
    """Build a task's splits; an argument error becomes one line naming the config key to change."""
    try:
        splits = build()
    except ValueError as error:
        message = str(error)
        for argument, key in _CONFIG_KEYS.items():
            message = message.replace(argument, key)
        raise TrainlabError(f"--data {name}: {message}") from None
    return splits.limited(data.limit)


@registry.datasets.register(
    "copy", "copy task: recall 10 symbols after data.sequence_length steps", task="sequence-classification"
)
def copy_dataset(data: DataConfig) -> SequenceSplits:
    return _from_config("copy", data, lambda: copy_splits(
        data.num_examples, data.sequence_length, data.split_seed, alphabet_size=data.alphabet_size,
        val_fraction=data.val_fraction, test_fraction=data.test_fraction,
    ))


@registry.datasets.register(
    "adding", "adding problem, Hochreiter & Schmidhuber 1997 (values in [-1, 1])",
    task="sequence-classification",
)
def adding_dataset(data: DataConfig) -> SequenceSplits:
    return _from_config("adding", data, lambda: adding_splits(
        data.num_examples, data.sequence_length, data.split_seed, "original",
        data.val_fraction, data.test_fraction,
    ))


@registry.datasets.register(
    "adding-uniform", "adding problem, values in [0, 1], one marker per half (Le et al. 2015)",
    task="sequence-classification",
)
def adding_uniform_dataset(data: DataConfig) -> SequenceSplits:
    return _from_config("adding-uniform", data, lambda: adding_splits(
        data.num_examples, data.sequence_length, data.split_seed, "uniform",
        data.val_fraction, data.test_fraction,
    ))


@registry.datasets.register(
    "polynomial", "noisy sin(pi x) on [-1, 1] for polynomial fits (noise: data.noise)", task="regression"
)
def polynomial_dataset(data: DataConfig) -> SequenceSplits:
    return _from_config("polynomial", data, lambda: polynomial_splits(
        data.num_examples, data.split_seed, data.noise,
        val_fraction=data.val_fraction, test_fraction=data.test_fraction,
    ))


@registry.datasets.register(
    "trend-sine-walk", "classify z-normalised sequences: linear trend, sine or random walk",
    task="sequence-classification",
)
def trend_sine_walk_dataset(data: DataConfig) -> SequenceSplits:
    return _from_config("trend-sine-walk", data, lambda: trend_sine_walk_splits(
        data.num_examples, data.sequence_length, data.split_seed, data.noise,
        val_fraction=data.val_fraction, test_fraction=data.test_fraction,
    ))


def load_synthetic_source(data: DataConfig) -> SequenceSplits:
    """`--data NAME` for the sequence-classification task: a synthetic task, never a file."""
    names = [entry.name for entry in registry.datasets.entries() if entry.task == "sequence-classification"]
    if data.source not in names:
        raise TrainlabError(
            f"--data {data.source}: sequence-classification reads no files; choose a synthetic task: "
            f"{', '.join(names)}"
        )
    return registry.datasets.get(data.source)(data)
