"""Text loading speed and padding saved by length bucketing, on the IMDB reviews of ../shared/data.

(1) Seconds to load imdb/train.csv (10,000 reviews) as `trainlab train text-classification` does:
    read and check the CSV, split, tokenize, build the vocabulary on the training split, encode
    every split. Timed in one process after a warm-up load (imports and the OS file cache are not
    counted); the median of `--repeats` loads. Target: < 3 s on 2 CPU cores.
(2) Padded positions per epoch at batch size 64 over all 10,000 reviews: random batches padded to
    their longest review, against bucketed batches (`PaddedBatches(bucket=True)`), averaged over
    `--epochs` epochs. Target: bucketing removes >= 60% of the padding.

    python benchmarks/text_loading.py
    python benchmarks/text_loading.py --file path/to/reviews.csv --text-column review --repeats 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from trainlab.config import TextDataConfig
from trainlab.data.sequence_batching import PackedSequences, PaddedBatches, padded_positions
from trainlab.data.text import load_text_source
from trainlab.data.text_files import read_table
from trainlab.data.tokenizers import WordTokenizer

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRAINLAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def time_loading(data: TextDataConfig, repeats: int) -> list[float]:
    load_text_source(data)  # warm-up: imports, file cache
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        load_text_source(data)
        seconds.append(time.perf_counter() - started)
    return seconds


def padding_per_epoch(lengths: torch.Tensor, batch_size: int, epochs: int, **options) -> tuple[float, float]:
    """Mean (padded positions, all positions) per epoch."""
    sequences = PackedSequences.from_flat(torch.zeros(int(lengths.sum()), dtype=torch.int64), lengths.numpy())
    batches = PaddedBatches(sequences, torch.zeros(len(lengths)), batch_size, shuffle=True, seed=0, **options)
    counts = []
    for epoch in range(epochs):
        batches.set_epoch(epoch)
        counts.append(padded_positions(lengths, batches.batch_indices()))
    padded, total = np.mean(counts, axis=0)
    return float(padded), float(total)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=SHARED_DATA / "imdb" / "train.csv")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(2)

    data = TextDataConfig(source=str(args.file), text_column=args.text_column, label_column=args.label_column)
    seconds = time_loading(data, args.repeats)
    splits = load_text_source(data)
    print(f"(1) load + vocabulary, {args.file.name}: median {statistics.median(seconds):.2f} s over "
          f"{args.repeats} loads (range {min(seconds):.2f}-{max(seconds):.2f} s)")
    print(f"    {splits.summary()}")

    raw = read_table(args.file, "utf-8", args.text_column, args.label_column)
    lengths = torch.tensor([max(len(tokens), 1) for tokens in WordTokenizer().tokenize_many(raw.texts)])
    print(f"(2) padding at batch size {args.batch_size}, {len(lengths):,} texts, "
          f"{int(lengths.sum()):,} tokens, mean of {args.epochs} epochs")
    plain_padded, plain_total = padding_per_epoch(lengths, args.batch_size, args.epochs, bucket=False)
    print(f"    random batches:   {plain_padded:12,.0f} padded of {plain_total:12,.0f} positions "
          f"({plain_padded / plain_total:.1%})")
    for chunk_batches in (10, 25, 50, 100):
        padded, total = padding_per_epoch(lengths, args.batch_size, args.epochs, bucket=True,
                                          chunk_batches=chunk_batches)
        print(f"    bucketed, chunks of {chunk_batches:3d} batches: {padded:12,.0f} padded of {total:12,.0f} "
              f"positions ({padded / total:.1%}); padding cut by {1 - padded / plain_padded:.1%}")


if __name__ == "__main__":
    main()
