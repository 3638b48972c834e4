"""Training throughput of trainlab's Trainer against a hand-written PyTorch loop.

Both train the same model (by default the small CNN of ../shared/PERF.md: conv32-BN-pool-conv64-
BN-pool-fc128-fc10 on 28x28 inputs) from the same initial weights on the same batches with Adam, one
epoch per measurement, interleaved so that machine noise hits both alike. Reported: median samples/s
of each and the ratio to the hand loop. `--channels-last` adds both loops with the model and batches
in NHWC memory order (`train.channels_last=true`).

    python benchmarks/trainer_throughput.py                 # CPU, the figures in benchmarks/README.md
    python benchmarks/trainer_throughput.py --image-size 8 --batch-size 64 --samples 12800
                                                            # digits-sized: per-batch overhead shows most
    python benchmarks/trainer_throughput.py --model resnet20 --in-channels 3 --image-size 32 --channels-last
    python benchmarks/trainer_throughput.py --device cuda   # on a GPU
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from trainlab import registry
from trainlab.config import ScheduleConfig
from trainlab.data import TensorBatches
from trainlab.models import ImageSpec, build_model
from trainlab.models.cnn import SimpleCNN
from trainlab.training import ClassificationTask, Trainer
from trainlab.training.callbacks import (
    Checkpointing,
    EarlyStopping,
    HistoryCSV,
    LearningRateScheduler,
    NaNGuard,
    ProgressDisplay,
)
from trainlab.training.denormals import flush_denormals_to_zero


def hand_written_epoch(model, batches, device, channels_last: bool = False) -> float:
    """The loop people write by hand; returns seconds for one epoch."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    started = time.perf_counter()
    for inputs, targets in batches:
        inputs, targets = inputs.to(device, memory_format=memory_format), targets.to(device)
        loss = F.cross_entropy(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _synchronize(device)
    return time.perf_counter() - started


def trainer_epoch(model, batches, device, with_disk: bool, channels_last: bool = False) -> float:
    """One epoch of Trainer.fit with the callbacks a CLI run uses; returns its seconds."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    callbacks = [
        NaNGuard(),
        LearningRateScheduler(ScheduleConfig(), "train_loss", "min"),
        EarlyStopping("train_loss", "min", restore_best_weights=True),
        ProgressDisplay(quiet=True),
    ]
    with tempfile.TemporaryDirectory() as run_dir:
        if with_disk:
            callbacks += [HistoryCSV(Path(run_dir) / "history.csv"),
                          Checkpointing(Path(run_dir) / "checkpoints", "train_loss", "min")]
        trainer = Trainer(model, ClassificationTask(10), optimizer, max_epochs=1, callbacks=callbacks,
                          device=device, channels_last=channels_last)
        started = time.perf_counter()
        trainer.fit(batches)
        _synchronize(device)
        return time.perf_counter() - started


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    flush_denormals_to_zero()  # as `trainlab train` does before building anything
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--samples", type=int, default=6400)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=28, help="8 for digits-sized inputs")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--model", default="simple_cnn", help="an image model (trainlab list models)")
    parser.add_argument("--in-channels", type=int, default=1)
    parser.add_argument("--channels-last", action="store_true", help="also both loops in NHWC order")
    args = parser.parse_args()
    device = torch.device(args.device)

    torch.manual_seed(0)
    images = torch.randn(args.samples, args.in_channels, args.image_size, args.image_size)
    labels = torch.randint(0, 10, (args.samples,))
    if device.type == "cuda":  # keep data on the GPU like an in-memory dataset would be
        images, labels = images.to(device), labels.to(device)
    batches = TensorBatches(images, labels, batch_size=args.batch_size, shuffle=True, seed=0)
    size = (args.image_size, args.image_size)
    if args.model == "simple_cnn":  # PERF.md's network, whatever simple_cnn's defaults become
        initial = SimpleCNN(args.in_channels, 10, size, channels=[32, 64], hidden_size=128)
    else:
        entry = registry.models.entry(args.model, "image-classification")
        spec = ImageSpec(args.in_channels, args.image_size, args.image_size, 10)
        initial = build_model(entry.config_class(), spec, "image-classification")
    initial = initial.to(device)

    runners = {
        "hand-written loop": lambda model: hand_written_epoch(model, batches, device),
        "Trainer": lambda model: trainer_epoch(model, batches, device, with_disk=False),
        "Trainer + history/checkpoints": lambda model: trainer_epoch(model, batches, device, with_disk=True),
    }
    if args.channels_last:
        runners["hand-written loop, channels_last"] = lambda model: hand_written_epoch(
            model, batches, device, channels_last=True)
        runners["Trainer, channels_last"] = lambda model: trainer_epoch(
            model, batches, device, with_disk=False, channels_last=True)
    for runner in runners.values():  # warm-up: allocator, oneDNN primitives, lazy imports
        runner(copy.deepcopy(initial))
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, runner in runners.items():
            seconds[name].append(runner(copy.deepcopy(initial)))

    reference = args.samples / statistics.median(seconds["hand-written loop"])
    print(f"{args.model}, device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{args.samples} samples of {args.image_size}x{args.image_size}, batch {args.batch_size}, "
          f"{args.repeats} interleaved repeats")
    print("| loop | median samples/s | range | ratio of medians | median of paired ratios |")
    print("|---|---|---|---|---|")
    for name, times in seconds.items():
        rates = sorted(args.samples / t for t in times)
        median = statistics.median(rates)
        # Each repeat ran the loops back to back: the ratio within a repeat cancels slow drifts.
        paired = statistics.median(hand / mine for hand, mine in zip(seconds["hand-written loop"], times))
        print(f"| {name} | {median:,.0f} | {rates[0]:,.0f}-{rates[-1]:,.0f} | "
              f"{median / reference:.3f} | {paired:.3f} |")


if __name__ == "__main__":
    main()
