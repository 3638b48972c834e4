"""Optimizers from config, with weight decay kept off biases and normalisation parameters."""

from __future__ import annotations

import torch
from torch import nn

from trainlab.config import OptimConfig


def parameter_groups(model: nn.Module, weight_decay: float, decay_bias_and_norm: bool) -> list[dict]:
    """Split trainable parameters into a decayed group and a non-decayed one.

    Decaying biases and the scales/shifts of normalisation layers only fights the normalisation
    (they carry no capacity to overfit), so by default only weight matrices and kernels (ndim >= 2)
    are decayed.
    """
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    if decay_bias_and_norm or weight_decay == 0:
        return [{"params": trainable, "weight_decay": weight_decay}]
    decayed = [parameter for parameter in trainable if parameter.ndim >= 2]
    not_decayed = [parameter for parameter in trainable if parameter.ndim < 2]
    groups = [{"params": decayed, "weight_decay": weight_decay}]
    if not_decayed:
        groups.append({"params": not_decayed, "weight_decay": 0.0})
    return groups


def build_optimizer(model: nn.Module, config: OptimConfig) -> torch.optim.Optimizer:
    groups = parameter_groups(model, config.weight_decay, config.decay_bias_and_norm)
    if config.name == "sgd":
        return torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov
        )
    if config.name == "adam":
        return torch.optim.Adam(groups, lr=config.lr, betas=config.betas, eps=config.eps)
    if config.name == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps)
    if config.name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=config.lr, momentum=config.momentum, eps=config.eps)
    raise ValueError(f"unknown optimizer '{config.name}'")  # config validation lists the choices
