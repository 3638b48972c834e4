"""Synthetic diagnostic tasks: memory (copy, adding), capacity (polynomial), shape (trend/sine/walk).

Every generator is seeded and vectorised (no Python loop per example): the same seed gives the same
tensors, and 10,000 sequences of length 1,000 take a fraction of a second.

Each task comes twice: a plain function with explicit arguments that returns `(inputs, targets)`
for notebooks (`adding_problem(1000, length=200, seed=0)`), and a `*_splits` function that returns
`SequenceSplits`, which the registered builtin datasets (`copy`, `adding`, `adding-uniform`,
`polynomial`, `trend-sine-walk`) fill from a `DataConfig`.

`memoryless_baseline` is the score of the best predictor that never looks at the input values: it
may know the position in the sequence, not what came before. A recurrent model that does no better
has learnt nothing about memory; the figure of each task is derived in its function's docstring.
"""

from __future__ import annotations

from collections.abc import Callable

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.data.synthetic_memory import (
    adding_memoryless_mse,  # noqa: F401  (the notebooks import it from here)
    adding_problem,  # noqa: F401  (the notebooks import it from here)
    adding_splits,
    copy_splits,
)
from trainlab.data.synthetic_polynomial import polynomial_splits
from trainlab.data.synthetic_splits import SequenceSplits
from trainlab.data.synthetic_trend_sine_walk import trend_sine_walk_splits
from trainlab.errors import TrainlabError

# Argument names of the plain functions -> the config keys that feed them, for one-line errors.
_CONFIG_KEYS = {
    "`delay`": "data.sequence_length",
    "`length`": "data.sequence_length",
    "`num_examples`": "data.num_examples",
    "`alphabet_size`": "data.alphabet_size",
    "`seed`": "data.split_seed",
}


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
