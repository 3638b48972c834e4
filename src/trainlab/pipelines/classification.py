"""What every classification pipeline shares: its task (with the run's class weights) and, when a
run ends, the confusion matrices and, for two classes, the test split's ROC and precision-recall
curves."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from trainlab import rundir, runs
from trainlab.metrics.classification import binary_curves
from trainlab.models.modes import evaluating
from trainlab.pipelines.base import Pipeline
from trainlab.training.tasks import ClassificationTask, balanced_class_weights


class ClassificationPipeline(Pipeline):
    classes: list[str]
    task: ClassificationTask

    def classification_task(self, train_labels: Any) -> ClassificationTask:
        """The task with the run's label smoothing and, with `train.class_weights=balanced`, loss
        weights from the training split's `train_labels`."""
        train = self.config.train
        weights = None
        if train.class_weights == "balanced":
            weights = balanced_class_weights(torch.as_tensor(train_labels), len(self.classes))
        return ClassificationTask(len(self.classes), train.label_smoothing, weights)

    def summary(self) -> str:
        weights = self.task.class_weights
        if weights is None:
            return self.data.summary()
        listed = ", ".join(f"{name} {weight:.3g}" for name, weight in zip(self.classes, weights.tolist()))
        return f"{self.data.summary()}\nclass weights (balanced, from the training split): {listed}"

    def finish(self, model: nn.Module, results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Any]:
        # metrics.json keeps flat scalars; the matrices go beside it with the class names.
        confusion = {split: result.pop("confusion_matrix") for split, result in results.items()}
        runs.write_json(run_dir / rundir.CONFUSION_FILE, {"classes": self.classes, **confusion})
        curves = self.two_class_curves(model)
        if curves is None:
            return {}
        runs.write_json(run_dir / rundir.ROC_PR_FILE, {"positive_class": self.classes[1], **curves})
        return {f"test_{name}": value for name, value in curve_areas(curves).items()}

    def scored_test(self, model: nn.Module, results: dict[str, Any]) -> dict[str, Any]:
        """The Trainer's test metrics and, for two classes, the areas `finish` adds."""
        curves = self.two_class_curves(model)
        return results if curves is None else {**results, **curve_areas(curves)}

    def two_class_curves(self, model: nn.Module) -> dict[str, Any] | None:
        """The test split's ROC and precision-recall curves of a two-class run; None otherwise."""
        if len(self.classes) != 2:
            return None
        return binary_curves(*positive_class_scores(model, self.task, self.test_batches))


def curve_areas(curves: dict[str, Any]) -> dict[str, float]:
    """The areas of `binary_curves`: ROC AUC and average precision."""
    return {"roc_auc": curves["roc"]["auc"], "average_precision": curves["precision_recall"]["average_precision"]}


def positive_class_scores(model: nn.Module, task: ClassificationTask, batches: Iterable) -> tuple[Tensor, Tensor]:
    """The probability of class 1 (N,) and the true class (N,) of every example of `batches`, from
    a two-class model in eval mode without gradients."""
    device = next(model.parameters()).device
    scores, labels = [], []
    with evaluating(model), torch.no_grad():
        for batch in batches:
            _, logits, targets = task.forward(model, tuple(tensor.to(device) for tensor in batch), training=False)
            scores.append(logits.float().softmax(dim=1)[:, 1].cpu())
            labels.append(targets.cpu())
    return torch.cat(scores), torch.cat(labels)
