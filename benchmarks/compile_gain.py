"""Whether `torch.compile` pays: the suite's small CNN (cnn-28: 28x28, batch 128, Adam), training
steps per second eager and compiled, in NCHW and in channels_last (trainlab's default for CNNs),
and the time of the first compiled step (the compilation), which a run must win back.

    python benchmarks/compile_gain.py               # the figures in benchmarks/README.md
    python benchmarks/compile_gain.py --steps 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.nn import functional as F

from trainlab.models.cnn import SimpleCNN

BATCH = 128


def measure(memory_format: torch.memory_format, steps: int, repeats: int) -> tuple[float, float, float]:
    """(seconds of the first compiled step, eager samples/s, compiled samples/s), medians."""
    torch.manual_seed(0)
    model = SimpleCNN(1, 10, (28, 28), channels=[32, 64], hidden_size=128).to(memory_format=memory_format)
    images = torch.randn(BATCH, 1, 28, 28).to(memory_format=memory_format)
    labels = torch.randint(0, 10, (BATCH,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(network: torch.nn.Module) -> None:
        loss = F.cross_entropy(network(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def rate(network: torch.nn.Module) -> float:
        step(network)
        started = time.perf_counter()
        for _ in range(steps):
            step(network)
        return steps * BATCH / (time.perf_counter() - started)

    torch._dynamo.reset()  # each format compiles from scratch (inductor's on-disk cache aside)
    compiled = torch.compile(model)
    started = time.perf_counter()
    step(compiled)
    compile_seconds = time.perf_counter() - started
    rates: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(repeats):
        rates["eager"].append(rate(model))
        rates["compiled"].append(rate(compiled))
    return compile_seconds, statistics.median(rates["eager"]), statistics.median(rates["compiled"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="eager and compiled measured in turns")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}")
    print("| memory format | compile (first step) s | eager samples/s | compiled samples/s | compiled / eager |")
    print("|---|---|---|---|---|")
    for name, memory_format in (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last)):
        compile_seconds, eager, fast = measure(memory_format, args.steps, args.repeats)
        print(f"| {name} | {compile_seconds:.1f} | {eager:,.0f} | {fast:,.0f} | {fast / eager:.2f} |")


if __name__ == "__main__":
    main()
