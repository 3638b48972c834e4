"""bf16 against float32 in trainlab's Trainer, as ratios measured in one process.

The suite (`python -m benchmarks --precision 32`, then `--precision bf16`) times the two
precisions in two runs, and this 2-core VM's speed drifts by tens of percent from one run to the
next, which is as large as the effect measured. Here each round times both precisions back to back
in one process, on the same data and the suite's own trainlab contender
(`benchmarks/suite/torch_contenders.make_trainlab`), alternating which goes first; the figure is
the median of the rounds' ratios, with their range.

    python -m benchmarks.bf16_pairs                                  # the figures in benchmarks/README.md
    python -m benchmarks.bf16_pairs --cases cnn-28-inference --rounds 9
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch

from benchmarks.suite.cases import CASES, make_data
from benchmarks.suite.torch_contenders import make_trainlab
from trainlab.training.precision import unsupported_reason

DEFAULT_CASES = ("cnn-28", "resnet20-32", "lstm-200", "bilstm-200", "cnn-28-inference", "lstm-200-inference")
PRECISIONS = ("32", "bf16")


def paired_rates(case_name: str, rounds: int, epochs: int) -> dict[str, list[float]]:
    """Samples (tokens for the char LM) a second for each precision, one figure per round."""
    case = CASES[case_name]
    data = make_data(case)
    device = torch.device("cpu")
    runs = {precision: make_trainlab(case, data, device, precision) for precision in PRECISIONS}
    for run in runs.values():
        run(1)  # warm-up: oneDNN primitives, torch's threads, the optimizer's imports
    rates: dict[str, list[float]] = {precision: [] for precision in PRECISIONS}
    for round_index in range(rounds):
        order = PRECISIONS if round_index % 2 == 0 else PRECISIONS[::-1]
        for precision in order:
            rates[precision].append(epochs * case.samples / runs[precision](epochs))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), choices=sorted(CASES))
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds per case")
    parser.add_argument("--epochs", type=int, default=2, help="epochs (passes over the case's data) a timing")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    reason = unsupported_reason("bf16", torch.device("cpu"))
    if reason:
        sys.exit(f"bf16_pairs: {reason}")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} rounds of "
          f"{args.epochs} epochs; median samples/s, and the median (min-max) of the rounds' ratios")
    print("| case | float32 | bf16 | bf16 / float32 |")
    print("|---|---|---|---|")
    for name in args.cases:
        rates = paired_rates(name, args.rounds, args.epochs)
        ratios = sorted(fast / slow for fast, slow in zip(rates["bf16"], rates["32"]))
        print(f"| {name} | {statistics.median(rates['32']):,.0f} | {statistics.median(rates['bf16']):,.0f} | "
              f"{statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f}) |", flush=True)


if __name__ == "__main__":
    main()
