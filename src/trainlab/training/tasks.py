"""Tasks own what a batch means, the loss and the metrics, so one Trainer serves every task."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from trainlab.metrics.classification import classification_report


class ClassificationTask:
    """Batches are (inputs..., class indices); `model(inputs...)` returns logits (B, num_classes):
    images `(images, labels)`, texts `(tokens, lengths, labels)`.

    Label smoothing regularises the training loss only: validation and test losses are the plain
    cross-entropy, so they stay comparable across runs with and without smoothing.
    """

    metric_names = ("loss", "accuracy", "macro_precision", "macro_recall", "macro_f1")
    train_metric_names = ("loss", "accuracy")  # what TrainMeter tracks during an epoch

    def __init__(self, num_classes: int, label_smoothing: float = 0.0):
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing

    def forward(
        self, model: nn.Module, batch: tuple[torch.Tensor, ...], training: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mean loss, logits (B, num_classes), targets (B,)) for one batch."""
        *inputs, targets = batch
        logits = model(*inputs)
        smoothing = self.label_smoothing if training else 0.0
        return F.cross_entropy(logits, targets, label_smoothing=smoothing), logits, targets

    def train_meter(self) -> TrainMeter:
        return TrainMeter()

    def eval_meter(self) -> EvalMeter:
        return EvalMeter(self.num_classes)


class TrainMeter:
    """Loss and accuracy over an epoch. Per batch it only keeps tensors (one argmax, no sync);
    the sums happen once at the end of the epoch, which matters for small models."""

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
