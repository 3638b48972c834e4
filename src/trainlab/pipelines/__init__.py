"""One pipeline per task: what its data becomes before training, and what a finished run adds.

A pipeline loads the run's data, says what the model must fit (`spec`), which Task object owns the
loss and metrics, which batches to train and evaluate on, and what goes beside the metrics when
training ends (a confusion matrix, a tokenizer, baseline scores). `experiment.py` builds the model,
the trainer and the callbacks the same way for every task. Importing this package registers every
task under its name (`trainlab list tasks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from torch import nn

from trainlab import registry
from trainlab.config import Config
from trainlab.training.callbacks import Callback


class Pipeline:
    """The data side of one run. Subclasses set the attributes in `__init__`.

    Attributes:
        data: the loaded splits (anything with `summary()`).
        spec: what the model builder needs to know about the data (ImageSpec, TextSpec, ...).
        task: loss, metrics and the meaning of a batch (training/tasks.py).
        train_batches, val_batches, test_batches: iterables of batches (val may be None).
        info: written to RUN_DIR/data.json; what predict, forecast and reports need.
    """

    data: Any
    spec: Any
    task: Any
    train_batches: Iterable
    val_batches: Iterable | None
    test_batches: Iterable
    info: dict[str, Any]

    def __init__(self, config: Config):
        self.config = config

    def summary(self) -> str:
        return self.data.summary()

    def callbacks(self) -> list[Callback]:
        """Callbacks the task needs besides the default ones (e.g. a teacher-forcing schedule)."""
        return []

    def save_artifacts(self, run_dir: Path) -> None:
        """Files besides data.json that using the trained model needs (e.g. the tokenizer)."""

    def finish(self, model: nn.Module, results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Any]:
        """Flat extra metrics for metrics.json, from the evaluation `results` of each split ("val",
        "test"); may take non-scalar entries out of `results` and write them to files."""
        return {}

    def scored_test(self, model: nn.Module, results: dict[str, Any]) -> dict[str, Any]:
        """The test split's metrics as metrics.json holds them, from the Trainer's evaluation
        `results` (`trainlab evaluate`): the same unless `finish` scores the test split otherwise."""
        return results


def build_pipeline(config: Config) -> Pipeline:
    """The pipeline of `config.task`, with its data loaded."""
    return registry.tasks.get(config.task)(config)


from trainlab.pipelines import (  # registers the tasks
    forecast,
    image_classification,
    language_model,
    sequence,
    text_classification,
)

__all__ = ["Pipeline", "build_pipeline", "forecast", "image_classification", "language_model",
           "sequence", "text_classification"]
