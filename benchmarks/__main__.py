"""The comparison suite: every case run by every contender, each in a process of its own, the
contenders taking turns within each repeat so that machine noise hits them alike.

    python -m benchmarks                                   # CPU, 2 threads, every case, 3 repeats
    python -m benchmarks --cases cnn-28,lstm-200 --repeats 5
    python -m benchmarks --device cuda --precision bf16    # on a GPU
    TRAINLAB_BENCH_PYTHON=.venv-bench/bin/python python -m benchmarks   # with Lightning and Keras

Prints, per case, the median units/s of each contender (samples/s; tokens/s for the LM), its
ratio to the PyTorch tutorial loop (of medians, and the median of the ratios within a repeat),
peak resident memory, and the achieved GFLOP/s as a share of the machine's float32 matmul rate;
saves everything to benchmarks/results/<name>.json. Lightning and Keras run under the interpreter
of TRAINLAB_BENCH_PYTHON (benchmarks/requirements-bench.txt), and are skipped with a note when it
is not set or lacks them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from benchmarks.suite.cases import CASES, Case
from benchmarks.suite.flops import flops_per_unit, matmul_gflops

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "results"
CONTENDERS = ("torch-tutorial", "torch-sliced", "torch-sliced-ftz", "trainlab", "lightning", "keras")
REFERENCE = "torch-tutorial"
FOREIGN = {"lightning", "keras"}  # run under the benchmark-only environment's interpreter
WORKER_TIMEOUT = 900


def run_worker(python: str, case: Case, contender: str, args: argparse.Namespace) -> dict:
    command = [python, "-m", "benchmarks.suite.worker", case.name, contender, "--device", args.device,
               "--threads", str(args.threads), "--precision", args.precision,
               "--min-seconds", str(args.min_seconds)]
    environment = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        done = subprocess.run(command, check=False, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=WORKER_TIMEOUT, env=environment)
    except subprocess.TimeoutExpired:
        return {"failed": f"ran past {WORKER_TIMEOUT} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"failed": f"exit {done.returncode}: {last}"}
    return json.loads(lines[-1])


def summarise(runs: dict[str, list[dict]], case: Case, ceiling: float) -> dict[str, dict]:
    """Per contender: the median rate, its ratios to the reference, memory and GFLOP/s."""
    reference = [run.get("per_second") for run in runs.get(REFERENCE, [])]
    rows = {}
    for contender, results in runs.items():
        rates = [run["per_second"] for run in results if "per_second" in run]
        if not rates:
            rows[contender] = {"note": results[0].get("skipped") or results[0].get("failed")}
            continue
        median = statistics.median(rates)
        row = {"median_per_second": median, "rates": rates,
               "peak_rss_mb": max(run["peak_rss_mb"] for run in results if "peak_rss_mb" in run)}
        if any("peak_gpu_mb" in run for run in results):
            row["peak_gpu_mb"] = max(run.get("peak_gpu_mb", 0) for run in results)
        if reference and all(reference) and len(reference) == len(rates):
            row["ratio_of_medians"] = median / statistics.median(reference)
            # Each repeat ran the contenders back to back: a ratio within a repeat cancels drifts.
            row["median_paired_ratio"] = statistics.median(mine / theirs for mine, theirs in zip(rates, reference))
        row["gflops"] = median * flops_per_unit(case) / 1e9
        row["share_of_matmul"] = row["gflops"] / ceiling
        rows[contender] = row
    return rows


def print_case(case: Case, rows: dict[str, dict]) -> None:
    print(f"\n{case.name} ({case.mode}, batch {case.batch_size}, {case.unit}/s)")
    print(f"| contender | median {case.unit}/s | x tutorial | paired | peak RSS MB | GFLOP/s | of matmul |")
    print("|---|---|---|---|---|---|---|")
    for contender, row in rows.items():
        if "note" in row:
            print(f"| {contender} | skipped: {row['note']} | | | | | |")
            continue
        print(f"| {contender} | {row['median_per_second']:,.0f} | {row.get('ratio_of_medians', float('nan')):.2f} | "
              f"{row.get('median_paired_ratio', float('nan')):.2f} | {row['peak_rss_mb']:,.0f} | "
              f"{row['gflops']:.1f} | {row['share_of_matmul']:.1%} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated; default: all")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="32", choices=["32", "bf16"])
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--name", help="results file name (default: <device>-<date>)")
    args = parser.parse_args()
    unknown = sorted(set(args.cases.split(",")) - set(CASES))
    if unknown:
        sys.exit(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    cases = [CASES[name] for name in args.cases.split(",")]
    contenders = args.contenders.split(",")
    bench_python = os.environ.get("TRAINLAB_BENCH_PYTHON")

    torch.set_num_threads(args.threads)
    # The ceiling in the precision the contenders compute in: bf16 products on a GPU with AMP.
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    ceiling = matmul_gflops(torch.device(args.device), dtype)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, device {args.device}, "
          f"{args.threads} threads, precision {args.precision}; {dtype} matmul {ceiling:,.0f} GFLOP/s")
    results = {"device": args.device, "threads": args.threads, "precision": args.precision,
               "matmul_gflops": ceiling, "matmul_dtype": str(dtype), "torch": torch.__version__, "started": time.strftime("%Y-%m-%d %H:%M"),
               "command": " ".join(sys.argv), "cases": {}}
    if args.device.startswith("cuda"):
        results["gpu"] = torch.cuda.get_device_name()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = args.name or f"{args.device.replace(':', '')}-{time.strftime('%Y%m%d-%H%M')}"
    path = RESULTS / f"{name}.json"
    for case in cases:
        runs: dict[str, list[dict]] = {contender: [] for contender in contenders}
        for repeat in range(args.repeats):
            # Rotate who goes first, so that no contender always runs on a cooler or warmer machine.
            order = contenders[repeat % len(contenders):] + contenders[: repeat % len(contenders)]
            for contender in order:
                if contender in FOREIGN and not bench_python:
                    runs[contender].append({"skipped": "TRAINLAB_BENCH_PYTHON is not set"})
                    continue
                python = bench_python if contender in FOREIGN else sys.executable
                runs[contender].append(run_worker(python, case, contender, args))
            if all("skipped" in runs[c][0] or "failed" in runs[c][0] for c in contenders if c != REFERENCE):
                break
        rows = summarise(runs, case, ceiling)
        print_case(case, rows)
        results["cases"][case.name] = rows
        # After every case, so that a run cut short keeps what it measured.
        path.write_text(json.dumps(results, indent=2))
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
