"""A Keras-style model summary: one row per layer with its output shape, parameters and multiply-adds.

The summary runs one forward pass on a single zero (or all-ones token) example with hooks on every
leaf module. Multiply-adds follow models/flops.py for Conv2d and Linear (so an image model's total is
`count_multiply_adds`); recurrent layers add theirs (gates x hidden x (input + hidden) per step, layer
and direction), which flops.py leaves out because it only serves image models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from trainlab import registry, rundir
from trainlab.errors import TrainlabError
from trainlab.models.modes import evaluating
from trainlab.models.unrolled_recurrent import UnrolledRecurrent

# Tokens in the example sequence of text and language models: the summary's shapes and recurrent
# multiply-adds are for a sequence this long.
EXAMPLE_TOKENS = 32
GATES = {nn.RNN: 1, nn.GRU: 3, nn.LSTM: 4}


@dataclass(frozen=True)
class LayerRow:
    name: str  # dotted path in the model, e.g. "stage1.0.conv1"
    kind: str  # class name, e.g. "Conv2d"
    output_shape: tuple[int, ...] | None  # of one example (batch dimension dropped); None: not called
    parameters: int  # counted once even when a layer shares them (tied embeddings)
    multiply_adds: int


@dataclass(frozen=True)
class ModelSummary:
    title: str
    input_description: str
    rows: list[LayerRow]
    total_parameters: int
    trainable_parameters: int

    @property
    def total_multiply_adds(self) -> int:
        return sum(row.multiply_adds for row in self.rows)

    def to_text(self) -> str:
        """The table as fixed-width text, for the terminal."""
        header = ("layer", "type", "output shape", "parameters", "multiply-adds")
        lines = [(row.name, row.kind, _shape_text(row.output_shape), f"{row.parameters:,}",
                  f"{row.multiply_adds:,}") for row in self.rows]
        widths = [max(len(header[column]), *(len(line[column]) for line in lines)) if lines else len(header[column])
                  for column in range(5)]

        def format_line(cells: tuple[str, ...]) -> str:
            left = [cells[column].ljust(widths[column]) for column in range(3)]
            right = [cells[column].rjust(widths[column]) for column in range(3, 5)]
            return "  ".join(left + right).rstrip()

        rule = "-" * len(format_line(header))
        return "\n".join([
            f"{self.title} on {self.input_description}",
            rule, format_line(header), rule, *map(format_line, lines), rule,
            f"total parameters: {self.total_parameters:,} (trainable {self.trainable_parameters:,})",
            f"multiply-adds per example: {self.total_multiply_adds:,}",
        ])

    def table_rows(self) -> list[tuple[str, str, str, str, str]]:
        return [(row.name, row.kind, _shape_text(row.output_shape), f"{row.parameters:,}",
                 f"{row.multiply_adds:,}") for row in self.rows]


def _shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "-"
    return "(" + ", ".join(str(size) for size in shape) + ")"


def summarize(model: nn.Module, example_inputs: tuple[Any, ...], title: str, input_description: str) -> ModelSummary:
    """Summarise `model` by running it once on `example_inputs` (a batch of ONE example)."""
    shapes: dict[str, tuple[int, ...]] = {}
    costs: dict[str, int] = {}
    names = {module: name for name, module in model.named_modules()}

    def record(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        name = names[module]
        tensor = _first_tensor(output)
        if tensor is not None and name not in shapes:
            shapes[name] = tuple(tensor.shape[1:])
        costs[name] = costs.get(name, 0) + _multiply_adds(module, inputs, tensor)

    leaves = [module for module in model.modules() if not any(module.children())]
    handles = [module.register_forward_hook(record) for module in leaves]
    try:
        # BatchNorm in training mode needs more than one value per channel
        with evaluating(model), torch.no_grad():
            model(*example_inputs)
    except (RuntimeError, ValueError, TypeError) as error:
        raise TrainlabError(f"model summary: {title} does not run on {input_description} ({error})") from None
    finally:
        for handle in handles:
            handle.remove()

    seen: set[int] = set()
    rows = []
    for name, module in model.named_modules():
        own = [parameter for parameter in module.parameters(recurse=False) if id(parameter) not in seen]
        seen.update(id(parameter) for parameter in own)
        is_leaf = not any(module.children())
        if not is_leaf and not own:
            continue  # a container: its layers have rows of their own
        rows.append(LayerRow(
            name=name or "(model)", kind=type(module).__name__,
            output_shape=shapes.get(name) if is_leaf else None,
            parameters=sum(parameter.numel() for parameter in own), multiply_adds=costs.get(name, 0),
        ))
    parameters = list(model.parameters())  # deduplicated by torch, as count_parameters counts
    return ModelSummary(
        title=title, input_description=input_description, rows=rows,
        total_parameters=sum(parameter.numel() for parameter in parameters),
        trainable_parameters=sum(parameter.numel() for parameter in parameters if parameter.requires_grad),
    )


def _first_tensor(output: Any) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output:
        return _first_tensor(output[0])
    data = getattr(output, "data", None)  # a PackedSequence
    return data if isinstance(data, torch.Tensor) else None


def _multiply_adds(module: nn.Module, inputs: tuple[Any, ...], output: torch.Tensor | None) -> int:
    if output is None:
        return 0
    if isinstance(module, nn.Conv2d):  # as models/flops.py counts them
        kernel_height, kernel_width = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kernel_height * kernel_width
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, nn.Conv1d):
        return output.numel() * (module.in_channels // module.groups) * module.kernel_size[0]
    for kind, gates in GATES.items():
        if isinstance(module, kind):
            return _recurrent_multiply_adds(module, gates, _steps(module, inputs))
    if isinstance(module, UnrolledRecurrent):  # an LSTM variant may have 3 gate blocks
        return _recurrent_multiply_adds(module, len(module.blocks), _steps(module, inputs))
    return 0


def _steps(module: nn.RNNBase, inputs: tuple[Any, ...]) -> int:
    first = inputs[0]
    if isinstance(first, torch.Tensor):
        if first.dim() == 2:  # unbatched (L, F)
            return first.shape[0]
        return first.shape[1] if module.batch_first else first.shape[0]
    return int(first.data.shape[0])  # a PackedSequence of one example: its steps are its rows


def _recurrent_multiply_adds(module: nn.RNNBase, gates: int, steps: int) -> int:
    directions = 2 if module.bidirectional else 1
    hidden = module.hidden_size
    output_size = module.proj_size or hidden
    total = 0
    for layer in range(module.num_layers):
        layer_input = module.input_size if layer == 0 else output_size * directions
        per_step = gates * hidden * (layer_input + output_size)
        if module.proj_size:
            per_step += hidden * module.proj_size
        total += per_step * steps * directions
    return total


def summarize_run(run_dir: str | os.PathLike) -> ModelSummary:
    """The summary of a run's model, rebuilt from its config.yaml and data.json (no data, no weights)."""
    torch.manual_seed(0)  # weights do not matter here, but building must not touch the caller's RNG
    trained = rundir.load_trained(run_dir, weights=False)
    task = registry.tasks.get(trained.config.task)
    spec = task.spec_from_info(trained.info, trained.encoder)
    try:
        inputs, description = task.example_input(spec, EXAMPLE_TOKENS)
    except NotImplementedError:
        raise TrainlabError(f"'{run_dir}': no model summary for {trained.config.task} runs yet") from None
    return summarize(trained.model, inputs, trained.config.model.name, description)


def summarize_model(name: str, input_shape: tuple[int, ...], num_classes: int = 10,
                    task: str | None = None) -> ModelSummary:
    """The summary of registered model `name` with its default options, for `trainlab summary MODEL`.

    `input_shape` is one example's shape: (channels, height, width) for an image model, (tokens,
    vocabulary size) for a text classifier or language model, (window, features) for a forecaster.
    """
    entries = [entry for entry in registry.models.entries() if entry.name == name and (task is None or entry.task == task)]
    if not entries:
        raise TrainlabError(f"model '{name}' is not registered{f' for {task}' if task else ''}; see `trainlab list models`")
    if len(entries) > 1:
        tasks = ", ".join(str(entry.task) for entry in entries)
        raise TrainlabError(f"model '{name}' exists for several tasks ({tasks}); add --task")
    entry = entries[0]
    config = entry.config_class() if entry.config_class is not None else None
    made_for = registry.tasks.get(entry.task)
    try:
        spec = made_for.spec_from_shape(input_shape, num_classes)
        inputs, description = made_for.example_input(spec, input_shape[0])
    except ValueError as error:
        raise TrainlabError(f"--input-shape {_shape_text(input_shape)}: {name} {error}") from None
    except NotImplementedError:
        raise TrainlabError(f"model '{name}' is a {entry.task} model; summary takes image, text, language and forecast models") from None
    torch.manual_seed(0)
    try:
        model = entry.builder(config, spec)
    except ValueError as error:
        raise TrainlabError(f"model {name}: {error}") from None
    return summarize(model, inputs, name, description)
