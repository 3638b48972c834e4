"""Optimizers from config, with weight decay kept off biases and normalisation parameters."""

from __future__ import annotations

import torch
from torch import nn

from trainlab.config import OptimConfig

FUSED_DEVICES = ("cpu", "cuda")  # where torch 2.13 has fused SGD/Adam/AdamW kernels


def parameter_groups(
    model: nn.Module,
    weight_decay: float,
    decay_bias_and_norm: bool,
    lr: float | None = None,
    lr_scales: dict[nn.Parameter, float] | None = None,
) -> list[dict]:
    """Split trainable parameters into a decayed group and a non-decayed one (and, with
    `lr_scales`, by learning rate: each group gets `lr * scale`).

    Decaying biases and the scales/shifts of normalisation layers only fights the normalisation
    (they carry no capacity to overfit), so by default only weight matrices and kernels (ndim >= 2)
    are decayed.
    """
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        decayed = decay_bias_and_norm or parameter.ndim >= 2
        scale = 1.0 if lr_scales is None else lr_scales.get(parameter, 1.0)
        groups.setdefault((weight_decay if decayed else 0.0, scale), []).append(parameter)
    if not groups:
        return []
    # Decayed first, then by falling learning rate (head first): a stable order for checkpoints.
    ordered = sorted(groups.items(), key=lambda item: (-item[0][0], -item[0][1]))
    return [
        {"params": params, "weight_decay": decay, **({"lr": lr * scale} if lr_scales is not None else {})}
        for (decay, scale), params in ordered
    ]


def build_optimizer(
    model: nn.Module, config: OptimConfig, lr_scales: dict[nn.Parameter, float] | None = None
) -> torch.optim.Optimizer:
    """The configured optimizer; `lr_scales` gives parameters a share of `config.lr` (fine-tuning)."""
    groups = parameter_groups(model, config.weight_decay, config.decay_bias_and_norm, config.lr, lr_scales)
    fused = True if config.fused and _can_fuse(groups) else None  # None: torch's own choice
    if config.name == "sgd":
        return torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, fused=fused
        )
    if config.name == "adam":
        return torch.optim.Adam(groups, lr=config.lr, betas=config.betas, eps=config.eps, fused=fused)
    if config.name == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps, fused=fused)
    if config.name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=config.lr, momentum=config.momentum, eps=config.eps)
    raise ValueError(f"unknown optimizer '{config.name}'")  # config validation lists the choices


def _can_fuse(groups: list[dict]) -> bool:
    """Whether torch's fused kernels take these parameters: floating-point tensors on a device they
    are written for."""
    return all(
        parameter.is_floating_point() and parameter.device.type in FUSED_DEVICES
        for group in groups for parameter in group["params"]
    )
