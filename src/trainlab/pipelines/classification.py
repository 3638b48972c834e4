"""What every classification pipeline shares: its task (with the run's class weights) and, when a
run ends, the confusion matrices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainlab import rundir, runs
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
        return {}
