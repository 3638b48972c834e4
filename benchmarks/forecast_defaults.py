"""Forecast runs with the defaults on the issue's real series: the network, the best baseline and
the model the run chose on validation, each by its test MASE (issue 24's series targets).

    python benchmarks/forecast_defaults.py [--series airline sunspots ...] [-- data.window=auto ...]
    python benchmarks/forecast_defaults.py --series co2 nile seattle-daily seattle-hourly taylor
                                                                  # the generality check

Each run is `trainlab train forecast --data CSV` with only the options that say what the data is
(time column, target, horizon); anything after `--` is added to every run, to compare a changed
default. It prints one row per series: wall time, the network's test MASE, the best baseline and its
test MASE, the chosen model with its validation and test MASE, and whether the targets hold.
Needs ../shared/data (the series are not in the repository); the Seattle and Taylor series are
built from packages on the registries by benchmarks/generality_data.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# name -> (CSV under ../shared/data, the options that say what the data is)
SERIES = {
    "airline": ("airline_passengers/airline-passengers.csv", ["data.horizon=12"]),
    "sunspots": ("sunspots_monthly/monthly-sunspots.csv", ["data.horizon=12"]),
    "melbourne": ("melbourne_daily_min_temp/daily-min-temperatures.csv", ["data.horizon=7"]),
    "etth1": ("etth1/ETTh1.csv", ["data.target=OT", "data.horizon=24"]),
    # The generality check: real series no default was chosen on (statsmodels' builtins, offline).
    "co2": ("co2", ["data.horizon=12"]),
    "nile": ("nile", ["data.horizon=5"]),
    # ... and from packages on the registries (benchmarks/generality_data.py): daily, hourly and
    # half-hourly series, none of which the calendar rule was set on.
    "seattle-daily": ("generality:seattle-daily", ["data.target=temp_max", "data.horizon=7"]),
    "seattle-hourly": ("generality:seattle-hourly", ["data.horizon=24"]),
    "taylor": ("generality:taylor", ["data.horizon=48"]),
}
TARGETS = ("airline", "sunspots", "melbourne", "etth1")


def run(name: str, extra: list[str], work_dir: Path) -> dict:
    csv, options = SERIES[name]
    run_dir = work_dir / name
    if csv.startswith("generality:"):
        from generality_data import build  # beside this script

        source = str(build(csv.removeprefix("generality:")))
    else:  # a path under ../shared/data, or a builtin's name
        source = str(DATA / csv) if "/" in csv else csv
    command = [sys.executable, "-m", "trainlab", "train", "forecast", "--data", source,
               "--out", str(run_dir), "--quiet", *options, *extra]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    metrics = json.loads((run_dir / "metrics.json").read_text())
    data = json.loads((run_dir / "data.json").read_text())
    return {"wall": wall, "window": data["window"], "period": data["period"], **metrics}


def row(name: str, result: dict) -> str:
    best = result["best_baseline"]
    best_mase = result[f"baseline_{best}_mase"]
    chosen = result.get("chosen_model", "network")
    chosen_mase = result.get("chosen_test_mase", result["test_mase"])
    chosen_val = result.get(f"candidate_{chosen}_val_mase")
    network_wins = result["test_mase"] < best_mase
    chosen_holds = chosen_mase <= best_mase + 1e-12
    return (f"| {name} | {result['window']} (period {result['period']}) | {result['wall']:.0f} s | "
            f"{result['test_mase']:.3f} | {best} {best_mase:.3f} | {chosen} "
            f"{'' if chosen_val is None else f'{chosen_val:.3f} / '}{chosen_mase:.3f} | "
            f"{'yes' if network_wins else 'no'} | {'yes' if chosen_holds else 'no'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", nargs="+", choices=list(SERIES), default=list(TARGETS),
                        help="default: the issue's four; the others are the generality check")
    parser.add_argument("extra", nargs="*", help="options added to every run (after --)")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} is missing: these series come from ../shared/data")
    print(f"options beyond the data's: {' '.join(args.extra) or '(none)'}")
    print("| series | window | wall | network test MASE | best baseline, test MASE | chosen, val / test MASE "
          "| network beats best baseline | chosen beats or ties it |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work_dir:
        for name in args.series:
            print(row(name, run(name, args.extra, Path(work_dir))), flush=True)


if __name__ == "__main__":
    main()
