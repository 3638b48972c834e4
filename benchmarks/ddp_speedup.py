"""Speed-up of data-parallel training on CPU: `torchrun --nproc_per_node=N -m trainlab train`
against one process, on the same config (the same global batch, so the same number of steps).

Three ways to spend the machine's cores are timed, interleaved so that machine noise hits them
alike, each `--repeats` times:

- one process, one thread (OMP_NUM_THREADS=1);
- one process, N threads (OMP_NUM_THREADS=N): the fair baseline, the same cores as N processes;
- N processes with one thread each (gloo), under torchrun.

Reported: the median training throughput (metrics.json samples_per_second: training examples per
second of training time, rank 0's clock, without data loading, evaluation or reports) and the
speed-ups, plus the load average before and after (the machine may be shared).

    OMP_NUM_THREADS=1 python benchmarks/ddp_speedup.py                  # ResNet-20 on digits, 2 processes
    python benchmarks/ddp_speedup.py --processes 4 --repeats 5 -- --model simple_cnn train.epochs=5
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUN = ["image-classification", "--data", "digits", "--model", "resnet20", "--seed", "0",
               "data.batch_size=128", "train.epochs=3"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def train_once(run: list[str], out: Path, processes: int, threads: int) -> dict:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "OMP_NUM_THREADS": str(threads)}
    if processes == 1:
        launcher = [sys.executable, "-m", "trainlab"]
    else:
        launcher = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}",
                    "--master_addr=127.0.0.1", f"--master_port={free_port()}", "-m", "trainlab"]
    command = [*launcher, "train", *run, "--out", str(out), "--quiet"]
    finished = subprocess.run(command, check=False, capture_output=True, text=True, env=environment)
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr[-2000:]}")
    return json.loads((out / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("run", nargs="*", help="trainlab train arguments (after --)")
    args = parser.parse_args()
    run = args.run or DEFAULT_RUN
    n = args.processes
    setups = {"1 process x 1 thread": (1, 1), f"1 process x {n} threads": (1, n),
              f"{n} processes x 1 thread": (n, 1)}
    throughput: dict[str, list[float]] = {name: [] for name in setups}
    accuracy: dict[str, float] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for name, (processes, threads) in setups.items():
                metrics = train_once(run, Path(folder) / f"{repeat}-{processes}-{threads}", processes, threads)
                throughput[name].append(metrics["samples_per_second"])
                accuracy[name] = metrics["test_accuracy"]
                print(f"repeat {repeat + 1}: {name}: {metrics['samples_per_second']:.0f} samples/s "
                      f"({metrics['train_seconds']:.2f} s), test accuracy {metrics['test_accuracy']:.4f}",
                      flush=True)
    load_after = os.getloadavg()
    print(f"\ntrainlab train {' '.join(run)}; median of {args.repeats}")
    print("| setup | samples/s (median) | speed-up vs 1x1 | vs 1 process x N threads | test accuracy |")
    print("|---|---|---|---|---|")
    one = statistics.median(throughput["1 process x 1 thread"])
    threaded = statistics.median(throughput[f"1 process x {n} threads"])
    for name in setups:
        median = statistics.median(throughput[name])
        print(f"| {name} | {median:,.0f} | {median / one:.2f}x | {median / threaded:.2f}x | {accuracy[name]:.4f} |")
    print(f"load average (1, 5, 15 min) before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
