"""What the recurrent-cell options cost: training samples/s of a text-classifier-sized LSTM with the
fused nn.LSTM, with weight drop (DropConnect on W_hh, still the fused kernel), and on the
step-by-step cell (vanilla, with recurrent dropout, and the CIFG variant).

The model is trainlab's `lstm` text classifier built from config (embeddings 128, hidden 128, one
layer, last-token pooling, 2 classes, 5,000-word vocabulary) on random full-length batches (64 x
100 tokens by default); one measurement is `--steps` training steps (forward, cross-entropy,
backward, Adam) after a warm-up. The settings are measured in rounds, the order rotating each
round, so that a drift in machine load hits all of them alike; reported: the median samples/s of
each setting over the rounds (wall clock), the median CPU-time samples/s (the process's own CPU
seconds: less sensitive to other jobs on a shared machine when it runs on one thread), and each
setting's median ratio to the fused path within a round. The issue asks that weight drop cost
< 10% (ratio > 0.90).

    OMP_NUM_THREADS=1 python benchmarks/recurrent_cells.py                 # the figures in benchmarks/README.md
    OMP_NUM_THREADS=1 python benchmarks/recurrent_cells.py --length 200 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from types import SimpleNamespace

import torch
from torch.nn import functional as F

from trainlab import registry
from trainlab.config import build_config

SETTINGS = {
    "fused nn.LSTM": {},
    "weight drop 0.3 (fused)": {"weight_drop": 0.3},
    "step-by-step cell": {"unrolled": True},
    "step-by-step, recurrent dropout 0.25": {"recurrent_dropout": 0.25},
    "step-by-step, CIFG": {"variant": "cifg"},
}


def build(options: dict, vocab: int) -> torch.nn.Module:
    config = build_config({"task": "text-classification",
                           "model": {"name": "lstm", "embedding_dim": 128, "hidden_size": 128, **options}})
    spec = SimpleNamespace(vocab_size=vocab, num_classes=2, embeddings=None, padding_idx=0)
    torch.manual_seed(0)
    return registry.models.get("lstm", "text-classification")(config.model, spec)


def measure(model: torch.nn.Module, batches: list, steps: int) -> tuple[float, float]:
    """(wall-clock samples/s, CPU-time samples/s) over `steps` training steps."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    def step(tokens, lengths, labels) -> None:
        loss = F.cross_entropy(model(tokens, lengths), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step(*batches[0])  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for index in range(steps):
        step(*batches[index % len(batches)])
    samples = steps * len(batches[0][0])
    return samples / (time.perf_counter() - wall), samples / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--vocab", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=10, help="training steps per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per setting")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, load average {os.getloadavg()[0]:.2f}; batch "
          f"{args.batch_size} x {args.length} tokens, embeddings 128, hidden 128")
    generator = torch.Generator().manual_seed(0)
    batches = [(torch.randint(1, args.vocab, (args.batch_size, args.length), generator=generator),
                torch.full((args.batch_size,), args.length),
                torch.randint(0, 2, (args.batch_size,), generator=generator)) for _ in range(4)]
    models = {name: build(options, args.vocab) for name, options in SETTINGS.items()}
    names = list(SETTINGS)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(args.rounds):
        order = names[round_index % len(names):] + names[: round_index % len(names)]
        measured = {name: measure(models[name], batches, args.steps) for name in order}
        for name in names:
            wall[name].append(measured[name][0])
            cpu[name].append(measured[name][1])
            ratios[name].append(measured[name][1] / measured[names[0]][1])
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    print("| setting | samples/s (wall) | samples/s (CPU time) | ratio to fused (CPU time, median) |")
    print("|---|---|---|---|")
    for name in names:
        print(f"| {name} | {statistics.median(wall[name]):,.0f} | {statistics.median(cpu[name]):,.0f} | "
              f"{statistics.median(ratios[name]):.3f} |")


if __name__ == "__main__":
    main()
