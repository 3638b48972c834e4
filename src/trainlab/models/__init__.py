"""Model zoo. Importing this package registers every builtin model."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from trainlab import registry


@dataclass(frozen=True)
class ImageSpec:
    """What an image classifier needs to know about its data."""

    in_channels: int
    height: int
    width: int
    num_classes: int


@dataclass(frozen=True)
class TextSpec:
    """What a text classifier needs to know about its data."""

    vocab_size: int
    num_classes: int
    padding_idx: int = 0
    embeddings: torch.Tensor | None = None  # (vocab_size, dim) pretrained rows (data.embeddings)
    encoder_weights: dict[str, torch.Tensor] | None = None  # a language model's (model.pretrained_encoder)


@dataclass(frozen=True)
class SeriesSpec:
    """What a forecaster needs to know about its windows."""

    input_features: int  # per step: the target columns, then the covariates
    target_features: int
    window: int
    horizon: int
    period: int = 1  # the seasonal period (model.normalization=seasonal forecasts the residual to it)


def build_model(config, spec, task: str | None = None) -> nn.Module:
    """Build the registered model `config.name` (the one made for `task`) for data like `spec`."""
    return registry.models.get(config.name, task)(config, spec)


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


class _ShapesOnly(TorchFunctionMode):
    """Skips the random initialisation of weights (torch.nn.init): counting needs shapes only, and
    on the meta device torch runs its random fills through a compiled reference that imports
    torch._dynamo (3 s of `trainlab list models` for nothing)."""

    initialisers = frozenset(
        [getattr(nn.init, name) for name in dir(nn.init) if name.endswith("_") and not name.startswith("_")]
        + [torch.Tensor.normal_, torch.Tensor.uniform_]  # what the initialisers call
    )

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.initialisers:
            return args[0] if args else kwargs.get("tensor", kwargs.get("self"))
        return func(*args, **kwargs)


def reference_parameter_count(name: str, task: str) -> int | None:
    """Parameters of model `name` with its default options on the task's reference data; built on
    the meta device, so even VGG costs no memory. None when the model does not fit that data."""
    entry = registry.models.entry(name, task)
    reference = registry.tasks.get(task).reference_spec  # the data its task declares
    if reference is None or entry.config_class is None:
        return None
    try:
        with torch.device("meta"), _ShapesOnly():
            return count_parameters(entry.builder(entry.config_class(), reference))
    except (ValueError, RuntimeError, NotImplementedError):
        return None


from trainlab.models import (  # registers the models
    cnn,
    forecast,
    language_model,
    resnet,
    rnn,
    sequence,
    vgg,
)

__all__ = [
    "ImageSpec", "SeriesSpec", "TextSpec", "build_model", "cnn", "count_parameters", "forecast",
    "language_model", "reference_parameter_count", "resnet", "rnn", "sequence", "vgg",
]
