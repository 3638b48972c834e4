"""ResNet, its plain twin and ResNeXt from one builder.

CIFAR-style networks follow He et al. 2016, section 4.2 (a 3x3 stem, three stages of 16/32/64 channels,
parameter-free "option A" shortcuts) and Xie et al. 2017 for ResNeXt-29. ImageNet-style networks
follow torchvision's architecture, and their state_dict keys are torchvision's (conv1, bn1,
layer1.0.conv1, layer1.0.downsample.0, fc), so that torchvision's weights load with
`model.load_pretrained=PATH`.

`residual=false` builds the plain twin: exactly the same layers without any shortcut, so that the
depth-vs-residual comparison changes nothing else (the parameter counts differ only by projection
shortcuts, and not at all for the CIFAR ResNets, whose shortcuts have no parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal

from pydantic import PositiveInt, field_validator

from trainlab import registry
from trainlab.config import ModelConfig
from trainlab.models.imagenet_weights import imagenet_weights
from trainlab.models.layers import ActivationName, InitScheme, initialize
from trainlab.models.pretrained import load_pretrained
from trainlab.models.resnet_blocks import BasicBlock, Block, Bottleneck, ResNet

# --- configs ------------------------------------------------------------------------------------


class ResNetConfig(ModelConfig):
    """Options of every ResNet (basic blocks)."""

    name: str = "resnet18"
    residual: bool = True  # false: the plain twin, the same layers without shortcuts
    init: InitScheme = "kaiming"
    zero_init_residual: bool = False  # zero the last BN of each residual branch
    activation: ActivationName = "relu"
    load_pretrained: str | None = None  # a safetensors or weights-only torch file (torchvision keys)
    # imagenet: torchvision's ImageNet weights, downloaded once (models/imagenet_weights.py); the
    # image pipeline then feeds them 224x224 RGB inputs normalised with ImageNet's statistics.
    pretrained: Literal["none", "imagenet"] = "none"


class BottleneckResNetConfig(ResNetConfig):
    """Options of the bottleneck ResNets and ResNeXts: cardinality and width of each group."""

    groups: PositiveInt = 1  # cardinality
    width_per_group: PositiveInt = 64


class CifarResNetConfig(ResNetConfig):
    """A CIFAR ResNet of any depth 6n + 2 (n basic blocks per stage), e.g. 8 for the depth study."""

    name: str = "resnet_cifar"
    depth: PositiveInt = 20

    @field_validator("depth")
    @classmethod
    def _depth_is_6n_plus_2(cls, depth: int) -> int:
        if depth < 8 or (depth - 2) % 6:
            raise ValueError("CIFAR ResNet depth must be 6n + 2 with n >= 1, e.g. 8, 20, 56")
        return depth


class ResNet18Config(ResNetConfig):
    name: str = "resnet18"


class ResNet20Config(ResNetConfig):
    name: str = "resnet20"


class ResNet32Config(ResNetConfig):
    name: str = "resnet32"


class ResNet44Config(ResNetConfig):
    name: str = "resnet44"


class ResNet56Config(ResNetConfig):
    name: str = "resnet56"


class ResNet110Config(ResNetConfig):
    name: str = "resnet110"


class ResNet34Config(ResNetConfig):
    name: str = "resnet34"


class ResNet50Config(BottleneckResNetConfig):
    name: str = "resnet50"


class ResNet101Config(BottleneckResNetConfig):
    name: str = "resnet101"


class ResNeXt50Config(BottleneckResNetConfig):
    name: str = "resnext50_32x4d"
    groups: PositiveInt = 32
    width_per_group: PositiveInt = 4


class ResNeXt29x8x64Config(BottleneckResNetConfig):
    name: str = "resnext29_8x64d"
    groups: PositiveInt = 8
    width_per_group: PositiveInt = 64


class ResNeXt29x4x16Config(BottleneckResNetConfig):
    name: str = "resnext29_4x16d"
    groups: PositiveInt = 4
    width_per_group: PositiveInt = 16


# --- builders -----------------------------------------------------------------------------------

# The stem and stage widths of each family; blocks per stage and the block type come with the name.
STYLES = {
    # He et al. 2016, section 4.2: 16/32/64 channels, parameter-free option A shortcuts
    "cifar": {"stage_planes": (16, 32, 64), "stem": "cifar", "stem_channels": 16, "shortcut": "pad"},
    # Xie et al. 2017, ResNeXt-29: a 64-channel 3x3 stem, stage outputs 256/512/1024
    "cifar-resnext": {
        "stage_planes": (64, 128, 256), "stem": "cifar", "stem_channels": 64, "shortcut": "projection"
    },
    # torchvision
    "imagenet": {
        "stage_planes": (64, 128, 256, 512), "stem": "imagenet", "stem_channels": 64, "shortcut": "projection"
    },
}


def build_resnet(
    config: ResNetConfig, spec, block: Block, blocks_per_stage: Sequence[int], style: str
) -> ResNet:
    """The ResNet of `style` (a key of STYLES) for `spec`, initialised and loaded as `config` says."""
    if config.zero_init_residual and not config.residual:
        raise ValueError(
            "model.zero_init_residual=true needs model.residual=true: zeroing the last BN of a plain "
            "block would cut the signal through the network"
        )
    model = ResNet(
        block,
        blocks_per_stage,
        num_classes=spec.num_classes,
        in_channels=spec.in_channels,
        residual=config.residual,
        groups=getattr(config, "groups", 1),
        width_per_group=getattr(config, "width_per_group", 64),
        activation=config.activation,
        **STYLES[style],
    )
    initialize(model, config.init, config.zero_init_residual)
    if config.load_pretrained and config.pretrained != "none":
        raise ValueError("give model.load_pretrained=PATH or model.pretrained=imagenet, not both")
    if config.load_pretrained:
        load_pretrained(model, config.load_pretrained)
    elif config.pretrained == "imagenet":
        load_pretrained(model, imagenet_weights(config.name))
    return model


@registry.models.register("resnet_cifar", config_class=CifarResNetConfig, task="image-classification")
def resnet_cifar(config: CifarResNetConfig, spec) -> ResNet:
    """CIFAR ResNet of depth model.depth = 6n + 2 (He et al. 2016, section 4.2)."""
    return build_resnet(config, spec, BasicBlock, [(config.depth - 2) // 6] * 3, "cifar")


# name -> (config, block, blocks per stage, style of STYLES, what `trainlab list models` says of it)
VARIANTS = {
    "resnet20": (ResNet20Config, BasicBlock, [3, 3, 3], "cifar",
                 "ResNet-20 for 32x32 images (He et al. 2016): 3 stages of 3 basic blocks, 0.27M parameters."),
    "resnet32": (ResNet32Config, BasicBlock, [5, 5, 5], "cifar",
                 "ResNet-32 for 32x32 images (He et al. 2016): 3 stages of 5 basic blocks, 0.46M parameters."),
    "resnet44": (ResNet44Config, BasicBlock, [7, 7, 7], "cifar",
                 "ResNet-44 for 32x32 images (He et al. 2016): 3 stages of 7 basic blocks, 0.66M parameters."),
    "resnet56": (ResNet56Config, BasicBlock, [9, 9, 9], "cifar",
                 "ResNet-56 for 32x32 images (He et al. 2016): 3 stages of 9 basic blocks, 0.85M parameters."),
    "resnet110": (ResNet110Config, BasicBlock, [18, 18, 18], "cifar",
                  "ResNet-110 for 32x32 images (He et al. 2016): 3 stages of 18 basic blocks, 1.7M parameters."),
    "resnet18": (ResNet18Config, BasicBlock, [2, 2, 2, 2], "imagenet",
                 "ResNet-18 (torchvision layout and keys): basic blocks [2, 2, 2, 2], 11.7M parameters."),
    "resnet34": (ResNet34Config, BasicBlock, [3, 4, 6, 3], "imagenet",
                 "ResNet-34 (torchvision layout and keys): basic blocks [3, 4, 6, 3], 21.8M parameters."),
    "resnet50": (ResNet50Config, Bottleneck, [3, 4, 6, 3], "imagenet",
                 "ResNet-50 (torchvision layout and keys): bottleneck blocks [3, 4, 6, 3], 25.6M parameters."),
    "resnet101": (ResNet101Config, Bottleneck, [3, 4, 23, 3], "imagenet",
                  "ResNet-101 (torchvision layout and keys): bottleneck blocks [3, 4, 23, 3], 44.5M parameters."),
    "resnext50_32x4d": (ResNeXt50Config, Bottleneck, [3, 4, 6, 3], "imagenet",
                        "ResNeXt-50 32x4d (Xie et al. 2017; torchvision layout and keys): 25.0M parameters."),
    "resnext29_8x64d": (ResNeXt29x8x64Config, Bottleneck, [3, 3, 3], "cifar-resnext",
                        "ResNeXt-29 8x64d for 32x32 images (Xie et al. 2017): 3 stages of 3 bottlenecks, 34.4M parameters."),
    "resnext29_4x16d": (ResNeXt29x4x16Config, Bottleneck, [3, 3, 3], "cifar-resnext",
                        "ResNeXt-29 4x16d for 32x32 images: the 8x64d layout, narrow enough to train on a CPU."),
}
for _name, (_config, _block, _blocks, _style, _summary) in VARIANTS.items():
    registry.models.register(_name, _summary, config_class=_config, task="image-classification")(
        partial(build_resnet, block=_block, blocks_per_stage=_blocks, style=_style))
