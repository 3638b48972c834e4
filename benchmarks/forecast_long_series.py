"""A forecast run on a long series: the whole command's wall time against the network's training.

The series is generated (hourly, 50,000 steps: a slow trend, daily and weekly seasons and AR(1)
noise), written as a CSV, and trained on with the defaults plus a 24-step horizon whose backtest
origins are 33 steps apart (about 300 origins over the 10,000-step test part):

    python benchmarks/forecast_long_series.py [--steps 50000] [--stride 33]

It prints the wall time of `trainlab train forecast`, the training time the run recorded
(metrics.json `train_seconds`), their ratio, and the test MASE of the network and the baselines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def long_series(steps: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    time_steps = np.arange(steps)
    shocks = rng.normal(size=steps)
    noise = np.zeros(steps)
    for step in range(1, steps):
        noise[step] = 0.7 * noise[step - 1] + shocks[step]
    values = (20 + 0.0002 * time_steps + 5 * np.sin(2 * np.pi * time_steps / 24)
              + 2 * np.sin(2 * np.pi * time_steps / 168) + noise)
    times = pd.date_range("2015-01-01", periods=steps, freq="h")
    return pd.DataFrame({"time": times, "load": values.round(3)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--stride", type=int, default=33, help="steps between backtest origins")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        csv = Path(work_dir) / "long_series.csv"
        long_series(args.steps).to_csv(csv, index=False)
        run_dir = Path(work_dir) / "run"
        command = [sys.executable, "-m", "trainlab", "train", "forecast", "--data", str(csv), "--out", str(run_dir),
                   "--quiet", "data.horizon=24", f"data.backtest_stride={args.stride}"]
        print(f"load average {os.getloadavg()[0]:.2f}; {' '.join(command[1:])}")
        started = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - started
        metrics = json.loads((run_dir / "metrics.json").read_text())
    train = metrics["train_seconds"]
    print(f"steps {args.steps:,}; backtest origins {metrics['backtest_origins']}")
    print(f"whole command {wall:.1f} s; training {train:.1f} s; ratio {wall / train:.2f}")
    scores = {"network": metrics["test_mase"]}
    scores.update({key[len("baseline_"):-len("_mase")]: value for key, value in metrics.items()
                   if key.startswith("baseline_") and key.endswith("_mase")})
    print("test MASE: " + ", ".join(f"{name} {value:.3f}" for name, value in scores.items() if value is not None))
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
