"""Training speed of a BiLSTM on IMDB reviews with length-bucketed batches, random batches and
batches padded to `max_length`, on the IMDB reviews of ../shared/data.

The data is imdb/train.csv (10,000 reviews) read as `trainlab train text-classification` reads it
(vocabulary of 20,000 built on the training split, reviews cut at 400 tokens); the 7,000 reviews
of the training split are batched three ways, all shuffled with the same seed:
  bucketed:          `PaddedBatches(bucket=True)`, batches of similar lengths padded to their longest;
  random:            `PaddedBatches(bucket=False)`, random batches padded to their longest review;
  pad to max_length: the random batches padded further to 400 tokens.
The model (`RecurrentClassifier`, LSTM, embeddings 128, hidden 128, bidirectional, `last`
pooling) trains with Adam for `--batches` batches of 64 per layout, after `--warmup` untimed ones;
the layouts take turns in `--rounds` rounds so that other load on the machine spreads over all of
them. Samples/s counts every review of the timed batches. Target: bucketed >= 1.5x random.

With `--epochs N`, a model is then trained N epochs on bucketed and on random batches and both are
evaluated on the 2,000 test reviews of the split (bucketing must not cost accuracy).

    python benchmarks/text_bucketing.py
    python benchmarks/text_bucketing.py --batches 30 --packing   # also the packed input on CPU
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from trainlab.config import TextDataConfig
from trainlab.data.sequence_batching import PackedSequences, PaddedBatches
from trainlab.data.text import TextSplits, load_text_source
from trainlab.models.rnn import RecurrentClassifier

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRAINLAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
LAYOUTS = ("bucketed", "random", "pad to max_length")

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def batch_stream(
    sequences: PackedSequences, labels: torch.Tensor, batch_size: int, layout: str, max_length: int
) -> Iterator[Batch]:
    """Training batches of one layout, epoch after epoch, as `(tokens, lengths, labels)`."""
    batches = PaddedBatches(sequences, labels, batch_size, shuffle=True, seed=0, bucket=layout == "bucketed",
                            drop_last=True)
    epoch = 0
    while True:
        batches.set_epoch(epoch)
        for tokens, lengths, batch_labels in batches:
            if layout == "pad to max_length":
                tokens = nn.functional.pad(tokens, (0, max_length - tokens.shape[1]))
            yield tokens, lengths, batch_labels
        epoch += 1


def bilstm(vocab_size: int, packing: str = "never") -> tuple[RecurrentClassifier, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = RecurrentClassifier(vocab_size, 2, "lstm", embedding_dim=128, hidden_size=128, bidirectional=True,
                                packing=packing)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: Batch) -> float:
    tokens, lengths, labels = batch
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(tokens, lengths), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


class Timing:
    """Seconds, reviews and padded positions of the timed batches of one layout."""

    def __init__(self, name: str, vocab_size: int, stream: Iterator[Batch], packing: str = "never"):
        self.name = name
        self.stream = stream
        self.model, self.optimizer = bilstm(vocab_size, packing)
        self.seconds = 0.0
        self.samples = self.positions = self.tokens = 0

    def warm_up(self, batches: int) -> None:
        for _ in range(batches):
            train_step(self.model, self.optimizer, next(self.stream))

    def run(self, batches: int) -> None:
        for _ in range(batches):
            batch = next(self.stream)
            started = time.perf_counter()
            train_step(self.model, self.optimizer, batch)
            self.seconds += time.perf_counter() - started
            tokens, lengths, _ = batch
            self.samples += len(lengths)
            self.positions += tokens.numel()
            self.tokens += int(lengths.sum())

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds


def evaluate_accuracy(model: nn.Module, splits: TextSplits, batch_size: int) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for tokens, lengths, labels in PaddedBatches(splits.test.sequences, splits.test.labels, batch_size):
            correct += int((model(tokens, lengths).argmax(dim=1) == labels).sum())
    model.train()
    return correct / len(splits.test)


def compare_accuracy(splits: TextSplits, args: argparse.Namespace) -> None:
    steps_per_epoch = len(splits.train) // args.batch_size
    print(f"accuracy after {args.epochs} epoch(s) of {steps_per_epoch} batches, {len(splits.test):,} test reviews")
    for layout in ("bucketed", "random"):
        stream = batch_stream(splits.train.sequences, splits.train.labels, args.batch_size, layout,
                              args.max_length)
        model, optimizer = bilstm(len(splits.vocab))
        started = time.perf_counter()
        for _ in range(args.epochs * steps_per_epoch):
            train_step(model, optimizer, next(stream))
        seconds = time.perf_counter() - started
        print(f"    {layout:<10} test accuracy {evaluate_accuracy(model, splits, args.batch_size):.4f} "
              f"({seconds:.0f} s of training)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=SHARED_DATA / "imdb" / "train.csv")
    parser.add_argument("--batches", type=int, default=60, help="timed batches per layout")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches per layout first")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--packing", action="store_true", help="also time random batches packed on CPU")
    parser.add_argument("--epochs", type=int, default=0, help="then compare test accuracy after N epochs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    splits = load_text_source(TextDataConfig(source=str(args.file), max_vocab=20_000, max_length=args.max_length))
    print(splits.summary())
    train = splits.train
    timings = [
        Timing(layout, len(splits.vocab),
               batch_stream(train.sequences, train.labels, args.batch_size, layout, args.max_length))
        for layout in LAYOUTS
    ]
    if args.packing:
        stream = batch_stream(train.sequences, train.labels, args.batch_size, "random", args.max_length)
        timings.append(Timing("random, packed", len(splits.vocab), stream, packing="always"))
    for timing in timings:
        timing.warm_up(args.warmup)
    for round_index in range(args.rounds):
        for timing in timings:
            share = args.batches // args.rounds + (round_index < args.batches % args.rounds)
            timing.run(share)

    print(f"BiLSTM (emb 128, hidden 128), batch {args.batch_size}, {args.batches} timed batches per layout, "
          f"{torch.get_num_threads()} thread(s), torch {torch.__version__}")
    print(f"    {'layout':<18} {'samples/s':>9} {'s/batch':>8} {'padded':>7} {'mean width':>10} {'vs random':>9}")
    baseline = next(timing for timing in timings if timing.name == "random")
    for timing in timings:
        batches = timing.samples / args.batch_size
        print(f"    {timing.name:<18} {timing.samples_per_second:9.1f} {timing.seconds / batches:8.3f} "
              f"{1 - timing.tokens / timing.positions:7.1%} {timing.positions / timing.samples:10.1f} "
              f"{timing.samples_per_second / baseline.samples_per_second:8.2f}x")
    if args.epochs:
        compare_accuracy(splits, args)


if __name__ == "__main__":
    main()
