"""Batches of variable-length token sequences, padded per batch, with optional length bucketing.

Sequences are stored packed (one flat tensor of ids plus offsets), so a split of 10k reviews is two
tensors rather than 10k objects, and a batch is padded by one vectorised gather.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from trainlab.data.tokenizers import PAD_ID

# Bucketing sorts by length inside chunks of this many batches: enough neighbours of similar
# length to cut most padding, few enough that a batch's companions still change every epoch.
CHUNK_BATCHES = 50


@dataclass(frozen=True)
class PackedSequences:
    """Token sequences of different lengths in one flat tensor.

    Sequence `i` is `tokens[offsets[i]:offsets[i + 1]]`.

    Attributes:
        tokens: (total,) int64, every sequence one after another.
        offsets: (N + 1,) int64, starting at 0 and ending at `total`.
    """

    tokens: torch.Tensor
    offsets: torch.Tensor

    @classmethod
    def from_flat(
        cls, tokens: np.ndarray | torch.Tensor, lengths: Sequence[int] | np.ndarray
    ) -> PackedSequences:
        """Sequences given as all their tokens concatenated plus the length of each."""
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = torch.as_tensor(tokens, dtype=torch.int64)
        if offsets[-1] != len(tokens):
            raise ValueError(f"lengths add up to {offsets[-1]}, but there are {len(tokens)} tokens")
        return cls(tokens, torch.from_numpy(offsets))

    @classmethod
    def from_sequences(cls, sequences: Iterable[Sequence[int] | torch.Tensor]) -> PackedSequences:
        """Pack a list of id sequences (lists, arrays or 1-D tensors)."""
        parts = [torch.as_tensor(sequence, dtype=torch.int64).reshape(-1) for sequence in sequences]
        flat = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.int64)
        return cls.from_flat(flat, [len(part) for part in parts])

    @property
    def lengths(self) -> torch.Tensor:
        """(N,) int64."""
        return self.offsets[1:] - self.offsets[:-1]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.tokens[self.offsets[index] : self.offsets[index + 1]]

    def head(self, count: int) -> PackedSequences:
        """The first `count` sequences."""
        offsets = self.offsets[: count + 1]
        return PackedSequences(self.tokens[: int(offsets[-1])], offsets)

    def pad(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The sequences at `indices`, padded with `<pad>` (0) to the longest of them.

        Returns:
            tokens (B, L_max) int64 and lengths (B,) int64.
        """
        starts = self.offsets[indices]
        lengths = self.offsets[indices + 1] - starts
        width = int(lengths.max()) if len(indices) else 0
        positions = torch.arange(width)
        inside = positions < lengths[:, None]  # (B, L_max)
        # Positions past a sequence's end read some valid token (clamped) and are then masked.
        gather_at = (starts[:, None] + positions).clamp_(max=max(len(self.tokens) - 1, 0))
        return torch.where(inside, self.tokens[gather_at], PAD_ID), lengths


class PaddedBatches:
    """Iterate `(tokens (B, L_max) int64, lengths (B,) int64, labels (B,))`, padded with 0 per batch.

    With `shuffle`, the order of epoch `e` depends only on `(seed, e)` (as for `TensorBatches`), so
    a resumed run sees exactly the batches of an uninterrupted one. With `shuffle` and `bucket`,
    each epoch shuffles the examples, cuts them into chunks of `chunk_batches` batches, sorts each
    chunk by length, cuts it into batches and shuffles the order of all the batches: batches hold
    similar lengths (little padding) but change from epoch to epoch. Without `shuffle` (evaluation)
    the examples keep their order and `bucket` has no effect.

    Args:
        sequences: packed sequences, or a list of id sequences (packed on the way in).
        labels: (N,) targets, one per sequence.
        batch_size: examples per batch; the last batch may be smaller unless `drop_last`.
    """

    def __init__(
        self,
        sequences: PackedSequences | Sequence[Sequence[int] | torch.Tensor],
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        bucket: bool = True,
        drop_last: bool = False,
        chunk_batches: int = CHUNK_BATCHES,
    ):
        if not isinstance(sequences, PackedSequences):
            sequences = PackedSequences.from_sequences(sequences)
        if len(labels) != len(sequences):
            raise ValueError(f"{len(sequences)} sequences but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if chunk_batches < 1:
            raise ValueError(f"chunk_batches must be >= 1, got {chunk_batches}")
        self.sequences = sequences
        self.labels = labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.bucket = bucket
        self.drop_last = drop_last
        self.chunk_batches = chunk_batches
        self.epoch = 0

    @property
    def num_examples(self) -> int:
        return len(self.sequences)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_examples // self.batch_size
        return math.ceil(self.num_examples / self.batch_size)

    def batch_indices(self) -> list[torch.Tensor]:
        """The example indices of each batch of the current epoch, in the order they are served."""
        if not self.shuffle:
            order = torch.arange(self.num_examples)
        else:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.num_examples, generator=generator)
        if self.drop_last:
            # The examples left over are a random few (with shuffle), not the longest of a bucket.
            order = order[: len(self) * self.batch_size]
        if not (self.shuffle and self.bucket):
            return list(order.split(self.batch_size))
        lengths = self.sequences.lengths
        batches: list[torch.Tensor] = []
        # A chunk is a whole number of batches, so only the very last batch can be short.
        for chunk in order.split(self.chunk_batches * self.batch_size):
            by_length = chunk[torch.argsort(lengths[chunk], stable=True)]
            batches.extend(by_length.split(self.batch_size))
        batch_order = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[index] for index in batch_order]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        for indices in self.batch_indices():
            tokens, lengths = self.sequences.pad(indices)
            yield tokens, lengths, self.labels[indices]


def padded_positions(lengths: torch.Tensor, batches: Iterable[torch.Tensor]) -> tuple[int, int]:
    """How many `<pad>` positions a batching adds: (padded positions, all positions).

    Args:
        lengths: (N,) length of every sequence.
        batches: the example indices of each batch, e.g. `PaddedBatches.batch_indices()`.
    """
    padded = total = 0
    for indices in batches:
        batch_lengths = lengths[indices]
        positions = len(indices) * int(batch_lengths.max())
        total += positions
        padded += positions - int(batch_lengths.sum())
    return padded, total
