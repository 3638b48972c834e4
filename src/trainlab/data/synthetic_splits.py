"""`SequenceSplits`, what every synthetic task returns, and how its three splits are drawn.

Train, validation and test are drawn from three independent streams spawned from one seed
(`numpy.random.SeedSequence`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch

Pair = tuple[torch.Tensor, torch.Tensor]
Seed = int | np.random.Generator


@dataclass(frozen=True)
class SequenceSplits:
    """Inputs and targets per split of a synthetic task; `val` is None without a validation share.

    Attributes:
        kind: "classification" (one class per sequence), "regression" (one value per example) or
            "sequence-labelling" (one class per time step).
        input_size: features per step, or the vocabulary size when inputs are int64 tokens.
        output_size: number of classes, or 1 for regression.
        classes: class names; empty for regression.
        memoryless_baseline: score of the best predictor that ignores the inputs (data/synthetic.py),
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
