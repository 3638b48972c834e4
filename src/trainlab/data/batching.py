"""Batches of in-memory tensors by index slicing: no per-sample Python on the hot path."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch


class TensorBatches:
    """Iterate aligned tensors in batches; with `shuffle`, a new order each epoch.

    The order of epoch `e` depends only on `(seed, e)`, so a run resumed at any epoch sees exactly
    the batches an uninterrupted run would have seen.

    Args:
        tensors: tensors with the same first dimension, e.g. inputs (N, C, H, W) and targets (N,).
        batch_size: examples per batch; the last batch may be smaller unless `drop_last`.
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ):
        if not tensors:
            raise ValueError("TensorBatches needs at least one tensor")
        sizes = {len(tensor) for tensor in tensors}
        if len(sizes) != 1:
            raise ValueError(f"tensors must have the same length, got lengths {sorted(sizes)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0

    @property
    def num_examples(self) -> int:
        return len(self.tensors[0])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_examples // self.batch_size
        return math.ceil(self.num_examples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        tensors = self.tensors
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.num_examples, generator=generator)
            # One gather per epoch, then every batch is a contiguous view.
            tensors = tuple(tensor[order] for tensor in tensors)
        for batch_index in range(len(self)):
            start = batch_index * self.batch_size
            yield tuple(tensor[start : start + self.batch_size] for tensor in tensors)


class TransformedBatches:
    """Batches whose inputs (the first tensor) pass through `transform(inputs, generator)`.

    The generator is seeded from `(seed, epoch)` at the start of every epoch, so random
    augmentation is reproducible and a resumed run sees the same augmented batches.
    """

    def __init__(self, batches: TensorBatches, transform: Callable, seed: int = 0):
        self.batches = batches
        self.transform = transform
        self.seed = seed

    @property
    def num_examples(self) -> int:
        return self.batches.num_examples

    def set_epoch(self, epoch: int) -> None:
        self.batches.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        # A different stream from the shuffling one, which uses the same (seed, epoch).
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.batches.epoch + 7_777_777)
        for inputs, *rest in self.batches:
            yield (self.transform(inputs, generator), *rest)
