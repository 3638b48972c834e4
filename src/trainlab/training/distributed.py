"""Data-parallel training with PyTorch DistributedDataParallel, for runs launched by `torchrun`.

`torchrun --nproc_per_node=N -m trainlab train ...` starts N processes with RANK, WORLD_SIZE and
LOCAL_RANK in their environment. Each process (rank) then:

- joins a process group (NCCL when the run is on CUDA GPUs, one GPU per local rank; gloo on CPU);
- builds the same data and the same model from the same seed (DDP also broadcasts rank 0's weights);
- trains on its part of every global batch: `data.batch_size` stays the global batch, which is
  split into WORLD_SIZE nearly equal parts of the same shuffled order a single process would use,
  and each part's loss is weighted by its share of the batch, so the averaged gradient is the
  gradient of the whole batch, as in one process;
- validates on its part of the validation batches; the metric sums, counts and per-example
  predictions are combined across ranks before any callback sees them, so every rank holds the
  same logs and takes the same decisions; rank 0's stop decision is broadcast to be sure.

Only rank 0 writes the run directory and prints. Nothing here runs in a single process.
"""

from __future__ import annotations

import datetime
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from trainlab.errors import TrainlabError

# How long a rank waits for the others (a rank that crashed, a node that never came) before
# failing instead of hanging.
TIMEOUT = datetime.timedelta(minutes=10)


def launched_with_several_processes() -> bool:
    """Whether torchrun (or another launcher setting WORLD_SIZE) started more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank_from_environment() -> int:
    """This process's rank as the launcher set it (0 when there is no launcher)."""
    return int(os.environ.get("RANK", "0"))


@dataclass(frozen=True)
class Distributed:
    """This process's place in the group and the few collective operations training needs."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model as DDP sees it: gradients averaged across ranks during backward."""
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    def shard(self, batches: Any, training: bool) -> ShardedBatches:
        return ShardedBatches(batches, self.rank, self.world_size, training)

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise sum over ranks (a new tensor; the input is left alone)."""
        total = tensor.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total

    def combine_meter(self, meter: Any) -> None:
        """Make `meter` hold every rank's updates: its summed fields are all-reduced and its
        per-batch lists gathered (in rank order), so `meter.compute()` scores the whole split.

        A meter names its fields in `summed` and `gathered` (see training/tasks.py)."""
        if not hasattr(meter, "summed") and not hasattr(meter, "gathered"):
            raise TypeError(f"{type(meter).__name__} does not name its `summed` or `gathered` fields, "
                            "so its results cannot be combined across ranks")
        for name in getattr(meter, "summed", ()):
            value = torch.as_tensor(getattr(meter, name), dtype=torch.float64, device=self.device)
            setattr(meter, name, self.sum(value).cpu())
        gathered = getattr(meter, "gathered", ())
        if gathered:
            local = {name: [_cpu(item) for item in getattr(meter, name)] for name in gathered}
            parts: list[Any] = [None] * self.world_size
            dist.all_gather_object(parts, local)
            for name in gathered:
                setattr(meter, name, [item for part in parts for item in part[name]])

    def agree_to_stop(self, state: Any) -> None:
        """Every rank takes rank 0's stop decision (and reason) for this epoch."""
        decision = [state.should_stop, state.stop_reason]
        dist.broadcast_object_list(decision, src=0)
        state.should_stop, state.stop_reason = decision

    def barrier(self) -> None:
        dist.barrier()


def start(device: torch.device) -> Distributed:
    """Join the process group torchrun set up; NCCL on CUDA (this rank's GPU), gloo on CPU."""
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise TrainlabError(
                f"local rank {local_rank} has no GPU of its own ({torch.cuda.device_count()} visible); "
                "start at most one process per GPU (--nproc_per_node)"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise TrainlabError(f"distributed training runs on CUDA GPUs or on CPUs, not on {device}")
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=TIMEOUT)
    return Distributed(rank, world_size, local_rank, device)


def stop() -> None:
    if dist.is_initialized():
        # A DDP reducer left for the interpreter's exit to free, after its process group is gone,
        # sometimes aborted the process ("terminate called without an active exception").
        gc.collect()
        dist.destroy_process_group()


class ShardedBatches:
    """This rank's part of every batch of `batches`.

    Each global batch (the same on every rank: same data, same seed, same epoch) is split along
    its first dimension with `torch.tensor_split`, so rank r gets the r-th of WORLD_SIZE nearly
    equal parts; tensors without that dimension (a language model's `reset` flag) are passed
    whole. `weight` is the factor that makes the average of the ranks' mean losses equal the
    mean loss of the whole batch: WORLD_SIZE * (part size) / (batch size).

    In training, every rank must take part in every step: a rank whose part of a (final) batch
    smaller than WORLD_SIZE is empty gets the whole batch with weight 0. In evaluation empty
    parts are skipped.

    Batches that read their examples from files (data/image_stream.py) offer `rank_parts`, which
    reads only this rank's part of each batch (a one-example stand-in where it has none).
    """

    def __init__(self, batches: Any, rank: int, world_size: int, training: bool):
        self.batches = batches
        self.rank = rank
        self.world_size = world_size
        self.training = training
        self.weight = 1.0  # of the batch last yielded
        self.counted = True  # whether the batch last yielded holds examples of this rank's own

    @property
    def num_examples(self) -> int:
        return self.batches.num_examples

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.batches, "set_epoch"):
            self.batches.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for part, size, counted in self._parts():
            if not counted:
                if not self.training:
                    continue
                self.weight, self.counted = 0.0, False
                yield part
                continue
            self.weight, self.counted = self.world_size * len(part[0]) / size, True
            yield part

    def _parts(self) -> Iterator[tuple[tuple[torch.Tensor, ...], int, bool]]:
        """(this rank's part of each batch, the batch's size, whether the part has examples); a
        rank without examples in a batch gets a stand-in (the whole batch) to step with."""
        if hasattr(self.batches, "rank_parts"):  # batches read from files: read only this rank's part
            yield from self.batches.rank_parts(self.rank, self.world_size)
            return
        for batch in self.batches:
            size = len(batch[0])
            parts = tuple(
                torch.tensor_split(tensor, self.world_size)[self.rank]
                if tensor.dim() > 0 and len(tensor) == size else tensor
                for tensor in batch
            )
            if len(parts[0]) == 0:
                yield tuple(batch), size, False
            else:
                yield parts, size, True


def _cpu(item: Any) -> Any:
    return item.cpu() if isinstance(item, torch.Tensor) else item
