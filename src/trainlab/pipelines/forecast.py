"""Forecasting: scaled windows for training, then a rolling-origin backtest over the test part in
which the network and every baseline forecast from exactly the same origins, on the original scale.

RUN_DIR/backtest.json holds what the forecast figures (reports/forecast_plots.py) read: the whole
series up to the end of the test part, the backtest's origins, actuals and forecasts, the model's
one-step-ahead forecasts from every test step (its residuals), and, for models that feed values
back (recursive, seq2seq), their teacher-forced predictions at the backtest origins.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from trainlab import registry, rundir, runs
from trainlab.config import Config, SeriesDataConfig
from trainlab.data.calendar import input_covariates, resolve_attributes, splits_with_calendar
from trainlab.data.series import SeriesSplits, TimeSeries
from trainlab.data.sources import load_source
from trainlab.data.windows import ForecastWindows, window_splits
from trainlab.errors import TrainlabError
from trainlab.forecasting.backtest import SCALAR_METRICS, BacktestResult, backtest, origins
from trainlab.forecasting.baselines import BASELINES, make_baseline
from trainlab.forecasting.seasonality import detect_period
from trainlab.metrics.model_choice import choose_forecaster
from trainlab.metrics.regression import seasonal_naive_scale
from trainlab.models import SeriesSpec
from trainlab.models.forecast import window_forecaster
from trainlab.models.modes import evaluating
from trainlab.pipelines.base import Pipeline
from trainlab.training.callbacks import Callback
from trainlab.training.tasks import ForecastTask


class EpochForModel(Callback):
    """Tells a model that schedules something by epoch (scheduled sampling) which epoch starts."""

    def on_epoch_start(self, state) -> None:
        if hasattr(state.model, "set_epoch"):
            state.model.set_epoch(state.epoch)


@registry.tasks.register("forecast", "forecast a time series (a builtin series or a CSV)")
class Forecast(Pipeline):
    default_model = "lstm"
    tuning_space: ClassVar[dict[str, dict[str, Any]]] = {
        "optim.lr": {"type": "log-float", "low": 3e-4, "high": 1e-2},
        "model.hidden_size": {"type": "choice", "values": [32, 64, 128]},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.3},
        "data.window": {"type": "choice", "values": [24, 48, "auto"]},
        "model.normalization": {"type": "choice", "values": ["none", "last", "revin"]},
    }
    data_section = SeriesDataConfig
    loader = "trainlab.data.series_sources:load_series_source"
    new_data_scorer = "trainlab.evaluation:score_series"
    reference_spec = SeriesSpec(1, 1, 24, 1)  # one series, 24-step windows

    def __init__(self, config: Config):
        super().__init__(config)
        data = config.data
        loaded: SeriesSplits = load_source(config.task, data)
        train = loaded.train
        self.period = data.period or season_period(train)
        self.window, self.window_reason = forecast_window(data.window, self.period, data.horizon, len(train))
        self.calendar, self.calendar_reason = resolve_attributes(data.calendar, train.times, self.window)
        self.data = splits_with_calendar(loaded, self.calendar)
        self.data_summary = loaded.summary()  # the columns of the data, not the calendar inputs
        train = self.data.train
        self.windows: ForecastWindows = window_splits(
            self.data, self.window, data.horizon, data.stride, data.scaler
        )
        try:
            scale = seasonal_naive_scale(train.values, self.period)
        except ValueError as error:
            raise TrainlabError(f"{self.data.name}: {error}") from None
        inputs, targets = self.windows.train
        self.spec = SeriesSpec(inputs.shape[2], targets.shape[2], self.window, data.horizon, self.period)
        if getattr(config.model, "normalization", None) == "seasonal" and self.window < self.period:
            raise TrainlabError(f"model.normalization=seasonal needs a window of at least one season: the "
                                f"window is {self.window} steps, the season {self.period}; set data.window=auto "
                                f"or data.window={self.period} or more")
        self.task = ForecastTask(self.windows.target_scaler.inverse_transform, scale)

        self.use_tensor_batches(self.windows.train, self.windows.val, self.windows.test)
        self.info = {
            "summary": self.data_summary,
            "targets": train.target_names,
            "covariates": loaded.train.covariate_names,
            "calendar": self.calendar,
            "frequency": train.frequency,
            "window": self.window,
            "horizon": data.horizon,
            "period": self.period,
            "target_scaler": self.windows.target_scaler.state_dict(),
            "covariate_scaler": (
                None if self.windows.covariate_scaler is None else self.windows.covariate_scaler.state_dict()
            ),
        }

    def callbacks(self) -> list[Callback]:
        return [EpochForModel()]

    def summary(self) -> str:
        """The data, then how the test part is backtested: what a long series costs is said up front."""
        horizon, stride = self.config.data.horizon, self.config.data.backtest_stride or self.config.data.horizon
        history = len(self.data.whole_until_test()) - len(self.data.test)
        count = len(origins(history + len(self.data.test), history, horizon, stride))
        window = "".join(f"\n{line}" for line in (self.calendar_reason, self.window_reason) if line)
        choice = ""
        if self.data.val is not None:
            choice = ("\nchosen model: the network or a baseline, whichever has the lowest MASE in the same "
                      "backtest over the validation part (baselines fitted on the training part)")
        return (f"{self.data_summary}{window}\n"
                f"backtest: {count} origin{'s' if count > 1 else ''} {stride} step{'s' if stride > 1 else ''} apart "
                f"over the test part; ets and arima are fitted once on the {history:,} steps before the first, "
                f"then run on over each origin's new steps with their estimates kept{choice}")

    def finish(self, model: nn.Module, results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Any]:
        """Backtest the trained network and every baseline over the test part; the network's
        scores replace the per-window test figures, so that every forecaster is judged alike."""
        whole = self.data.whole_until_test()
        outcome = self.backtest(model, whole, BASELINES)
        runs.write_json(run_dir / rundir.BACKTEST_FILE, {
            "times": [str(time) for time in whole.times],
            "targets": whole.target_names,
            "values": whole.values.tolist(),  # (T, targets): the history the figures show
            "strategy": getattr(model, "strategy", None),
            "teacher_forcing": getattr(model, "teacher_forcing", None),
            **outcome.to_dict(),
            "actuals": outcome.actuals.tolist(),  # (origins, horizon, targets), for the plots
            "forecasts": {name: values.tolist() for name, values in outcome.forecasts.items()},
            **self.diagnostics(model, whole, outcome.origins),
        })
        extra: dict[str, Any] = {"season_period": self.period, "backtest_origins": len(outcome.origins)}
        for name, scores in outcome.summary.items():
            prefix = "test" if name == "model" else f"baseline_{name}"
            extra.update({f"{prefix}_{metric}": scores[metric] for metric in SCALAR_METRICS})
        baselines = {name: extra[f"baseline_{name}_mase"] for name in BASELINES
                     if extra.get(f"baseline_{name}_mase") is not None}
        if baselines:
            extra["best_baseline"] = min(baselines, key=baselines.get)
        if self.data.val is not None:
            extra.update(self.chosen_forecaster(model, extra))
        results["test"] = {key: value for key, value in results["test"].items()
                           if key not in ("mae", "rmse", "mase")}
        return extra

    def chosen_forecaster(self, model: nn.Module, test_scores: dict[str, Any]) -> dict[str, Any]:
        """The network or a baseline, whichever backtests best over the validation part (the
        network and every baseline forecasting from the same origins, the baselines fitted on the
        training part); every candidate's validation and test MASE, and the winner's test scores."""
        history = self.data.train if self.data.val_history is None else self.data.val_history
        try:
            outcome = self.backtest(model, history.followed_by(self.data.val), BASELINES, initial=len(history))
        except ValueError as error:  # a validation part shorter than the horizon
            runs.say(f"note: the network is kept without a choice on validation: {error}")
            return {}
        val_mase = {("network" if name == "model" else name): scores["mase"]
                    for name, scores in outcome.summary.items()}
        chosen = choose_forecaster(val_mase)
        prefix = {name: "test" if name == "network" else f"baseline_{name}" for name in val_mase}
        extra: dict[str, Any] = {"chosen_model": chosen}
        for name, value in val_mase.items():
            extra[f"candidate_{name}_val_mase"] = value
            extra[f"candidate_{name}_test_mase"] = test_scores.get(f"{prefix[name]}_mase")
        extra.update({f"chosen_test_{metric}": test_scores.get(f"{prefix[chosen]}_{metric}")
                      for metric in SCALAR_METRICS})
        return extra

    def scored_test(self, model: nn.Module, results: dict[str, Any]) -> dict[str, Any]:
        """The per-window loss, and the network's backtest scores in place of its per-window ones."""
        scores = self.backtest(model, self.data.whole_until_test(), baselines=()).summary["model"]
        return {"loss": results["loss"], **{metric: scores[metric] for metric in SCALAR_METRICS}}

    def backtest(
        self, model: nn.Module, whole: TimeSeries, baselines: Iterable[str], initial: int | None = None
    ) -> BacktestResult:
        """The network ("model") and `baselines` forecast from the same origins of the part of
        `whole` from step `initial` on (None: the test part)."""
        horizon = self.config.data.horizon
        forecasters: dict[str, Any] = {"model": window_forecaster(
            model, self.window, self.windows.target_scaler, self.windows.covariate_scaler
        )}
        forecasters.update({name: make_baseline(name, period=self.period) for name in baselines})
        return backtest(
            forecasters, whole.values, horizon,
            initial=len(whole) - len(self.data.test) if initial is None else initial,
            stride=self.config.data.backtest_stride or horizon, refit=False, period=self.period,
            covariates=whole.covariates,
        )

    def diagnostics(self, model: nn.Module, whole: TimeSeries, origins: list[int]) -> dict[str, Any]:
        """The model's one-step-ahead forecasts from every test step and, for models that feed
        values back, its teacher-forced predictions at the backtest `origins` (original scale)."""
        window, scalers = self.window, self.windows
        features = scalers.target_scaler.transform(whole.values)
        if whole.covariates is not None and scalers.covariate_scaler is not None:
            features = np.concatenate([features, scalers.covariate_scaler.transform(whole.covariates)], axis=1)
        original = scalers.target_scaler.inverse_transform
        first_test_step = len(whole) - len(self.data.test)
        steps = list(range(first_test_step, len(whole)))
        one_step = window_forecasts(model, features, steps, window)[:, 0]  # (steps, targets)
        diagnostics: dict[str, Any] = {"one_step": {
            "origins": steps,
            "actuals": whole.values[first_test_step:].tolist(),
            "forecasts": original(one_step).tolist(),
        }}
        if getattr(model, "strategy", "direct") in ("recursive", "seq2seq"):
            horizon = self.config.data.horizon
            truth = np.stack([scalers.target_scaler.transform(whole.values[origin : origin + horizon])
                              for origin in origins])  # (origins, horizon, targets)
            forced = window_forecasts(model, features, origins, window, teacher=truth)
            diagnostics["teacher_forced"] = [original(values).tolist() for values in forced]
        return diagnostics

    @staticmethod
    def spec_from_info(info: dict[str, Any], encoder: Any) -> SeriesSpec:
        targets = len(info["targets"])
        return SeriesSpec(targets + len(input_covariates(info)), targets, info["window"], info["horizon"],
                          info.get("period", 1))

    @staticmethod
    def spec_from_shape(input_shape: tuple[int, ...], num_classes: int) -> SeriesSpec:
        if len(input_shape) != 2:
            raise ValueError("takes series windows; give WINDOW,FEATURES, e.g. 24,1")
        window, features = input_shape
        return SeriesSpec(features, features, window, 1)

    @staticmethod
    def example_input(spec: SeriesSpec, tokens: int) -> tuple[tuple[torch.Tensor, ...], str]:
        return (torch.zeros(1, spec.window, spec.input_features),), f"one window of {spec.window} steps"


def window_forecasts(
    model: nn.Module,
    features: np.ndarray,
    origins: list[int],
    window: int,
    teacher: np.ndarray | None = None,
    batch_size: int = 512,
) -> np.ndarray:
    """The model's forecasts (origins, horizon, targets) from the `window` steps before each origin.

    Args:
        features: (T, input_features) scaled as in training, the targets first.
        teacher: optional (origins, horizon, targets) scaled true values: the model then sees the true
            previous value at every step (teacher forcing), whatever its training setting.
    Returns the forecasts on the scale of `features`, computed in eval mode without gradients.
    """
    parameter = next(model.parameters())
    setting = getattr(model, "teacher_forcing", None)
    if teacher is not None:
        model.teacher_forcing = "always"
    try:
        batches = []
        with evaluating(model), torch.no_grad():
            for start in range(0, len(origins), batch_size):
                chunk = origins[start : start + batch_size]
                inputs = np.stack([features[origin - window : origin] for origin in chunk])
                inputs = torch.as_tensor(inputs, dtype=parameter.dtype, device=parameter.device)
                targets = None
                if teacher is not None:
                    targets = torch.as_tensor(teacher[start : start + batch_size], dtype=parameter.dtype,
                                              device=parameter.device)
                predictions = model(inputs) if targets is None else model(inputs, targets)
                batches.append(predictions.cpu().numpy())
    finally:
        if teacher is not None:
            model.teacher_forcing = setting
    return np.concatenate(batches)


# data.window=auto: at least this many steps, at most the cap (an LSTM's cost grows with the window).
AUTO_WINDOW_MIN, AUTO_WINDOW_CAP = 24, 512


def forecast_window(window: int | str, period: int, horizon: int, train_steps: int) -> tuple[int, str | None]:
    """The input length and, for `data.window=auto`, why: one full season plus the horizon (the
    network then sees the last season of every step it forecasts), at least AUTO_WINDOW_MIN, at
    most AUTO_WINDOW_CAP and a quarter of the training part."""
    if window != "auto":
        return int(window), None
    wanted = max(AUTO_WINDOW_MIN, period + horizon)
    cap = min(AUTO_WINDOW_CAP, max(1, train_steps // 4))
    chosen = min(wanted, cap)
    if chosen < wanted:
        reason = (f"window {chosen}: {wanted} wanted (the season {period} + the horizon {horizon}, at least "
                  f"{AUTO_WINDOW_MIN}), capped at {cap} (at most {AUTO_WINDOW_CAP}, and a quarter of the "
                  f"{train_steps} training steps)")
    elif period + horizon >= AUTO_WINDOW_MIN:
        reason = f"window {chosen} = the season {period} + the horizon {horizon}"
    else:
        reason = f"window {chosen}, the minimum (the season {period} + the horizon {horizon} is shorter)"
    return chosen, f"data.window=auto: {reason}"


# Calendar seasons, where the step says what they are; other steps (daily: weekly or yearly
# seasons) are detected from the autocorrelation of the training part.
CALENDAR_PERIODS = {"h": 24, "H": 24, "MS": 12, "M": 12, "ME": 12, "QS": 4, "Q": 4, "QE": 4}


def season_period(series: TimeSeries) -> int:
    """The seasonal period used by seasonal naive and MASE when `data.period` is not given."""
    frequency = series.frequency or ""
    if frequency in CALENDAR_PERIODS or frequency.startswith("W"):
        period = CALENDAR_PERIODS.get(frequency, 52)
        if len(series) > period:
            return period
    return detect_period(series.values[:, 0], max_period=len(series) // 3)
