"""Figures of a forecasting run, read from RUN_DIR/backtest.json (written by the forecast pipeline).

- forecast_vs_actual.png: the last backtest forecasts of the model and of the best baseline over the
  actual values, with the history before them.
- error_by_step.png: MAE per horizon step of the model and of every baseline (same origins).
- residuals.png: histogram and autocorrelation of the model's one-step-ahead errors over the test part.
- teacher_forcing.png (recursive and seq2seq models): predictions with the true previous values fed
  back (teacher forced) against the model's own (free running), from the same origins.

Only the first target is drawn when a run forecasts several.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab import rundir
from trainlab.reports.figures import new_figure, palette

MODEL = "model"
MODEL_COLOUR, BASELINE_COLOUR, ACTUAL_COLOUR = "#c0392b", "#2e86c1", "black"
# Baselines get the tab10 colours except its red, which is the model's.
BASELINE_COLOURS = [colour for index, colour in enumerate(palette("tab10")) if index != 3]


def plot_forecast_run(run_dir: str | os.PathLike, origins_shown: int = 4) -> list[Path]:
    """Write the forecast figures of a run into RUN_DIR/plots; returns their paths.

    A run without backtest.json (not a forecasting run) gets no figures.
    """
    run_dir = Path(run_dir)
    path = Path(run_dir) / rundir.BACKTEST_FILE
    if not path.is_file():
        return []
    backtest = rundir.read_json(path)
    plots_dir = Path(run_dir) / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    written = [
        plot_forecast_vs_actual(backtest, plots_dir / "forecast_vs_actual.png", origins_shown),
        plot_error_by_step(backtest, plots_dir / "error_by_step.png"),
    ]
    if backtest.get("one_step"):
        written.append(plot_residuals(backtest, plots_dir / "residuals.png"))
    if backtest.get("teacher_forced"):
        written.append(plot_teacher_forcing(backtest, plots_dir / "teacher_forcing.png", origins_shown))
    return written


def best_baseline(backtest: dict[str, Any]) -> str | None:
    """The baseline with the lowest mean MASE over the origins (MAE where MASE is undefined)."""
    baselines = [name for name in backtest["summary"] if name != MODEL]
    for metric in ("mase", "mae"):
        scored = [name for name in baselines if backtest["summary"][name].get(metric) is not None]
        if scored:
            return min(scored, key=lambda name: backtest["summary"][name][metric])
    return None


def autocorrelation(values: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation at lags 0..max_lag (the biased estimator, as statsmodels' `acf`)."""
    centred = np.asarray(values, dtype=np.float64) - np.mean(values)
    denominator = np.dot(centred, centred)
    if denominator == 0:
        return np.r_[1.0, np.zeros(max_lag)]
    return np.array([np.dot(centred[: len(centred) - lag], centred[lag:]) / denominator
                     for lag in range(max_lag + 1)])


def plot_forecast_vs_actual(
    backtest: dict[str, Any], path: str | os.PathLike, origins_shown: int = 4
) -> Path:
    """The last `origins_shown` forecasts of the model and the best baseline, with the history."""
    path = Path(path)
    times, values, target = _axis_times(backtest), _target_values(backtest), backtest["targets"][0]
    origins, horizon = backtest["origins"][-origins_shown:], backtest["horizon"]
    shown = len(origins)
    start = max(0, origins[0] - max(3 * horizon, 24))
    stop = min(len(values), origins[-1] + horizon)
    baseline = best_baseline(backtest)
    figure, axes = new_figure(figsize=(8, 3.8), layout="constrained")
    axes.plot(times[start:stop], values[start:stop], color=ACTUAL_COLOUR, linewidth=1, label="actual")
    forecasters = [(MODEL, MODEL_COLOUR, "-")] + ([(baseline, BASELINE_COLOUR, "--")] if baseline else [])
    for name, colour, style in forecasters:
        forecasts = np.asarray(backtest["forecasts"][name])[-shown:, :, 0]  # (shown, horizon)
        mase = backtest["summary"][name].get("mase")
        label = name if name == MODEL else f"best baseline: {name}"
        label += f" (MASE {mase:.3f})" if mase is not None else ""
        for number, origin in enumerate(origins):
            axes.plot(times[origin : origin + horizon], forecasts[number], color=colour, linestyle=style,
                      linewidth=1.5, marker="." if horizon < 4 else None, label=label if number == 0 else None)
    for origin in origins:
        axes.axvline(times[origin], color="grey", linestyle=":", linewidth=0.8)
    axes.set_title(f"Backtest forecasts of {target}: last {shown} origins, horizon {horizon}")
    axes.set_xlabel("time")
    axes.set_ylabel(target)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_error_by_step(backtest: dict[str, Any], path: str | os.PathLike) -> Path:
    """Mean absolute error at each horizon step, the model against every baseline."""
    path = Path(path)
    target, horizon = backtest["targets"][0], backtest["horizon"]
    steps = np.arange(1, horizon + 1)
    figure, axes = new_figure(figsize=(6.5, 4), layout="constrained")
    baselines = (name for name in backtest["summary"] if name != MODEL)
    colours = {MODEL: MODEL_COLOUR, **dict(zip(baselines, BASELINE_COLOURS * 2))}
    for name, scores in backtest["summary"].items():
        if scores.get("mae_by_step") is None:
            continue
        is_model = name == MODEL
        axes.plot(steps, scores["mae_by_step"], marker="o" if is_model else ".", label=name,
                  linewidth=2.5 if is_model else 1, color=colours[name], zorder=3 if is_model else 2)
    axes.set_title(f"MAE by horizon step over {len(backtest['origins'])} backtest origins")
    axes.set_xlabel("horizon step")
    axes.set_ylabel(f"MAE ({target})")
    axes.set_xticks(steps if horizon <= 12 else np.linspace(1, horizon, 7).round().astype(int))
    axes.legend(fontsize=7, ncol=2)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_residuals(backtest: dict[str, Any], path: str | os.PathLike, max_lag: int = 40) -> Path:
    """Histogram and autocorrelation of the model's one-step-ahead errors (actual - forecast)."""
    path = Path(path)
    target = backtest["targets"][0]
    one_step = backtest["one_step"]
    residuals = (np.asarray(one_step["actuals"])[:, 0] - np.asarray(one_step["forecasts"])[:, 0])
    max_lag = max(1, min(max_lag, len(residuals) // 2))
    figure, (histogram, correlogram) = new_figure(1, 2, figsize=(10, 3.8), layout="constrained")
    histogram.hist(residuals, bins=min(40, max(5, len(residuals) // 5)), color=MODEL_COLOUR, alpha=0.8)
    histogram.axvline(0, color="black", linewidth=0.8)
    histogram.axvline(residuals.mean(), color="black", linestyle="--", linewidth=0.8,
                      label=f"mean {residuals.mean():.3g}")
    histogram.set_title(f"One-step residuals of the model ({len(residuals)} test steps)")
    histogram.set_xlabel(f"actual - forecast ({target})")
    histogram.set_ylabel("count")
    histogram.legend(fontsize=8)
    lags = np.arange(max_lag + 1)
    correlation = autocorrelation(residuals, max_lag)
    correlogram.vlines(lags, 0, correlation, color=MODEL_COLOUR)
    correlogram.plot(lags, correlation, "o", color=MODEL_COLOUR, markersize=3, label="autocorrelation")
    band = 1.96 / np.sqrt(len(residuals))  # white noise: 95% of lags fall inside
    correlogram.axhspan(-band, band, color="grey", alpha=0.2, label="95% band of white noise")
    correlogram.axhline(0, color="black", linewidth=0.8)
    correlogram.set_title("Autocorrelation of the one-step residuals")
    correlogram.set_xlabel("lag (steps)")
    correlogram.set_ylabel("autocorrelation")
    correlogram.legend(fontsize=8)
    for axes in (histogram, correlogram):
        axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_teacher_forcing(
    backtest: dict[str, Any], path: str | os.PathLike, origins_shown: int = 4
) -> Path:
    """Teacher-forced (true previous values fed back) and free-running forecasts from the same origins."""
    path = Path(path)
    times, values, target = _axis_times(backtest), _target_values(backtest), backtest["targets"][0]
    origins, horizon = backtest["origins"][-origins_shown:], backtest["horizon"]
    shown = len(origins)
    free = np.asarray(backtest["forecasts"][MODEL])[-shown:, :, 0]
    forced = np.asarray(backtest["teacher_forced"])[-shown:, :, 0]
    start = max(0, origins[0] - horizon)
    stop = min(len(values), origins[-1] + horizon)
    figure, axes = new_figure(figsize=(8, 3.8), layout="constrained")
    axes.plot(times[start:stop], values[start:stop], color=ACTUAL_COLOUR, linewidth=1, label="actual")
    for number, origin in enumerate(origins):
        steps = times[origin : origin + horizon]
        first = number == 0
        axes.plot(steps, forced[number], color="#27ae60", marker=".", linewidth=1.2,
                  label="teacher forced (true previous value fed back)" if first else None)
        axes.plot(steps, free[number], color=MODEL_COLOUR, linewidth=1.5, marker="." if horizon < 4 else None,
                  label="free running (own predictions fed back)" if first else None)
        axes.axvline(times[origin], color="grey", linestyle=":", linewidth=0.8)
    strategy, setting = backtest.get("strategy") or "model", backtest.get("teacher_forcing")
    trained = f", trained with teacher forcing '{setting}'" if setting else ""
    axes.set_title(f"{strategy} forecasts of {target}: teacher forced vs free running{trained}", fontsize=10)
    axes.set_xlabel("time")
    axes.set_ylabel(target)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def _target_values(backtest: dict[str, Any]) -> np.ndarray:
    return np.asarray(backtest["values"], dtype=np.float64)[:, 0]


def _axis_times(backtest: dict[str, Any]) -> Any:
    """Timestamps for the x axis; step numbers where the times are not dates."""
    if all(str(time).isdigit() for time in backtest["times"]):  # a series without a time column
        return np.arange(len(backtest["times"]))
    try:
        return pd.to_datetime(pd.Series(backtest["times"])).to_numpy()
    except (ValueError, TypeError):
        return np.arange(len(backtest["times"]))


def _save(figure: Any, path: Path) -> Path:
    figure.savefig(path, dpi=100)
    return path
