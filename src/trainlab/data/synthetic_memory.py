"""Memory tasks: the copy task and the adding problem, and the score of a model with no memory."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch

from trainlab.data.synthetic_splits import (
    Pair,
    Seed,
    SequenceSplits,
    _draw_splits,
    _split_sizes,
    _streams,
)

# A split may only own so few possible copy sequences: with `distinct * share` >= 20 the chance that
# its share of the hash range holds none at all is (1 - share) ** distinct <= e**-20.
_MIN_SEQUENCES_PER_SPLIT = 20


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
