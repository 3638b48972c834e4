"""Recurrent forecasters (RNN, LSTM, GRU) over sliding windows, with three multi-step strategies.

- direct: the encoder reads the window and one linear head emits all `horizon` steps at once.
- recursive: a one-step model; each prediction is fed back as the next input (the same RNN goes on
  from its state). Future covariates are not in the windows, so the covariate slots of the fed-back
  inputs repeat the last observed covariates.
- seq2seq: an encoder reads the window, a separate decoder RNN starts from the encoder's state and
  sees only targets: first the last observed one, then the previous step's target (teacher
  forcing) or its own prediction (free running). Covariates reach it only through the encoder.

Teacher forcing (recursive and seq2seq) applies whenever `forward` gets `targets`; the task passes
them while training only. `teacher_forcing` picks how often the true target is fed back instead of
the prediction: "always", "never", or "scheduled" (scheduled sampling, Bengio et al. 2015): with
probability `teacher_forcing_ratio` per example and step. The trainer calls `set_epoch(epoch)` at
the start of each epoch, which sets the ratio to `initial ratio * decay ** epoch`.

Normalisation per window (targets only; covariates pass unchanged), undone on the outputs:
"last" subtracts each target's last observed value, so the network learns a correction to the
naive forecast; "revin" is RevIN (Kim et al. 2022): subtract the window mean, divide by the window
standard deviation, then a learnable affine map per target; "seasonal" reads the window relative to
its last value, like "last", and forecasts the residual to the seasonal naive forecast (the value
one season before each forecast step), so that an untrained network already forecasts like that
baseline and training learns what the season does not repeat (direct strategy only: the values fed
back by the others would be residuals read as levels).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, PositiveInt, model_validator
from torch import nn

from trainlab import registry
from trainlab.models.cell_options import FUSED, CellOptionsConfig, build_recurrent
from trainlab.models.modes import evaluating

Strategy = Literal["direct", "recursive", "seq2seq"]
TeacherForcing = Literal["always", "never", "scheduled"]
Normalization = Literal["none", "last", "revin", "seasonal"]


class RecurrentForecastConfig(CellOptionsConfig):
    """Options shared by the `rnn`, `lstm` and `gru` forecasters (and the cell's, CellOptionsConfig)."""

    name: str = "lstm"
    hidden_size: PositiveInt = 64
    layers: PositiveInt = 1
    dropout: float = Field(0.0, ge=0, lt=1)  # between RNN layers and before the head
    strategy: Strategy = "direct"
    teacher_forcing: TeacherForcing = "never"  # recursive and seq2seq, while training
    teacher_forcing_ratio: float = Field(1.0, ge=0, le=1)  # scheduled: the ratio at epoch 0
    teacher_forcing_decay: float = Field(0.9, gt=0, le=1)  # scheduled: ratio * decay ** epoch
    normalization: Normalization = "none"

    @model_validator(mode="after")
    def _seasonal_is_direct(self) -> RecurrentForecastConfig:
        if self.normalization == "seasonal" and self.strategy != "direct":
            raise ValueError(f"model.normalization=seasonal forecasts with model.strategy=direct only "
                             f"(got {self.strategy}): the values the others feed back would be residuals")
        return self


class RNNForecastConfig(RecurrentForecastConfig):
    name: str = "rnn"


class LSTMForecastConfig(RecurrentForecastConfig):
    name: str = "lstm"


class GRUForecastConfig(RecurrentForecastConfig):
    name: str = "gru"


class WindowNormalization(nn.Module):
    """No normalisation; the base of the others. Statistics are per window and per target column.

    normalize(inputs (B, W, F)) -> (inputs with the first k columns normalised, stats);
    normalize_targets(targets (B, H, k), stats) and denormalize(predictions (B, H, k), stats).
    """

    def __init__(self, target_features: int):
        super().__init__()
        self.target_features = target_features

    def statistics(self, targets: torch.Tensor) -> Any:
        return None

    def normalize(self, inputs: torch.Tensor) -> tuple[torch.Tensor, Any]:
        k = self.target_features
        stats = self.statistics(inputs[..., :k])
        normalized = self.normalize_targets(inputs[..., :k], stats)
        return torch.cat([normalized, inputs[..., k:]], dim=-1), stats

    def normalize_targets(self, targets: torch.Tensor, stats: Any) -> torch.Tensor:
        return targets

    def denormalize(self, predictions: torch.Tensor, stats: Any) -> torch.Tensor:
        return predictions


class LastValueNormalization(WindowNormalization):
    """Subtract the last observed value of each target: the model predicts changes from it."""

    def statistics(self, targets: torch.Tensor) -> torch.Tensor:
        return targets[:, -1:]  # (B, 1, k)

    def normalize_targets(self, targets: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        return targets - last

    def denormalize(self, predictions: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        return predictions + last


class RevIN(WindowNormalization):
    """Reversible instance normalisation with a learnable affine map per target column."""

    def __init__(self, target_features: int, eps: float = 1e-5):
        super().__init__(target_features)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(target_features))
        self.bias = nn.Parameter(torch.zeros(target_features))

    def statistics(self, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = targets.mean(dim=1, keepdim=True)  # (B, 1, k)
        std = torch.sqrt(targets.var(dim=1, keepdim=True, unbiased=False) + self.eps)
        return mean.detach(), std.detach()  # as in RevIN: statistics are constants, not learnt through

    def normalize_targets(self, targets: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]):
        mean, std = stats
        return (targets - mean) / std * self.weight + self.bias

    def denormalize(self, predictions: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]):
        mean, std = stats
        # eps**2 keeps the division finite should a weight reach 0 (as the RevIN reference code).
        return (predictions - self.bias) / (self.weight + self.eps**2) * std + mean


class SeasonalResidual(WindowNormalization):
    """Inputs relative to each target's last value; outputs added to the seasonal naive forecast,
    the value `period` steps before each forecast step (of the window's last season)."""

    def __init__(self, target_features: int, period: int, horizon: int):
        super().__init__(target_features)
        self.period = period
        # forecast step h (0-based) repeats the window's step -period + h % period
        self.register_buffer("seasonal_steps", torch.tensor([h % period - period for h in range(horizon)]),
                             persistent=False)

    def normalize(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if inputs.shape[1] < self.period:
            raise ValueError(f"a window of {inputs.shape[1]} steps holds no full season of {self.period}")
        k = self.target_features
        targets = inputs[..., :k]
        seasonal = targets[:, inputs.shape[1] + self.seasonal_steps]  # (B, H, k)
        return torch.cat([targets - targets[:, -1:], inputs[..., k:]], dim=-1), seasonal

    def normalize_targets(self, targets: torch.Tensor, seasonal: torch.Tensor) -> torch.Tensor:
        return targets - seasonal

    def denormalize(self, predictions: torch.Tensor, seasonal: torch.Tensor) -> torch.Tensor:
        return predictions + seasonal


NORMALIZATIONS: dict[str, type[WindowNormalization]] = {
    "none": WindowNormalization,
    "last": LastValueNormalization,
    "revin": RevIN,
    "seasonal": SeasonalResidual,
}


class RecurrentForecaster(nn.Module):
    """An RNN/LSTM/GRU encoder over the window and a multi-step strategy after it.

    Args (of forward):
        inputs: (B, window, input_features): the target columns first, then the covariates.
        targets: optional (B, horizon, target_features) true future values for teacher forcing.
    Returns:
        predictions (B, horizon, target_features), on the scale of the inputs.
    """

    def __init__(
        self,
        cell: str,
        input_features: int,
        target_features: int,
        horizon: int,
        hidden_size: int = 64,
        layers: int = 1,
        dropout: float = 0.0,
        strategy: Strategy = "direct",
        teacher_forcing: TeacherForcing = "never",
        teacher_forcing_ratio: float = 1.0,
        teacher_forcing_decay: float = 0.9,
        normalization: Normalization = "none",
        cell_options: dict | None = None,
        period: int = 1,
    ):
        super().__init__()
        if cell not in FUSED:
            raise ValueError(f"cell must be one of {', '.join(FUSED)} (got {cell!r})")
        if strategy not in ("direct", "recursive", "seq2seq"):
            raise ValueError(f"strategy must be direct, recursive or seq2seq (got {strategy!r})")
        if teacher_forcing not in ("always", "never", "scheduled"):
            raise ValueError(f"teacher_forcing must be always, never or scheduled (got {teacher_forcing!r})")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {', '.join(NORMALIZATIONS)} (got {normalization!r})")
        if normalization == "seasonal" and strategy != "direct":
            raise ValueError(f"normalization seasonal forecasts with the direct strategy only (got {strategy!r})")
        if not 1 <= target_features <= input_features:
            raise ValueError(
                f"the inputs carry the targets first, so target_features ({target_features}) must be "
                f"between 1 and input_features ({input_features})"
            )
        self.cell = cell
        self.target_features = target_features
        self.horizon = horizon
        self.strategy = strategy
        self.teacher_forcing = teacher_forcing
        self.initial_teacher_forcing_ratio = teacher_forcing_ratio
        self.teacher_forcing_decay = teacher_forcing_decay
        self.teacher_forcing_ratio = teacher_forcing_ratio  # "scheduled": the ratio now (set_epoch)

        self.normalization = (SeasonalResidual(target_features, period, horizon) if normalization == "seasonal"
                              else NORMALIZATIONS[normalization](target_features))
        # Dropout between RNN layers only with several (torch warns about it with one).
        self.encoder = build_recurrent(cell, input_features, hidden_size, layers, dropout, **(cell_options or {}))
        if strategy == "seq2seq":
            self.decoder = build_recurrent(cell, target_features, hidden_size, layers, dropout,
                                           **(cell_options or {}))
        self.dropout = nn.Dropout(dropout)
        outputs_per_step = target_features * (horizon if strategy == "direct" else 1)
        self.head = nn.Linear(hidden_size, outputs_per_step)

    def set_epoch(self, epoch: int) -> None:
        """Scheduled sampling: the teacher-forcing ratio of epoch `epoch` (0-based)."""
        if self.teacher_forcing == "scheduled":
            decay = self.teacher_forcing_decay**epoch
            self.teacher_forcing_ratio = self.initial_teacher_forcing_ratio * decay

    def current_teacher_forcing_ratio(self) -> float:
        """The probability of feeding back the true target when targets are given."""
        return {"always": 1.0, "never": 0.0}.get(self.teacher_forcing, self.teacher_forcing_ratio)

    def forward_features(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, hidden_size) the encoder's last top-layer output over the normalised window.

        There is no `forward_head`: recursive and seq2seq decoding need the encoder state and the
        window's last values, not a feature vector.
        """
        normalized, _ = self.normalization.normalize(inputs)
        outputs, _ = self.encoder(normalized)
        return outputs[:, -1]

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        normalized, stats = self.normalization.normalize(inputs)
        teacher = None
        if targets is not None and self.strategy != "direct":
            teacher = self.normalization.normalize_targets(targets, stats)  # (B, H, k)
        outputs, state = self.encoder(normalized)  # (B, W, hidden)
        if self.strategy == "direct":
            flat = self.head(self.dropout(outputs[:, -1]))  # (B, H * k)
            # -1, not len(inputs): an exported (traced) model keeps its batch size free
            predictions = flat.view(-1, self.horizon, self.target_features)
        elif self.strategy == "recursive":
            predictions = self._recursive(normalized, outputs[:, -1], state, teacher)
        else:
            predictions = self._seq2seq(normalized, state, teacher)
        return self.normalization.denormalize(predictions, stats)

    def _step_head(self, outputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(outputs))  # (..., hidden) -> (..., k)

    def _fed_back(self, teacher: torch.Tensor | None, step: int, prediction: torch.Tensor) -> torch.Tensor:
        """The value fed to the next step: the true target of `step` or the prediction (B, k)."""
        ratio = self.current_teacher_forcing_ratio()
        if teacher is None or ratio == 0:
            return prediction
        if ratio == 1:
            return teacher[:, step]
        use_teacher = torch.rand(len(prediction), 1, device=prediction.device) < ratio
        return torch.where(use_teacher, teacher[:, step], prediction)

    def _recursive(
        self, normalized: torch.Tensor, last_output: torch.Tensor, state: Any, teacher: torch.Tensor | None
    ) -> torch.Tensor:
        k = self.target_features
        last_covariates = normalized[:, -1, k:]  # (B, c): repeated, the future ones are unknown
        first = self._step_head(last_output)  # (B, k)
        if teacher is not None and self.teacher_forcing == "always" and self.horizon > 1:
            # Every fed-back value is known in advance: one RNN call instead of a loop.
            covariates = last_covariates[:, None].expand(-1, self.horizon - 1, -1)
            outputs, _ = self.encoder(torch.cat([teacher[:, :-1], covariates], dim=-1), state)
            return torch.cat([first[:, None], self._step_head(outputs)], dim=1)
        predictions = [first]
        for step in range(1, self.horizon):
            previous = self._fed_back(teacher, step - 1, predictions[-1])
            output, state = self.encoder(torch.cat([previous, last_covariates], dim=-1)[:, None], state)
            predictions.append(self._step_head(output[:, -1]))
        return torch.stack(predictions, dim=1)  # (B, H, k)

    def _seq2seq(self, normalized: torch.Tensor, state: Any, teacher: torch.Tensor | None) -> torch.Tensor:
        last_target = normalized[:, -1, : self.target_features]  # (B, k): the decoder's first input
        if teacher is not None and self.teacher_forcing == "always":
            decoder_inputs = torch.cat([last_target[:, None], teacher[:, :-1]], dim=1)  # (B, H, k)
            outputs, _ = self.decoder(decoder_inputs, state)
            return self._step_head(outputs)
        predictions: list[torch.Tensor] = []
        previous = last_target
        for step in range(self.horizon):
            output, state = self.decoder(previous[:, None], state)
            predictions.append(self._step_head(output[:, -1]))
            previous = self._fed_back(teacher, step, predictions[-1])
        return torch.stack(predictions, dim=1)  # (B, H, k)


def _build(cell: str, config: RecurrentForecastConfig, spec) -> RecurrentForecaster:
    return RecurrentForecaster(
        cell,
        spec.input_features,
        spec.target_features,
        spec.horizon,
        config.hidden_size,
        config.layers,
        config.dropout,
        config.strategy,
        config.teacher_forcing,
        config.teacher_forcing_ratio,
        config.teacher_forcing_decay,
        config.normalization,
        config.cell_options(),
        spec.period,
    )


# cell -> (its config, what `trainlab list models` says of it)
CELLS = {
    "rnn": (RNNForecastConfig, "Elman RNN (tanh) forecaster: direct, recursive or seq2seq over sliding windows."),
    "lstm": (LSTMForecastConfig, "LSTM forecaster: direct, recursive or seq2seq over sliding windows."),
    "gru": (GRUForecastConfig, "GRU forecaster: direct, recursive or seq2seq over sliding windows."),
}
for _cell, (_config, _summary) in CELLS.items():
    registry.models.register(_cell, _summary, config_class=_config, task="forecast")(partial(_build, _cell))


def window_forecaster(
    model: nn.Module,
    window: int,
    target_scaler: Any = None,
    covariate_scaler: Any = None,
) -> Callable[..., np.ndarray]:
    """A trained forecaster as a backtest callable: forecast(history (T, k), covariates=None) -> (H, k).

    It reads the last `window` steps of the history (and of the covariates, when the model was
    trained with them), scales them with the training scalers, and returns the forecast on the
    original scale. The model is run in eval mode without gradients on its own device.
    """

    def forecast(history: np.ndarray, covariates: np.ndarray | None = None) -> np.ndarray:
        if len(history) < window:
            raise ValueError(f"the history has {len(history)} steps, fewer than the window ({window})")
        features = history[-window:]
        if target_scaler is not None:
            features = target_scaler.transform(features)
        if covariates is not None:
            past = covariates[-window:]
            if covariate_scaler is not None:
                past = covariate_scaler.transform(past)
            features = np.concatenate([features, past], axis=1)
        parameter = next(model.parameters())
        inputs = torch.as_tensor(np.asarray(features), dtype=parameter.dtype, device=parameter.device)
        with evaluating(model), torch.no_grad():
            predictions = model(inputs[None])[0].cpu().numpy()  # (H, k)
        return target_scaler.inverse_transform(predictions) if target_scaler is not None else predictions

    return forecast
