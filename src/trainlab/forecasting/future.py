"""Forecasts past the end of the data, from a trained forecast run (`trainlab forecast`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from trainlab import runs
from trainlab.data.calendar import calendar_features, with_calendar
from trainlab.data.sources import load_source
from trainlab.data.windows import scaler_from_state
from trainlab.errors import TrainlabError
from trainlab.forecasting.baselines import make_baseline
from trainlab.metrics.model_choice import forecaster_label
from trainlab.models.forecast import window_forecaster
from trainlab.rundir import METRICS_FILE, TrainedRun, load_run_config, load_trained, read_json


def forecast_future(run_dir: str | os.PathLike, horizon: int | None = None, source: str | None = None) -> pd.DataFrame:
    """The next `horizon` steps after the end of the run's series (or of `source`, a series with the
    same columns), on the original scale, one row per future time.

    The forecaster is the one the run chose on validation (metrics.json's `chosen_model`): the
    network, or a baseline fitted on the whole series. A horizon longer than the network's is
    forecast recursively: its forecasts become the history of the next call. Future covariates are
    unknown, so they are held at their last values then.
    """
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    if config.task != "forecast":
        raise TrainlabError(f"'{run_dir}' is a {config.task} run; forecast takes forecast runs")
    trained = load_trained(run_dir, config)
    info = trained.info
    horizon = info["horizon"] if horizon is None else horizon
    if horizon < 1:
        raise TrainlabError(f"--horizon {horizon}: forecast at least one step")
    data = config.data if source is None else config.data.model_copy(update={"source": source})
    attributes = info.get("calendar") or []
    series = with_calendar(load_source("forecast", data).whole_until_test(), attributes)
    if series.target_names != info["targets"]:
        raise TrainlabError(
            f"--data {source}: its targets {series.target_names} are not the run's {info['targets']}"
        )
    history = series.values.astype(np.float64)
    chosen = read_json(run_dir / METRICS_FILE, default={}).get("chosen_model", "network")
    if chosen != "network":  # a baseline won on validation: it forecasts every step from the history
        runs.say(f"forecast by {forecaster_label(chosen)}, the model this run chose on validation "
                 f"(metrics.json: chosen_model), fitted on the {len(history):,} steps of the series")
        values = make_baseline(chosen, period=info["period"]).fit(history).predict(horizon)
        times = _future_times(series.times, info["frequency"], horizon)
        return pd.DataFrame(values, columns=info["targets"], index=times)
    forecaster = trained_forecaster(trained)
    covariates = None if series.covariates is None else series.covariates.astype(np.float64)
    if horizon > info["horizon"] and len(info.get("covariates") or []):
        runs.say("note: future covariates are unknown; they are held at their last values")
    # Enough future times for every step fed back (the last call may forecast past `horizon`).
    times = _future_times(series.times, info["frequency"], horizon + info["horizon"])
    predicted: list[np.ndarray] = []
    while (done := sum(len(part) for part in predicted)) < horizon:
        step = forecaster(history, covariates)  # (model horizon, targets)
        predicted.append(step)
        history = np.concatenate([history, step])
        if covariates is not None:
            covariates = np.concatenate([covariates, _next_covariates(covariates, times[done : done + len(step)],
                                                                      attributes)])
    values = np.concatenate(predicted)[:horizon]
    return pd.DataFrame(values, columns=info["targets"], index=times[:horizon])


def _next_covariates(covariates: np.ndarray, times: pd.Index, attributes: list[str]) -> np.ndarray:
    """The covariates of the future `times`: the data's held at their last values (they are
    unknown), the calendar features computed from the times (held too when the steps have none)."""
    held = np.repeat(covariates[-1:], len(times), axis=0)
    calendar_columns = 2 * len(attributes)
    if calendar_columns and isinstance(times, pd.DatetimeIndex):
        held[:, covariates.shape[1] - calendar_columns :] = calendar_features(times, attributes)
    return held


def trained_forecaster(trained: TrainedRun) -> Callable[..., np.ndarray]:
    """The run's network as a backtest callable, `forecast(history (T, k), covariates=None) -> (H, k)`,
    reading its inputs with the training scalers and answering on the original scale."""
    info = trained.info
    target_scaler = scaler_from_state(info["target_scaler"])
    covariate_scaler = scaler_from_state(info["covariate_scaler"]) if info["covariate_scaler"] else None
    return window_forecaster(trained.model, info["window"], target_scaler, covariate_scaler)


def _future_times(times: pd.DatetimeIndex, frequency: str | None, horizon: int) -> pd.Index:
    if frequency is None:  # irregular steps: number them after the last one
        return pd.RangeIndex(1, horizon + 1, name="steps_ahead")
    return pd.date_range(times[-1], periods=horizon + 1, freq=frequency)[1:].rename("time")
