"""Tasks own what a batch means, the loss and the metrics, so one Trainer serves every task.

The Trainer is typed against the two protocols below; each task of trainlab (classification,
forecasting, language modelling, the synthetic sequence tasks) is one class of this module.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import torch
from torch import nn
from torch.nn import functional as F

from trainlab.metrics.classification import classification_report


class Meter(Protocol):
    """Accumulates one epoch's (or one evaluation's) batches into metrics.

    Distributed training combines the ranks' meters through the attribute names a meter lists in
    `gathered` (lists of tensors, concatenated) and `summed` (scalars, added), when it has them.
    """

    def update(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None: ...

    def compute(self) -> dict[str, Any]: ...


class Task(Protocol):
    """What a batch means, the loss, and the meters of training and evaluation."""

    metric_names: ClassVar[tuple[str, ...]] | tuple[str, ...]  # what eval_meter().compute() returns
    train_metric_names: ClassVar[tuple[str, ...]] | tuple[str, ...]  # what train_meter().compute() returns

    def forward(
        self, model: nn.Module, batch: tuple[torch.Tensor, ...], training: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mean loss, outputs, targets) of one batch; the meters receive all three."""
        ...

    def train_meter(self) -> Meter: ...

    def eval_meter(self) -> Meter: ...


class ClassificationTask:
    """Batches are (inputs..., class indices); `model(inputs...)` returns logits (B, num_classes):
    images `(images, labels)`, texts `(tokens, lengths, labels)`.

    Label smoothing and class weights shape the training loss only: validation and test losses are
    the plain cross-entropy, so they stay comparable across runs with and without them. With class
    weights the training loss is PyTorch's weighted mean, sum(w[y] * loss) / sum(w[y]).
    """

    metric_names = ("loss", "accuracy", "macro_precision", "macro_recall", "macro_f1")
    train_metric_names = ("loss", "accuracy")  # what TrainMeter tracks during an epoch

    def __init__(self, num_classes: int, label_smoothing: float = 0.0, class_weights: torch.Tensor | None = None):
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.class_weights = class_weights  # (num_classes,) float32, or None
        self._weights_on: dict[torch.device, torch.Tensor] = {}

    def forward(
        self, model: nn.Module, batch: tuple[torch.Tensor, ...], training: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mean loss, logits (B, num_classes), targets (B,)) for one batch."""
        *inputs, targets = batch
        logits = model(*inputs)
        if not training:
            return F.cross_entropy(logits, targets), logits, targets
        weights = None
        if self.class_weights is not None:
            if logits.device not in self._weights_on:
                self._weights_on[logits.device] = self.class_weights.to(logits.device)
            weights = self._weights_on[logits.device]
        loss = F.cross_entropy(logits, targets, weight=weights, label_smoothing=self.label_smoothing)
        return loss, logits, targets

    def train_meter(self) -> TrainMeter:
        return TrainMeter()

    def eval_meter(self) -> EvalMeter:
        return EvalMeter(self.num_classes)


class HeadOnlyTask:
    """A task whose batches hold a frozen backbone's features instead of its inputs: only the
    model's head runs (`model.forward_head`), and everything else is the wrapped task's."""

    def __init__(self, task: Task):
        self.task = task

    def forward(self, model: nn.Module, batch: tuple[torch.Tensor, ...], training: bool):
        return self.task.forward(model.forward_head, batch, training)

    def __getattr__(self, name: str) -> Any:  # metric names, meters, class weights
        if name == "task":  # not set yet (copy and pickle build the object without __init__)
            raise AttributeError(name)
        return getattr(self.task, name)


def balanced_class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """N / (num_classes x N_c) for each class c of `labels` (N of them): scikit-learn's "balanced"
    weights, which give every class the same total weight. A class with no label weighs 0 (it has
    no loss term to weigh)."""
    counts = torch.bincount(torch.as_tensor(labels).flatten(), minlength=num_classes).double()
    weights = torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp_min(1)), 0.0)
    return weights.float()


class TrainMeter:
    """Loss and accuracy over an epoch. Per batch it only keeps tensors (one argmax, no sync);
    the sums happen once at the end of the epoch, which matters for small models."""

    # Distributed training combines the ranks' meters (training/distributed.py): lists gathered.
    gathered = ("losses", "predicted", "targets")

    def __init__(self):
        self.losses: list[torch.Tensor] = []
        self.predicted: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def update(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        self.losses.append(loss.detach())
        self.predicted.append(logits.detach().argmax(dim=1))
        self.targets.append(targets)

    def compute(self) -> dict[str, float]:
        sizes = torch.tensor([len(batch) for batch in self.targets], dtype=torch.float64)
        losses = torch.stack(self.losses).double().cpu()
        correct = (torch.cat(self.predicted) == torch.cat(self.targets)).sum().item()
        return {
            "loss": (losses * sizes).sum().item() / sizes.sum().item(),
            "accuracy": correct / sizes.sum().item(),
        }


class EvalMeter:
    """Every prediction of an evaluation, for the full classification report."""

    summed = ("loss_sum",)
    gathered = ("predicted", "targets")

    def __init__(self, num_classes: int):
        self.num_classes = num_classes
        self.loss_sum: torch.Tensor | float = 0.0
        self.predicted: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def update(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        self.loss_sum = self.loss_sum + loss.detach().double() * len(targets)
        self.predicted.append(logits.argmax(dim=1).cpu())
        self.targets.append(targets.cpu())

    def compute(self) -> dict[str, Any]:
        predicted, targets = torch.cat(self.predicted), torch.cat(self.targets)
        report = classification_report(predicted, targets, self.num_classes)
        return {"loss": float(self.loss_sum) / len(targets), **report}


class LossMeter:
    """The mean training loss over an epoch (regression tasks have no accuracy to track)."""

    gathered = ("losses", "sizes")

    def __init__(self):
        self.losses: list[torch.Tensor] = []
        self.sizes: list[int] = []

    def update(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.losses.append(loss.detach())
        self.sizes.append(len(targets))

    def compute(self) -> dict[str, float]:
        sizes = torch.tensor(self.sizes, dtype=torch.float64)
        losses = torch.stack(self.losses).double().cpu()
        return {"loss": (losses * sizes).sum().item() / sizes.sum().item()}


class ForecastTask:
    """Batches are scaled windows `(inputs (B, window, features), targets (B, horizon, targets))`;
    the model returns predictions shaped like the targets.

    The loss is the MSE on the scaled values (every target weighs the same); evaluation reports
    MAE and RMSE on the original scale and MASE, the MAE divided by the in-sample seasonal-naive
    MAE of the training part (`mase_scale`, one per target), so it can be monitored and compared
    across series. Training passes the targets to the model for teacher forcing.
    """

    metric_names = ("loss", "mae", "rmse", "mase")
    train_metric_names = ("loss",)

    def __init__(self, inverse_transform: Any, mase_scale: Any):
        self.inverse_transform = inverse_transform  # numpy (T, targets) scaled -> original
        self.mase_scale = torch.as_tensor(mase_scale, dtype=torch.float64).reshape(-1)

    def forward(
        self, model: nn.Module, batch: tuple[torch.Tensor, ...], training: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        inputs, targets = batch
        predictions = model(inputs, targets) if training else model(inputs)
        return F.mse_loss(predictions, targets), predictions, targets

    def train_meter(self) -> LossMeter:
        return LossMeter()

    def eval_meter(self) -> ForecastMeter:
        return ForecastMeter(self.inverse_transform, self.mase_scale)


class ForecastMeter:
    """Every prediction of an evaluation, scored on the original scale."""

    summed = ("loss_sum",)
    gathered = ("predictions", "targets")

    def __init__(self, inverse_transform: Any, mase_scale: torch.Tensor):
        self.inverse_transform = inverse_transform
        self.mase_scale = mase_scale
        self.loss_sum: torch.Tensor | float = 0.0
        self.predictions: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def update(self, loss: torch.Tensor, predictions: torch.Tensor, targets: torch.Tensor) -> None:
        self.loss_sum = self.loss_sum + loss.detach().double() * len(targets)
        self.predictions.append(predictions.detach().cpu())
        self.targets.append(targets.cpu())

    def compute(self) -> dict[str, Any]:
        predictions, targets = torch.cat(self.predictions), torch.cat(self.targets)
        shape, width = predictions.shape, predictions.shape[-1]

        def original(values: torch.Tensor) -> torch.Tensor:
            flat = values.double().reshape(-1, width).numpy()
            return torch.from_numpy(self.inverse_transform(flat)).reshape(shape)

        errors = original(predictions) - original(targets)  # (N, horizon, targets)
        per_target_mae = errors.abs().mean(dim=(0, 1))
        return {
            "loss": float(self.loss_sum) / len(targets),
            "mae": errors.abs().mean().item(),
            "rmse": errors.square().mean().sqrt().item(),
            "mase": (per_target_mae / self.mase_scale).mean().item(),
        }


class LanguageModelTask:
    """Batches are `(inputs (B, T), targets (B, T), reset ())` (data/corpus.py LanguageModelBatches);
    `model(inputs, state)` returns `(logits (B, T, V), state)`.

    The task keeps the recurrent state between batches, one for training and one for evaluation,
    detached from the previous batch's graph (truncated BPTT), and starts from zeros where a batch
    says `reset`. Targets equal to IGNORE_INDEX (padding at the end of an evaluated part) are not
    scored. The loss is the mean cross-entropy per scored token in nats; evaluation adds the
    perplexity, bits per token (`bpc`: bits per character for a character model) and the share of
    tokens predicted exactly (`accuracy`).
    """

    metric_names = ("loss", "perplexity", "bpc", "accuracy")
    train_metric_names = ("loss", "accuracy")

    def __init__(self):
        self.states: dict[bool, Any] = {True: None, False: None}

    def forward(
        self, model: nn.Module, batch: tuple[torch.Tensor, ...], training: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mean loss over scored tokens, logits (B, T, V), targets (B, T)) for one batch."""
        from trainlab.models.language_model import detach_state

        inputs, targets, reset = batch
        state = None if bool(reset) else self.states[training]
        if state is not None and _state_batch_size(state) != len(inputs):
            state = None  # a batch of another width (a different split) cannot continue it
        logits, state = model(inputs, state)
        self.states[training] = detach_state(state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
        return loss, logits, targets

    def train_meter(self) -> TokenMeter:
        return TokenMeter()

    def eval_meter(self) -> TokenMeter:
        return TokenMeter(full=True)


def _state_batch_size(state: Any) -> int:
    return (state[0] if isinstance(state, tuple) else state).shape[1]


class TokenMeter:
    """Mean cross-entropy and next-token accuracy over the scored tokens of an epoch, weighted by
    tokens (the last chunk of a part is shorter and padding is not scored). Per batch it keeps
    tensors only; the sums happen once in `compute`. With `full`, the perplexity and bits per
    token of the mean loss are added."""

    gathered = ("loss_sums", "correct", "counts")

    def __init__(self, full: bool = False):
        self.full = full
        self.loss_sums: list[torch.Tensor] = []
        self.correct: list[torch.Tensor] = []
        self.counts: list[torch.Tensor] = []

    def update(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        scored = targets != -100
        count = scored.sum()
        self.loss_sums.append(loss.detach().double() * count)
        self.correct.append(((logits.detach().argmax(dim=-1) == targets) & scored).sum())
        self.counts.append(count)

    def compute(self) -> dict[str, float]:
        from trainlab.metrics.language import language_scores

        tokens = torch.stack(self.counts).sum().item()
        loss = torch.stack(self.loss_sums).sum().item() / tokens
        accuracy = torch.stack(self.correct).sum().item() / tokens
        if not self.full:
            return {"loss": loss, "accuracy": accuracy}
        return {**language_scores(loss), "accuracy": accuracy}


class SequenceTask:
    """The synthetic sequence tasks (pipelines/sequence.py): `kind` "classification" (one class per
    sequence), "sequence-labelling" (a class per step) or "regression"; batches are `(inputs, targets)`."""

    def __init__(self, kind: str, num_classes: int):
        self.kind = kind
        self.num_classes = num_classes
        regression = kind == "regression"
        self.metric_names = ("loss", "mae") if regression else ("loss", "accuracy")
        self.train_metric_names = ("loss",) if regression else ("loss", "accuracy")

    def loss(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.kind == "regression":
            return F.mse_loss(predictions, targets)
        return F.cross_entropy(predictions.reshape(-1, self.num_classes), targets.reshape(-1))

    def forward(self, model: nn.Module, batch: tuple[torch.Tensor, ...], training: bool):
        """(mean loss, outputs, targets); per-step logits are flattened to (B * T, C)."""
        inputs, targets = batch
        predictions = model(inputs)
        loss = self.loss(predictions, targets)
        if self.kind == "sequence-labelling":
            return loss, predictions.reshape(-1, self.num_classes), targets.reshape(-1)
        return loss, predictions, targets

    def train_meter(self) -> Meter:
        return LossMeter() if self.kind == "regression" else TrainMeter()

    def eval_meter(self) -> Meter:
        return RegressionMeter() if self.kind == "regression" else AccuracyMeter(self.num_classes)


class RegressionMeter:
    """Mean squared error (the loss) and mean absolute error over an evaluation."""

    gathered = ("errors",)  # combined across ranks in distributed training

    def __init__(self):
        self.errors: list[torch.Tensor] = []

    def update(self, loss: torch.Tensor, predictions: torch.Tensor, targets: torch.Tensor) -> None:
        self.errors.append((predictions.detach().double() - targets.double()).reshape(-1).cpu())

    def compute(self) -> dict[str, float]:
        errors = torch.cat(self.errors)
        return {"loss": errors.square().mean().item(), "mae": errors.abs().mean().item()}


class AccuracyMeter(EvalMeter):
    """Loss and accuracy only: a per-step confusion matrix says little about memory."""

    def compute(self) -> dict[str, Any]:
        predicted, targets = torch.cat(self.predicted), torch.cat(self.targets)
        return {"loss": float(self.loss_sum) / len(targets),
                "accuracy": (predicted == targets).double().mean().item()}
