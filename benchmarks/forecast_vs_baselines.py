"""Recurrent forecasters against the naive and classical baselines, on ETTh1 and Melbourne.

Each setting is an ordinary `trainlab train forecast` run (through `trainlab.experiment.train_run`):
the network trains on scaled windows, then the pipeline's rolling-origin backtest over the test part
(the last 20%, one origin every `horizon` steps, expanding history) scores the network and the
seven baselines on exactly the same origins. The table holds the network's scores (mean over seeds,
with the range when there are several) and every baseline's, with MASE scaled by the in-sample
seasonal-naive MAE of the training part.

    python benchmarks/forecast_vs_baselines.py                    # both settings, seed 0
    python benchmarks/forecast_vs_baselines.py --only melbourne --seeds 3
    python benchmarks/forecast_vs_baselines.py --out runs/forecast-bench   # keep the run directories

Needs ../shared/data (or $TRAINLAB_SHARED_DATA).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from trainlab.config import apply_overrides, build_config, parse_overrides
from trainlab.experiment import train_run

SHARED = Path(os.environ.get("TRAINLAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
NAIVE = ("naive", "seasonal_naive", "drift", "mean", "moving_average")
CLASSICAL = ("ets", "arima")
SCORES = ("mae", "rmse", "mape", "smape", "mase")

# name -> (data file under SHARED, the command's overrides). ETTh1: the six loads are covariates
# (past values only); RevIN normalises each window, so the network forecasts the shape, not the
# level, which drifts between the training years and the test months. Melbourne: the defaults.
SETTINGS: dict[str, tuple[str, list[str]]] = {
    "etth1": ("etth1/ETTh1.csv", [
        "data.target=OT", "data.covariates=[HUFL,HULL,MUFL,MULL,LUFL,LULL]", "data.horizon=24",
        "data.period=24", "data.window=96", "model.normalization=revin", "train.epochs=10",
    ]),
    "melbourne": ("melbourne_daily_min_temp/daily-min-temperatures.csv", [
        "data.target=Temp", "data.time_column=Date", "data.horizon=7", "train.epochs=10",
    ]),
}


def command(data: Path, overrides: list[str]) -> str:
    """The CLI command of a setting, as benchmarks/README.md records it."""
    return shlex.join(["trainlab", "train", "forecast", "--data", os.path.relpath(data), *overrides])


def run_setting(name: str, seeds: int, out: Path) -> dict[str, Any]:
    """Train one setting with each seed; returns the metrics of every seed and the wall time."""
    relative, overrides = SETTINGS[name]
    data = SHARED / relative
    if not data.is_file():
        sys.exit(f"{data} is absent: set TRAINLAB_SHARED_DATA to the folder holding {relative}")
    raw = apply_overrides({"task": "forecast", "data": {"source": str(data)}}, parse_overrides(overrides))
    print(f"\n## {name}\n{command(data, overrides)}", flush=True)
    per_seed, seconds = [], []
    for seed in range(seeds):
        config = build_config(apply_overrides(raw, [("run.seed", seed)]))
        model = config.model
        label = f"{model.name} {model.strategy}, normalization {model.normalization}, window {config.data.window}"
        started = time.perf_counter()
        per_seed.append(train_run(config, out / name / f"seed-{seed}", overwrite=True, quiet=True))
        seconds.append(time.perf_counter() - started)
        metrics = per_seed[-1]
        print(f"seed {seed}: MASE {metrics['test_mase']:.4f}, {metrics['epochs']} epochs (best {metrics['best_epoch']}), "
              f"training {metrics['train_seconds']:.0f} s, run {seconds[-1]:.0f} s", flush=True)
    return {"metrics": per_seed, "seconds": seconds, "label": label}


def table(per_seed: list[dict[str, Any]], label: str) -> str:
    """Markdown: the network (mean over seeds, range) and every baseline, one column per score."""
    def cell(values: list[float | None]) -> str:
        if any(value is None for value in values):
            return "undefined"
        mean = sum(values) / len(values)
        spread = f" ({min(values):.3f}-{max(values):.3f})" if len(values) > 1 else ""
        return f"{mean:.3f}{spread}"

    first = per_seed[0]
    header = "| forecaster | " + " | ".join(score.upper() for score in SCORES) + " |"
    lines = [header, "|" + "---|" * (len(SCORES) + 1)]
    lines.append(f"| **{label}** | "
                 + " | ".join(cell([metrics[f"test_{score}"] for metrics in per_seed]) for score in SCORES) + " |")
    for name in (*NAIVE, *CLASSICAL):
        kind = "naive" if name in NAIVE else "classical"
        lines.append(f"| {name} ({kind}) | "
                     + " | ".join(cell([first[f"baseline_{name}_{score}"]]) for score in SCORES) + " |")
    return "\n".join(lines)


def verdict(per_seed: list[dict[str, Any]]) -> str:
    """The network's mean MASE against the best naive and the best classical baseline."""
    first = per_seed[0]
    network = sum(metrics["test_mase"] for metrics in per_seed) / len(per_seed)
    worst_seed = max(metrics["test_mase"] for metrics in per_seed)
    parts = []
    for group, names in (("naive", NAIVE), ("classical", CLASSICAL)):
        best = min(names, key=lambda name: first[f"baseline_{name}_mase"])
        baseline = first[f"baseline_{best}_mase"]
        relation = "beats" if network < baseline else "does NOT beat"
        every_seed = ", every seed" if worst_seed < baseline else ""
        change = (network - baseline) / baseline
        parts.append(f"{relation} the best {group} baseline, {best} ({baseline:.3f}): "
                     f"{abs(change):.1%} {'lower' if change < 0 else 'higher'}{every_seed}")
    return f"network MASE {network:.3f} " + "; ".join(parts) + "."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(SETTINGS), action="append", help="run only these settings")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per setting (0, 1, ...)")
    parser.add_argument("--out", type=Path, default=None, help="keep the run directories here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        started = time.perf_counter()
        for name in args.only or list(SETTINGS):
            result = run_setting(name, args.seeds, out)
            per_seed = result["metrics"]
            print(f"\n{table(per_seed, result['label'])}\n\n{verdict(per_seed)}")
            print(f"backtest: {per_seed[0]['backtest_origins']} origins, seasonal period "
                  f"{per_seed[0]['season_period']}; wall time {sum(result['seconds']):.0f} s for "
                  f"{len(per_seed)} run(s)", flush=True)
        print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
