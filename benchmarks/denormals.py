"""What flushing denormals to zero is worth: one training step of torch's LSTM (the fused oneDNN
kernel on the CPU) when the loss reads the last step only, as a text classifier's does, so that the
gradient fades through time into denormal floats; and, as a control, when every step is scored.

Each setting runs in a new process, since the flag of a torch worker thread is the one its process
had when the thread started (trainlab/training/denormals.py): "kept" never sets it, "flushed" sets
it first, "flushed late" sets it after torch's threads have run (what a notebook that computed
something before building a Trainer gets).

    python benchmarks/denormals.py                      # 2 threads, the figures in benchmarks/README.md
    python benchmarks/denormals.py --threads 1 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

SETTINGS = ("kept", "flushed", "flushed late")


def step_milliseconds(setting: str, scored: str, threads: int, steps: int) -> float:
    """The median time of a step, measured in this process (run by `main` in a new one)."""
    if setting == "flushed":
        torch.set_flush_denormal(True)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(128, 128, batch_first=True)  # the suite's lstm-200: batch 64, 200 steps
    inputs = torch.randn(64, 200, 128, requires_grad=True)
    gradient = torch.ones(64, 200, 128)
    if scored == "last":
        gradient[:, :-1] = 0

    def step() -> float:
        started = time.perf_counter()
        outputs, _ = lstm(inputs)
        outputs.backward(gradient)
        return time.perf_counter() - started

    step()  # warm-up: oneDNN primitives, and torch's worker threads start here
    if setting == "flushed late":
        torch.set_flush_denormal(True)
    return statistics.median(step() for _ in range(steps)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="processes per setting, alternating")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per process")
    parser.add_argument("--measure", nargs=2, metavar=("SETTING", "SCORED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(step_milliseconds(*args.measure, args.threads, args.steps))
        return
    print(f"torch {torch.__version__}, {args.threads} threads; LSTM 128->128, batch 64, 200 steps, "
          "forward + backward, median ms a step")
    print("| loss reads | " + " | ".join(SETTINGS) + " | kept / flushed |")
    print("|---|" + "---|" * (len(SETTINGS) + 1))
    for scored in ("last", "every"):
        times: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
        for _ in range(args.repeats):
            for setting in SETTINGS:
                command = [sys.executable, __file__, "--threads", str(args.threads), "--steps",
                           str(args.steps), "--measure", setting, scored]
                done = subprocess.run(command, check=True, capture_output=True, text=True)
                times[setting].append(float(done.stdout.split()[-1]))
        medians = {setting: statistics.median(values) for setting, values in times.items()}
        cells = " | ".join(f"{medians[setting]:,.0f}" for setting in SETTINGS)
        print(f"| {scored} step | {cells} | {medians['kept'] / medians['flushed']:.1f}x |")


if __name__ == "__main__":
    main()
