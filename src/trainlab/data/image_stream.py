"""Image folders read lazily: files listed once, decoded whole only when they fit a memory budget.

A folder's splits start as `FileImages`: paths that index, slice and mask like a tensor (so the
split, class and limit options work on them unchanged) and are decoded only when read. Then
`held_or_streamed` decides, by `data.in_memory`:
- held: every image decoded once into a uint8 tensor, batched by index slicing (data/batching.py);
- streamed: `StreamingBatches` decodes, augments and batches each batch in DataLoader worker
  processes while the model trains; only a few batches are in memory at a time.

`auto` holds the images when, decoded, they fit a quarter of the memory available when the run
starts (training also holds a shuffled copy of the training images each epoch, counted too).

A streamed batch is a pure function of (seed, epoch, batch index): its examples come from the same
seeded order as `TensorBatches`, its augmentation from a generator seeded by all three, whichever
worker decodes it, so a resumed run sees exactly the batches of an uninterrupted one. Under DDP
each rank decodes only its own part of each batch (`rank_parts`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from trainlab.config import ImageDataConfig
from trainlab.data.image_folder import (
    decode_or_reason,
    in_threads,
    readable,
    refuse_or_warn,
    stack_channels_first,
    unreadable,
)
from trainlab.data.splits import ClassificationSplits
from trainlab.errors import TrainlabError

BUDGET_SHARE = 4  # auto holds images that fit 1/BUDGET_SHARE of the memory available
MAX_AUTO_WORKERS = 4


@dataclass(frozen=True)
class FileImages:
    """Images by file: `shape` (N, C, H, W) as they will be decoded, every one resized to `size`
    and given `channels` (1 or 3). Indexing with a slice, an index array or a boolean mask gives the
    chosen files, still undecoded; `decode()` reads them."""

    paths: np.ndarray  # of str
    size: tuple[int, int]  # (height, width)
    channels: int

    @classmethod
    def of(cls, paths: Sequence[Path | str], size: tuple[int, int], channels: int) -> FileImages:
        return cls(np.array([str(path) for path in paths], dtype=object), tuple(size), channels)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.paths), self.channels, *self.size)

    @property
    def decoded_bytes(self) -> int:
        return math.prod(self.shape)  # uint8

    def __getitem__(self, index: Any) -> FileImages:
        if isinstance(index, torch.Tensor):
            index = index.numpy()
        if isinstance(index, int | np.integer):
            index = slice(index, index + 1 or None)
        return replace(self, paths=self.paths[index])

    def with_channels(self, channels: int) -> FileImages:
        return replace(self, channels=channels)

    def read(self) -> list[np.ndarray | str]:
        """Every image decoded ((H, W) or (H, W, 3)) or the reason it cannot be, in order."""
        grayscale = self.channels == 1
        return in_threads(lambda path: decode_or_reason(Path(path), self.size, grayscale), list(self.paths))

    def decode(self) -> torch.Tensor:
        """The images as uint8 (N, C, H, W); an unreadable one (already reported when its split
        was read) is black, so positions still match the labels."""
        blank = np.zeros((*self.size, 3) if self.channels == 3 else self.size, dtype=np.uint8)
        arrays = [blank if isinstance(result, str) else result for result in self.read()]
        if not arrays:
            return torch.empty(self.shape, dtype=torch.uint8)
        return torch.from_numpy(stack_channels_first(arrays, self.channels))


def materialize(images: torch.Tensor | FileImages) -> torch.Tensor:
    """Images as a tensor, decoding them if they are files."""
    return images.decode() if isinstance(images, FileImages) else images


def memory_available() -> int | None:
    """Bytes of memory the system can give without swapping (Linux MemAvailable), else None."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def held_or_streamed(splits: ClassificationSplits, data: ImageDataConfig) -> ClassificationSplits:
    """The splits of a folder with their images decoded into tensors, or left as files to stream,
    as `data.in_memory` (auto, True or False) decides; the decision and its reason go in the summary."""
    in_memory, strict = data.in_memory, data.strict
    pairs = [pair for pair in (splits.train, splits.val, splits.test) if pair is not None]
    decoded = sum(pair[0].decoded_bytes for pair in pairs)
    needed = decoded + splits.train[0].decoded_bytes  # and the training images' shuffled copy
    sizes = f"{_size(decoded)} decoded, {_size(needed)} while training"
    if in_memory == "auto":
        available = memory_available()
        budget = None if available is None else available // BUDGET_SHARE
        hold = budget is None or needed <= budget
        within = ("no memory figure from the system" if budget is None else
                  f"{'within' if hold else 'over'} data.in_memory=auto's budget of {_size(budget)} "
                  f"(a quarter of the {_size(available)} available)")
        reason = f"{sizes}, {within}"
    else:
        hold, reason = bool(in_memory), f"data.in_memory={str(in_memory).lower()}; {sizes}"
    if not hold:
        workers = streaming_workers(data)
        return replace(splits, storage=f"images streamed from disk by {workers} worker process"
                                       f"{'es' if workers > 1 else ''}: {reason}")

    def decoded_pair(pair: tuple | None) -> tuple | None:
        if pair is None:
            return None
        results = pair[0].read()
        for path, reason in unreadable(pair[0].paths, results):
            refuse_or_warn(path, reason, strict)
        arrays, kept = readable(results)
        if not arrays:
            raise TrainlabError(f"{Path(pair[0].paths[0]).parent.parent}: no readable images")
        return torch.from_numpy(stack_channels_first(arrays, pair[0].channels)), pair[1][torch.from_numpy(kept)]

    return replace(splits, train=decoded_pair(splits.train), val=decoded_pair(splits.val),
                   test=decoded_pair(splits.test), storage=f"images held in memory: {reason}")


def _size(count: int) -> str:
    if count >= 1e9:
        return f"{count / 1e9:.2f} GB"
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.1f} kB"


def streaming_workers(data: ImageDataConfig) -> int:
    """Decoding processes beside training: `data.workers`, or by default one core fewer than the
    machine has (one is left to the model), from 1 to MAX_AUTO_WORKERS."""
    if data.workers != "auto":
        return data.workers
    return max(1, min(MAX_AUTO_WORKERS, (os.cpu_count() or 1) - 1))


class StreamingBatches:
    """Batches of images read from their files by `workers` DataLoader processes; with `shuffle`,
    a new order each epoch (the same orders as `TensorBatches`). `transform(images, generator)`
    (augmentation and normalisation) runs in the workers. A file that cannot be decoded is left out
    of its batch with a warning, or is an error under `strict`."""

    def __init__(self, images: FileImages, labels: torch.Tensor, batch_size: int, shuffle: bool = False,
                 seed: int = 0, transform: Callable | None = None, workers: int = 1, strict: bool = False,
                 pin_memory: bool = False):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.transform, self.workers, self.strict, self.pin_memory = transform, workers, strict, pin_memory
        self.epoch = 0
        self._reported: set[str] = set()

    @property
    def num_examples(self) -> int:
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(self.num_examples / self.batch_size)

    def batch_indices(self) -> list[torch.Tensor]:
        """The example indices of each batch of the current epoch, in order."""
        order = torch.arange(self.num_examples)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.num_examples, generator=generator)
        return list(torch.split(order, self.batch_size))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        yield from self._read(self.batch_indices())

    def rank_parts(self, rank: int, world_size: int) -> Iterator[tuple[tuple[torch.Tensor, ...], int, bool]]:
        """This rank's part of each batch (the r-th of `torch.tensor_split`'s parts, as
        `ShardedBatches` cuts a whole batch) with the whole batch's size, decoding only that part.
        A rank without examples in a batch gets its first example as a stand-in, flagged False."""
        wholes = self.batch_indices()
        parts = [torch.tensor_split(whole, world_size)[rank] for whole in wholes]
        counted = [len(part) > 0 for part in parts]
        chosen = [part if own else whole[:1] for part, whole, own in zip(parts, wholes, counted)]
        for batch, whole, own in zip(self._read(chosen), wholes, counted):
            yield batch, len(whole), own

    def _read(self, batches: list[torch.Tensor]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        reader = _BatchReader(self.images, self.labels, batches, self.transform, (self.seed, self.epoch))
        loader = DataLoader(reader, batch_size=None, num_workers=self.workers, pin_memory=self.pin_memory)
        for images, labels, failures in loader:
            for path, reason in failures:
                if path not in self._reported:
                    self._reported.add(path)
                    refuse_or_warn(Path(path), reason, self.strict)
            if len(labels):
                yield images, labels


class _BatchReader(Dataset):
    """Item b is batch b: its files decoded, stacked, transformed with a generator seeded by
    (seed, epoch, b); with the labels of the images read and the (path, reason) of those not."""

    def __init__(self, images: FileImages, labels: torch.Tensor, batches: list[torch.Tensor],
                 transform: Callable | None, seed_and_epoch: tuple[int, int]):
        self.images, self.labels, self.batches = images, labels, batches
        self.transform, self.seed_and_epoch = transform, seed_and_epoch

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, list[tuple[str, str]]]:
        chosen = self.batches[index]
        files = self.images[chosen]
        grayscale = files.channels == 1
        results = [decode_or_reason(Path(path), files.size, grayscale) for path in files.paths]
        failures = [(str(path), reason) for path, reason in unreadable(files.paths, results)]
        arrays, kept = readable(results)
        labels = self.labels[chosen][torch.from_numpy(kept)]
        if not arrays:
            return torch.empty((0, *files.shape[1:]), dtype=torch.uint8), labels, failures
        images = torch.from_numpy(stack_channels_first(arrays, files.channels))
        if self.transform is not None:
            seed = np.random.SeedSequence([*self.seed_and_epoch, index]).generate_state(1)[0]
            images = self.transform(images, torch.Generator().manual_seed(int(seed)))
        return images, labels, failures
