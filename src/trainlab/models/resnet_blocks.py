"""The layers of every ResNet: option-A shortcut, basic and bottleneck blocks, stages, the network.

Module and parameter names are torchvision's (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, fc).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from trainlab.models.layers import ActivationName, conv1x1, conv3x3, make_activation


class PadShortcut(nn.Module):
    """He et al.'s option A: a strided identity whose extra channels are zeros; no parameters.

    (B, C_in, H, W) -> (B, out_channels, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, stride: int, out_channels: int):
        super().__init__()
        self.stride = stride
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - x.shape[1]))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (ResNet-18/34 and the CIFAR ResNets): (B, C_in, H, W) -> (B, planes, H/s, W/s)."""

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        groups: int = 1,
        width_per_group: int = 64,
        activation: ActivationName = "relu",
    ):
        super().__init__()
        if groups != 1 or width_per_group != 64:
            raise ValueError(
                f"basic blocks support only groups=1 and width_per_group=64 (got {groups} and "
                f"{width_per_group}); grouped convolutions (ResNeXt) need bottleneck blocks"
            )
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act = make_activation(activation)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.residual = residual

    @property
    def last_norm(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.act(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped for ResNeXt, strided as torchvision's v1.5), 1x1 expand.

    (B, C_in, H, W) -> (B, planes * 4, H/s, W/s); the inner width is
    int(planes * width_per_group / 64) * groups, as in torchvision.
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        groups: int = 1,
        width_per_group: int = 64,
        activation: ActivationName = "relu",
    ):
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.act = make_activation(activation)
        self.downsample = downsample
        self.residual = residual

    @property
    def last_norm(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.act(out)


Block = type[BasicBlock] | type[Bottleneck]


def make_stage(
    block: Block,
    in_channels: int,
    planes: int,
    num_blocks: int,
    stride: int,
    shortcut: Literal["projection", "pad"],
    residual: bool,
    **block_options,
) -> nn.Sequential:
    """`num_blocks` blocks; the first changes resolution and width, through a shortcut if residual."""
    out_channels = planes * block.expansion
    downsample: nn.Module | None = None
    if residual and (stride != 1 or in_channels != out_channels):
        if shortcut == "pad":
            downsample = PadShortcut(stride, out_channels)
        else:
            downsample = nn.Sequential(
                conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels)
            )
    blocks = [block(in_channels, planes, stride, downsample, residual, **block_options)]
    blocks += [block(out_channels, planes, 1, None, residual, **block_options) for _ in range(num_blocks - 1)]
    return nn.Sequential(*blocks)


class ResNet(nn.Module):
    """Stem, stages `layer1..layerN` (each after the first halves the resolution), pool, classifier.

    Args:
        stem: "imagenet" (7x7 stride-2 convolution and a 3x3 stride-2 max-pool, 1/4 resolution) or
            "cifar" (one 3x3 convolution, full resolution).
        shortcut: "projection" (1x1 convolution + BN, torchvision) or "pad" (He et al.'s option A).
    Args (of forward):
        images: (B, in_channels, H, W), any size.
    Returns:
        logits (B, num_classes).
    """

    def __init__(
        self,
        block: Block,
        blocks_per_stage: Sequence[int],
        stage_planes: Sequence[int],
        num_classes: int,
        in_channels: int = 3,
        stem: Literal["imagenet", "cifar"] = "imagenet",
        stem_channels: int = 64,
        shortcut: Literal["projection", "pad"] = "projection",
        residual: bool = True,
        groups: int = 1,
        width_per_group: int = 64,
        activation: ActivationName = "relu",
    ):
        super().__init__()
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, stem_channels, kernel_size=7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = conv3x3(in_channels, stem_channels)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.act = make_activation(activation)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if stem == "imagenet" else nn.Identity()
        self.stage_names: list[str] = []
        channels = stem_channels
        for index, (num_blocks, planes) in enumerate(zip(blocks_per_stage, stage_planes)):
            stage = make_stage(
                block, channels, planes, num_blocks, stride=1 if index == 0 else 2, shortcut=shortcut,
                residual=residual, groups=groups, width_per_group=width_per_group, activation=activation,
            )
            self.add_module(f"layer{index + 1}", stage)  # torchvision's names
            self.stage_names.append(f"layer{index + 1}")
            channels = planes * block.expansion
        self.num_features = channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.act(self.bn1(self.conv1(images))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return x  # (B, num_features, H / 2^k, W / 2^k)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(features), 1))  # (B, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(images))
