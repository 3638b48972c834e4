"""VGG-11/13/16/19 (Simonyan and Zisserman 2015), with and without BatchNorm, from a channel-list table.

Two heads, chosen by the input size:
- ImageNet-sized input (height and width >= 64): torchvision's VGG, keys included (features.N,
  classifier.0/3/6): a 7x7 adaptive average pool and a 4096-4096 classifier with dropout.
- Smaller input (CIFAR's 32x32 and below): the usual CIFAR adaptation, a single Linear(512, classes)
  after the last pool (global average pooling in front of it, a no-op when the map is already 1x1).
  A max-pool that would shrink the map below 1x1 is replaced by an identity, so tiny inputs still
  work and the indices of `features` stay torchvision's.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from trainlab import registry
from trainlab.config import ModelConfig
from trainlab.models.imagenet_weights import imagenet_weights
from trainlab.models.layers import InitScheme, initialize
from trainlab.models.pretrained import load_pretrained

# Output channels of each 3x3 convolution, "M" for a 2x2 max-pool (the paper's configurations A-E).
LAYOUTS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}
IMAGENET_MIN_SIZE = 64  # from this height and width on, the torchvision (ImageNet) head


def make_features(
    layout: list[int | str], in_channels: int, batch_norm: bool, image_size: tuple[int, int]
) -> nn.Sequential:
    """conv3x3 (+ BN) + ReLU per number, a 2x2 max-pool per "M" (an identity once the map is 1 pixel)."""
    layers: list[nn.Module] = []
    height, width = image_size
    channels = in_channels
    for entry in layout:
        if entry == "M":
            if height >= 2 and width >= 2:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                height, width = height // 2, width // 2
            else:
                layers.append(nn.Identity())
            continue
        layers.append(nn.Conv2d(channels, entry, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(entry))
        layers.append(nn.ReLU(inplace=True))
        channels = entry
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """Convolution stacks, pooling, classifier; the head depends on the input size (module docstring).

    Args (of forward):
        images: (B, in_channels, H, W) with H and W as given at construction (any size works for
            the ImageNet head).
    Returns:
        logits (B, num_classes).
    """

    def __init__(
        self,
        layout: list[int | str],
        in_channels: int,
        num_classes: int,
        image_size: tuple[int, int],
        batch_norm: bool = False,
        dropout: float | None = None,
    ):
        super().__init__()
        self.features = make_features(layout, in_channels, batch_norm, image_size)
        channels = [entry for entry in layout if entry != "M"][-1]
        self.imagenet_head = min(image_size) >= IMAGENET_MIN_SIZE
        if self.imagenet_head:
            dropout = 0.5 if dropout is None else dropout
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(channels * 7 * 7, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(4096, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(4096, num_classes),
            )
        else:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Dropout(dropout or 0.0), nn.Linear(channels, num_classes))

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)  # (B, 512, H / 32, W / 32) (at least 1x1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(features), 1))  # (B, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(images))


class VGGConfig(ModelConfig):
    """Options of every VGG."""

    name: str = "vgg16"
    # None: 0.5 in the ImageNet classifier (torchvision), none before the CIFAR head's single layer.
    dropout: float | None = Field(None, ge=0, lt=1)
    init: InitScheme = "kaiming"
    load_pretrained: str | None = None  # a safetensors or weights-only torch file (torchvision keys)
    # imagenet: torchvision's ImageNet weights, downloaded once (models/imagenet_weights.py); the
    # image pipeline then feeds them 224x224 RGB inputs normalised with ImageNet's statistics.
    pretrained: Literal["none", "imagenet"] = "none"


class VGG11Config(VGGConfig):
    name: str = "vgg11"


class VGG11BNConfig(VGGConfig):
    name: str = "vgg11_bn"


class VGG13Config(VGGConfig):
    name: str = "vgg13"


class VGG13BNConfig(VGGConfig):
    name: str = "vgg13_bn"


class VGG16Config(VGGConfig):
    name: str = "vgg16"


class VGG16BNConfig(VGGConfig):
    name: str = "vgg16_bn"


class VGG19Config(VGGConfig):
    name: str = "vgg19"


class VGG19BNConfig(VGGConfig):
    name: str = "vgg19_bn"


def build_vgg(config: VGGConfig, spec, depth_name: str, batch_norm: bool) -> VGG:
    model = VGG(
        LAYOUTS[depth_name],
        spec.in_channels,
        spec.num_classes,
        (spec.height, spec.width),
        batch_norm=batch_norm,
        dropout=config.dropout,
    )
    initialize(model, config.init)
    if config.load_pretrained and config.pretrained != "none":
        raise ValueError("give model.load_pretrained=PATH or model.pretrained=imagenet, not both")
    if config.load_pretrained:
        load_pretrained(model, config.load_pretrained)
    elif config.pretrained == "imagenet":
        load_pretrained(model, imagenet_weights(config.name))
    return model


# name -> (its config, layout, BatchNorm after every convolution, what `trainlab list models` says of it)
VARIANTS = {
    "vgg11": (VGG11Config, "vgg11", False, "VGG-11 (configuration A): 8 convolutions, 133M parameters at 224x224 (9.2M on 32x32)."),
    "vgg11_bn": (VGG11BNConfig, "vgg11", True, "VGG-11 with BatchNorm after every convolution."),
    "vgg13": (VGG13Config, "vgg13", False, "VGG-13 (configuration B): 10 convolutions, 133M parameters at 224x224 (9.4M on 32x32)."),
    "vgg13_bn": (VGG13BNConfig, "vgg13", True, "VGG-13 with BatchNorm after every convolution."),
    "vgg16": (VGG16Config, "vgg16", False, "VGG-16 (configuration D): 13 convolutions, 138M parameters at 224x224 (14.7M on 32x32)."),
    "vgg16_bn": (VGG16BNConfig, "vgg16", True, "VGG-16 with BatchNorm after every convolution."),
    "vgg19": (VGG19Config, "vgg19", False, "VGG-19 (configuration E): 16 convolutions, 144M parameters at 224x224 (20.0M on 32x32)."),
    "vgg19_bn": (VGG19BNConfig, "vgg19", True, "VGG-19 with BatchNorm after every convolution."),
}
for _name, (_config, _layout, _batch_norm, _summary) in VARIANTS.items():
    registry.models.register(_name, _summary, config_class=_config, task="image-classification")(
        partial(build_vgg, depth_name=_layout, batch_norm=_batch_norm))
