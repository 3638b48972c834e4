"""Study `forecasting`: multi-step strategies and teacher forcing against honest baselines.

Every arm trains the same LSTM size on the same windows and is scored by the forecast pipeline's
rolling-origin backtest, in which the seven baselines forecast from exactly the same origins. The
baselines do not depend on the seed or on the arm, so their scores are read from the runs (the
first arm's metrics.json files) and shown as rows of the same table, where their interval over
seeds collapses to a point.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import registry, rundir
from trainlab.metrics.statistics import estimate
from trainlab.reports.figures import new_figure, palette
from trainlab.studies.plan import Arm, StudyPlan

# Every study module is imported whenever a registry is filled: matplotlib, scipy (through the
# baselines) and the run directory's file names are imported where they are used.
BASELINE_NAMES = ("naive", "seasonal_naive", "drift", "mean", "moving_average", "ets", "arima")
SCORES = ("mase", "mae", "rmse", "mape", "smape")  # MASE first: the headline
NAIVE_BASELINES = ("naive", "seasonal_naive", "drift", "mean", "moving_average")
BASELINE_PREFIX = "baseline:"  # the arm name of a baseline row in the summary

# (arm name, label, model options): the three strategies, seq2seq with each teacher-forcing setting.
# The recursive arm is trained on its own fed-back predictions, as the network runs at test time.
STRATEGIES = (
    ("direct", "direct", {"strategy": "direct"}),
    ("recursive", "recursive", {"strategy": "recursive", "teacher_forcing": "never"}),
    ("seq2seq-always", "seq2seq, teacher forcing", {"strategy": "seq2seq", "teacher_forcing": "always"}),
    ("seq2seq-never", "seq2seq, free running", {"strategy": "seq2seq", "teacher_forcing": "never"}),
    ("seq2seq-scheduled", "seq2seq, scheduled sampling",
     {"strategy": "seq2seq", "teacher_forcing": "scheduled", "teacher_forcing_decay": 0.8}),
)


def _quick_setting() -> dict[str, Any]:
    """Yearly sunspot numbers (statsmodels, offline, 309 steps): 5-year forecasts from 24 years."""
    return {
        "task": "forecast",
        "data": {"source": "sunspots", "window": 24, "horizon": 5, "batch_size": 32},
        "model": {"name": "lstm", "hidden_size": 32, "normalization": "revin"},
        "optim": {"lr": 0.01},
        "train": {"epochs": 20},
    }


def _full_setting() -> dict[str, Any]:
    """ETTh1 oil temperature, the six loads as covariates, one day ahead from four days; RevIN,
    with which a direct LSTM beats every baseline there (benchmarks/forecast_vs_baselines.py)."""
    shared = Path(os.environ.get("TRAINLAB_SHARED_DATA", "../shared/data"))
    return {
        "task": "forecast",
        "data": {"source": str(shared / "etth1" / "ETTh1.csv"), "target": "OT",
                 "covariates": ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL"],
                 "window": 96, "horizon": 24, "period": 24},
        "model": {"name": "lstm", "hidden_size": 64, "normalization": "revin"},
        "train": {"epochs": 20},
    }


@registry.studies.register("forecasting", "direct vs recursive vs seq2seq (teacher forcing) vs baselines")
def forecasting(scale: str) -> StudyPlan:
    base = _quick_setting() if scale == "quick" else _full_setting()
    arms = []
    for name, label, options in STRATEGIES:
        config = copy.deepcopy(base)
        config["model"].update(options)
        arms.append(Arm(name, config, label=label))
    data_note = (
        "yearly sunspot numbers 1700-2008 (statsmodels, offline), horizon 5, window 24, "
        "backtest over the last 20%"
        if scale == "quick" else
        "ETTh1 (../shared/data/etth1/ETTh1.csv): oil temperature OT with six load covariates, "
        "horizon 24 h, window 96 h, period 24, backtest over the last 20%"
    )
    baseline_metrics = [f"baseline_{name}_{score}" for name in BASELINE_NAMES for score in SCORES]
    return StudyPlan(
        name="forecasting",
        question=("Which multi-step strategy (direct, recursive, seq2seq with teacher forcing, free "
                  "running or scheduled sampling) forecasts best, and does any beat the naive and "
                  "classical baselines on the same rolling-origin backtest?"),
        data_note=data_note,
        arms=arms,
        metrics=[f"test_{score}" for score in SCORES] + baseline_metrics,
        seeds=3 if scale == "quick" else 5,
        comparisons=[("direct", "recursive"), ("seq2seq-scheduled", "seq2seq-always"),
                     ("seq2seq-never", "seq2seq-always")],
        finding=finding,
        figures=figures,
        higher_is_better=False,
    )


def baselines_as_rows(summary: dict[str, Any]) -> dict[str, Any]:
    """Move the baselines' scores out of the arms' rows into rows of their own (in place).

    Every arm's runs hold the same baseline scores (same series, same origins); they are taken
    from the first arm. Afterwards `summary["metrics"]` names the test_* metrics only, so that the
    report's table has one column per score, and each row says whether it is a "network" or a
    "baseline". Calling it again changes nothing.
    """
    if any(row.get("kind") == "baseline" for row in summary["rows"]):
        return summary
    first = summary["rows"][0]
    baseline_rows = []
    for name in BASELINE_NAMES:
        row: dict[str, Any] = {"arm": f"{BASELINE_PREFIX}{name}", "label": f"{name} (baseline)",
                               "params": None, "kind": "baseline"}
        for score in SCORES:
            row[f"test_{score}"] = first.get(f"baseline_{name}_{score}")
        baseline_rows.append(row)
    for row in summary["rows"]:
        row["kind"] = "network"
        for key in [key for key in row if key.startswith("baseline_")]:
            del row[key]
    summary["rows"] += baseline_rows
    summary["metrics"] = [metric for metric in summary["metrics"] if not metric.startswith("baseline_")]
    return summary


def _mean(row: dict[str, Any], metric: str) -> float | None:
    value = row.get(metric)
    return None if value is None else value["mean"]


def _best(rows: list[dict[str, Any]], metric: str) -> dict[str, Any] | None:
    scored = [row for row in rows if _mean(row, metric) is not None]
    return min(scored, key=lambda row: _mean(row, metric)) if scored else None


def finding(summary: dict[str, Any]) -> str:
    """Which forecaster won on MASE, and by how much against the best of the other kind."""
    baselines_as_rows(summary)
    metric = summary["headline_metric"]
    networks = [row for row in summary["rows"] if row["kind"] == "network"]
    baselines = [row for row in summary["rows"] if row["kind"] == "baseline"]
    naive = [row for row in baselines if row["arm"].removeprefix(BASELINE_PREFIX) in NAIVE_BASELINES]
    best_network, best_baseline, best_naive = _best(networks, metric), _best(baselines, metric), _best(naive, metric)
    summary["best_baseline"] = None if best_baseline is None else best_baseline["arm"]
    if best_network is None or best_baseline is None:
        return f"No {metric} to compare: a network or every baseline left it undefined."
    network, baseline = _mean(best_network, metric), _mean(best_baseline, metric)
    network_text = estimate(best_network[metric]["values"]).text(3)
    baseline_name = best_baseline["arm"].removeprefix(BASELINE_PREFIX)
    naive_text = ""
    if best_naive is not None and best_naive is not best_baseline:
        naive_name = best_naive["arm"].removeprefix(BASELINE_PREFIX)
        naive_text = f"; the best naive baseline, {naive_name}, scored {_mean(best_naive, metric):.3f}"
    if network < baseline:
        summary["winner"] = best_network["arm"]
        return (f"{best_network['label']} won: {metric} {network_text}, {(baseline - network) / baseline:.1%} "
                f"below the best baseline, {baseline_name} ({baseline:.3f}){naive_text}.")
    summary["winner"] = best_baseline["arm"]
    return (f"No network beat the baselines: {baseline_name} won with {metric} {baseline:.3f}; the best "
            f"network, {best_network['label']}, scored {network_text}, {(network - baseline) / baseline:.1%} "
            f"above it{naive_text}.")


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    """The backtest of seed 0 of every arm with the best baseline, and MAE by horizon step."""

    baselines_as_rows(summary)
    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    networks = [row for row in summary["rows"] if row["kind"] == "network"]
    backtests = {row["label"]: rundir.read_json(study_dir / row["arm"] / "seed-0" / rundir.BACKTEST_FILE)
                 for row in networks if (study_dir / row["arm"] / "seed-0" / rundir.BACKTEST_FILE).is_file()}
    if not backtests:
        return []
    best_baseline = (summary.get("best_baseline") or "").removeprefix(BASELINE_PREFIX)
    return [plot_study_backtest(backtests, best_baseline, plots_dir / "backtest.png"),
            plot_study_error_by_step(study_dir, summary, next(iter(backtests.values())),
                                     plots_dir / "error_by_step.png")]


def plot_study_backtest(backtests: dict[str, dict[str, Any]], baseline: str, path: Path,
                        origins_shown: int = 4) -> Path:
    """The last forecasts of every arm (seed 0) and of the best baseline over the actual series."""

    first = next(iter(backtests.values()))
    target, horizon = first["targets"][0], first["horizon"]
    origins = first["origins"][-origins_shown:]
    values = np.asarray(first["values"])[:, 0]
    start, stop = max(0, origins[0] - 3 * horizon), min(len(values), origins[-1] + horizon)
    figure, axes = new_figure(figsize=(9, 4.2), layout="constrained")
    axes.plot(range(start, stop), values[start:stop], color="black", linewidth=1.2, label="actual")
    entries = [(label, backtest["forecasts"]["model"], "-") for label, backtest in backtests.items()]
    if baseline in first["forecasts"]:
        entries.append((f"{baseline} (best baseline)", first["forecasts"][baseline], "--"))
    for (label, forecasts, style), colour in zip(entries, palette("tab10")):
        forecasts = np.asarray(forecasts)[-len(origins):, :, 0]
        for number, origin in enumerate(origins):
            axes.plot(range(origin, origin + horizon), forecasts[number], linestyle=style, color=colour,
                      linewidth=1.4, marker="." if horizon < 4 else None, label=label if number == 0 else None)
    for origin in origins:
        axes.axvline(origin, color="grey", linestyle=":", linewidth=0.8)
    times = first["times"]
    axes.set_title(f"Backtest forecasts of {target} (seed 0): last {len(origins)} origins, "
                   f"{times[origins[0]][:10]} to {times[stop - 1][:10]}")
    axes.set_xlabel("time step")
    axes.set_ylabel(target)
    axes.legend(fontsize=7, ncol=2)
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


def plot_study_error_by_step(study_dir: Path, summary: dict[str, Any], backtest: dict[str, Any],
                             path: Path) -> Path:
    """MAE per horizon step: every arm (mean over seeds) and every baseline."""

    target, horizon = backtest["targets"][0], backtest["horizon"]
    steps = np.arange(1, horizon + 1)
    figure, axes = new_figure(figsize=(7, 4), layout="constrained")
    network_colours, baseline_colours = iter(palette("tab10")), iter(palette("Dark2"))
    for row in summary["rows"]:
        if row["kind"] == "network":
            curves = [rundir.read_json(file)["summary"]["model"]["mae_by_step"]
                      for file in sorted((study_dir / row["arm"]).glob(f"seed-*/{rundir.BACKTEST_FILE}"))]
            axes.plot(steps, np.mean(curves, axis=0), marker="o", linewidth=2, label=row["label"],
                      color=next(network_colours))
        else:
            name = row["arm"].removeprefix(BASELINE_PREFIX)
            by_step = backtest["summary"][name].get("mae_by_step")
            if by_step is not None:
                axes.plot(steps, by_step, linestyle="--", linewidth=1, label=row["label"],
                          color=next(baseline_colours))
    axes.set_title("MAE by horizon step (networks: mean over seeds)")
    axes.set_xlabel("horizon step")
    axes.set_ylabel(f"MAE ({target})")
    axes.set_xticks(steps if horizon <= 12 else np.linspace(1, horizon, 7).round().astype(int))
    axes.legend(fontsize=7, ncol=2)
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path
