"""Building blocks shared by the CNNs: convolution helpers, activations by name, weight initialisation."""

from __future__ import annotations

from typing import Literal

from torch import nn

ActivationName = Literal["relu", "leaky_relu", "elu", "gelu"]
InitScheme = Literal["kaiming", "xavier"]


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias (a BatchNorm follows it)."""
    return nn.Conv2d(
        in_channels, out_channels, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False
    )


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias (a BatchNorm follows it)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


def make_activation(name: ActivationName, inplace: bool = True) -> nn.Module:
    """The activation called `name`; GELU has no in-place form and ignores `inplace`."""
    if name == "relu":
        return nn.ReLU(inplace=inplace)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01, inplace=inplace)
    if name == "elu":
        return nn.ELU(inplace=inplace)
    if name == "gelu":
        return nn.GELU()
    raise ValueError(f"unknown activation '{name}'; choices: relu, leaky_relu, elu, gelu")


def initialize(model: nn.Module, scheme: InitScheme = "kaiming", zero_init_residual: bool = False) -> None:
    """Initialise every convolution, linear and normalisation layer of `model` in place.

    kaiming: convolutions ~ N(0, 2 / fan_out) with fan_out = out_channels * kh * kw (He et al. 2015,
        "fan_out" mode for ReLU, as torchvision's ResNet and VGG); linear layers keep PyTorch's default.
    xavier: convolutions and linear layers ~ U(-a, a) with variance 2 / (fan_in + fan_out) (Glorot and
        Bengio 2010, gain 1): the scheme that under-scales ReLU networks as they get deeper.
    Biases are zero (except PyTorch's default for linear layers under kaiming); BatchNorm and GroupNorm
    start as the identity (weight 1, bias 0).
    zero_init_residual: also zero the weight of the last BatchNorm in each residual branch, found as
        the `last_norm` of every block that has one, so that each block starts as the identity.
    """
    if scheme not in ("kaiming", "xavier"):
        raise ValueError(f"unknown init scheme '{scheme}'; choices: kaiming, xavier")
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            if scheme == "kaiming":
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear) and scheme == "xavier":
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    if zero_init_residual:
        # Goyal et al. 2017 ("Accurate, Large Minibatch SGD"): a zero last BN makes each block start
        # as the identity, which eases the start of training of deep residual networks.
        for module in model.modules():
            if hasattr(module, "last_norm"):
                nn.init.zeros_(module.last_norm.weight)
