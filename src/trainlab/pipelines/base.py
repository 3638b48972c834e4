"""What a task is: one Pipeline subclass, registered once, declares everything trainlab asks of it.

The class attributes and static methods say what the rest of the code needs to know about the task
without building it: its default model, the loader of its `--data`, the data `trainlab list models`
sizes models for, how a finished run's model is rebuilt and summarised, what `predict` and
`evaluate --data` take. An instance is one run's data side (see `Pipeline`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from trainlab import registry
from trainlab.config import Config, DataConfig
from trainlab.data.batching import TensorBatches, TransformedBatches
from trainlab.training.callbacks import Callback
from trainlab.training.tasks import Task

if TYPE_CHECKING:
    import torch

    from trainlab.data.tokenizers import TextEncoder

Pair = tuple["torch.Tensor", "torch.Tensor"]  # (inputs, targets) of one split
Transform = Callable[["torch.Tensor"], "torch.Tensor"]


class Pipeline:
    """The data side of one run of a task. Subclasses set the attributes in `__init__`.

    Attributes:
        data: the loaded splits (anything with `summary()`).
        spec: what the model builder needs to know about the data (ImageSpec, TextSpec, ...).
        task: loss, metrics and the meaning of a batch (training/tasks.py).
        train_batches, val_batches, test_batches: iterables of batches (val may be None).
        info: written to RUN_DIR/data.json; what predict, forecast and reports need.
    """

    # -- what the task declares (read without building a run) --
    default_model: ClassVar[str]  # the model a config that names none trains
    # Options of the default model where the config names no model (naming one, even the default,
    # gives that model's own defaults); options the config sets win.
    default_model_options: ClassVar[dict[str, Any]] = {}
    # Training options that come with that recipe (same rule: only where no model is named, and
    # options the config sets win), e.g. early stopping for a model known to overfit.
    default_train_options: ClassVar[dict[str, Any]] = {}
    # What `trainlab tune` searches (sweep space syntax, sweeps/space.py); keys the config's model
    # lacks are left out.
    tuning_space: ClassVar[dict[str, dict[str, Any]]] = {"optim.lr": {"type": "log-float", "low": 1e-4, "high": 1e-2}}
    data_section: ClassVar[type[DataConfig]]  # the options of its kind of data (data_options.py)
    loader: ClassVar[str]  # "module:function" reading `--data` into splits (imported when a run reads data)
    # "module:function" scoring a finished run on other data (`trainlab evaluate RUN --data SOURCE`)
    new_data_scorer: ClassVar[str | None] = None
    reference_spec: ClassVar[Any] = None  # the data `trainlab list models` counts parameters for
    predicts: ClassVar[bool] = False  # `trainlab predict` takes its inputs (texts or image files)
    saves_encoder: ClassVar[bool] = False  # a run writes its tokenizer (rundir.ENCODER_FILE)

    data: Any
    spec: Any
    task: Task
    train_batches: Iterable
    val_batches: Iterable | None
    test_batches: Iterable
    info: dict[str, Any]

    def __init__(self, config: Config):
        self.config = config

    @classmethod
    def model_recipe(cls, given: dict[str, Any]) -> dict[str, Any]:
        """The default model's options for a config that names no model and sets `given`."""
        return cls.default_model_options

    def summary(self) -> str:
        return self.data.summary()

    def use_tensor_batches(self, train: Pair, val: Pair | None, test: Pair, train_transform: Transform | None = None,
                           eval_transform: Transform | None = None) -> None:
        """Batches of each split's (inputs, targets) tensors in the run's batch size, the training
        ones shuffled by the run's seed; a transform applies to each batch of its splits."""
        batch_size, seed = self.config.data.batch_size, self.config.run.seed

        def batches(pair: Pair, transform: Transform | None, shuffle: bool = False) -> Iterable:
            plain = TensorBatches(*pair, batch_size=batch_size, shuffle=shuffle, seed=seed)
            return plain if transform is None else TransformedBatches(plain, transform, seed)

        self.train_batches = batches(train, train_transform, shuffle=True)
        self.val_batches = None if val is None else batches(val, eval_transform)
        self.test_batches = batches(test, eval_transform)

    def callbacks(self) -> list[Callback]:
        """Callbacks the task needs besides the default ones (e.g. a teacher-forcing schedule)."""
        return []

    def use_backbone_features(self, model: nn.Module, device: torch.device) -> str | None:
        """Where the model's backbone stays fixed all run long, replace the batches by its features,
        computed once, and say so in a line; None where the task does not (the default)."""
        return None

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

    # -- a finished run of the task (rundir.load_trained, trainlab summary) --

    @staticmethod
    def spec_from_info(info: dict[str, Any], encoder: TextEncoder | None) -> Any:
        """The spec a run's model was built for, from its data.json (and saved vocabulary)."""
        raise NotImplementedError

    @staticmethod
    def spec_from_shape(input_shape: tuple[int, ...], num_classes: int) -> Any:
        """The spec of one example of `input_shape` (`trainlab summary MODEL --input-shape`); a
        ValueError saying what the shape should be ("takes images; give C,H,W, ...") otherwise."""
        raise NotImplementedError

    @staticmethod
    def example_input(spec: Any, tokens: int) -> tuple[tuple[torch.Tensor, ...], str]:
        """One example input for a model built for `spec` (`tokens` long where it takes tokens),
        and its description ("one 3x32x32 image")."""
        raise NotImplementedError


def build_pipeline(config: Config) -> Pipeline:
    """The pipeline of `config.task`, with its data loaded."""
    return registry.tasks.get(config.task)(config)
