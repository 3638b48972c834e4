"""Multiply-adds of one forward pass, the "FLOPs" that papers and torchvision's tables report.

Only convolutions and linear layers are counted, as in those tables: BatchNorm, activations, pooling,
residual additions and parameter-free shortcuts are a small share of the work and are left out.
"""

from __future__ import annotations

import torch
from torch import nn

from trainlab.models.modes import evaluating


def count_multiply_adds(model: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """Multiply-adds of `model` on ONE example of shape `input_shape` = (channels, height, width).

    Counted by forward hooks on a zero input: a Conv2d costs (output elements) * (in_channels / groups)
    * kh * kw, a Linear (output elements) * in_features. Works on the meta device too (no memory), and
    leaves the model's train/eval mode as it found it.
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (channels, height, width) of one example (got {input_shape})")
    total = 0

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kernel_height, kernel_width = module.kernel_size
            total += output.numel() * (module.in_channels // module.groups) * kernel_height * kernel_width
        else:
            total += output.numel() * module.in_features

    layers = [module for module in model.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]
    handles = [layer.register_forward_hook(count) for layer in layers]
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
    try:
        # BatchNorm would need more than one value per channel in training mode
        with evaluating(model), torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device, dtype=dtype))
    finally:
        for handle in handles:
            handle.remove()
    return total
