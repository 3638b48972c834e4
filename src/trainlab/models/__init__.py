"""Model zoo. Importing this package registers every builtin model."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from trainlab import registry


@dataclass(frozen=True)
class ImageSpec:
    """What an image classifier needs to know about its data."""

    in_channels: int
    height: int
    width: int
    num_classes: int


def build_model(config, spec) -> nn.Module:
    """Build the registered model `config.name` for data described by `spec`."""
    return registry.models.get(config.name)(config, spec)


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


from trainlab.models import cnn

__all__ = ["ImageSpec", "build_model", "cnn", "count_parameters"]
