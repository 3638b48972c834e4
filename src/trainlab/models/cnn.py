"""Small image classifiers: the Keras-style `simple_cnn` and an `mlp` baseline."""

from __future__ import annotations

import itertools
from typing import Literal

import torch
from pydantic import Field, PositiveInt
from torch import nn

from trainlab import registry
from trainlab.config import ModelConfig
from trainlab.models.layers import ActivationName, make_activation


class SimpleCNNConfig(ModelConfig):
    name: str = "simple_cnn"
    channels: list[PositiveInt] = [32, 64]  # one conv block per entry, each halves the resolution
    hidden_size: PositiveInt = 128
    dropout: float = Field(0.0, ge=0, lt=1)
    batch_norm: bool = True
    # Options of the cnn-ablations study
    pooling: Literal["max", "avg"] = "max"
    activation: ActivationName = "relu"  # in the conv blocks and the hidden dense layer
    kernel_size: Literal[3, 5, 7] = 3  # padding kernel_size // 2 keeps the resolution


class MLPConfig(ModelConfig):
    name: str = "mlp"
    hidden_sizes: list[PositiveInt] = [256, 128]
    dropout: float = Field(0.0, ge=0, lt=1)


def conv_block(
    in_channels: int,
    out_channels: int,
    batch_norm: bool,
    kernel_size: int = 3,
    activation: ActivationName = "relu",
    pooling: Literal["max", "avg"] = "max",
) -> nn.Sequential:
    """conv kxk (same size) -> (BN) -> activation -> 2x2 max- or average-pool."""
    return nn.Sequential(
        nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm
        ),
        nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity(),
        make_activation(activation),
        nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2),
    )


class SimpleCNN(nn.Module):
    """Conv blocks, then a hidden fully connected layer and the classifier.

    Args (of forward):
        images: (B, C, H, W); H and W must be divisible by 2 ** len(channels).
    Returns:
        logits (B, num_classes).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        image_size: tuple[int, int],
        channels: list[int],
        hidden_size: int,
        dropout: float = 0.0,
        batch_norm: bool = True,
        pooling: Literal["max", "avg"] = "max",
        activation: ActivationName = "relu",
        kernel_size: int = 3,
    ):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(
                f"simple_cnn needs an odd kernel_size to keep the image size (got {kernel_size})"
            )
        downsampling = 2 ** len(channels)
        height, width = image_size
        if height % downsampling or width % downsampling:
            raise ValueError(
                f"simple_cnn halves the image once per block ({len(channels)} in model.channels), "
                f"so height and width must be divisible by {downsampling} (got {height}x{width})"
            )
        widths = [in_channels, *channels]
        self.features = nn.Sequential(
            *(
                conv_block(a, b, batch_norm, kernel_size, activation, pooling)
                for a, b in itertools.pairwise(widths)
            )
        )
        flat_size = channels[-1] * (height // downsampling) * (width // downsampling)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat_size, hidden_size),
            make_activation(activation),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, num_classes),
        )

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)  # (B, channels[-1], H / 2^k, W / 2^k)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(images))


class MLP(nn.Module):
    """Flatten the image, then fully connected ReLU layers and the classifier."""

    def __init__(
        self, in_features: int, num_classes: int, hidden_sizes: list[int], dropout: float = 0.0
    ):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for hidden_size in hidden_sizes:
            layers += [nn.Linear(width, hidden_size), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden_size
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)  # (B, hidden_sizes[-1])

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(images))


@registry.models.register("simple_cnn", config_class=SimpleCNNConfig, task="image-classification")
def simple_cnn(config: SimpleCNNConfig, spec) -> SimpleCNN:
    """Keras-style CNN: conv-BN-ReLU-pool blocks, a hidden dense layer, the classifier."""
    return SimpleCNN(
        spec.in_channels,
        spec.num_classes,
        (spec.height, spec.width),
        config.channels,
        config.hidden_size,
        config.dropout,
        config.batch_norm,
        config.pooling,
        config.activation,
        config.kernel_size,
    )


@registry.models.register("mlp", config_class=MLPConfig, task="image-classification")
def mlp(config: MLPConfig, spec) -> MLP:
    """Multilayer perceptron on flattened pixels: the baseline every CNN should beat."""
    in_features = spec.in_channels * spec.height * spec.width
    return MLP(in_features, spec.num_classes, config.hidden_sizes, config.dropout)
