"""Optimizers from config, with weight decay kept off biases and normalisation parameters."""

from __future__ import annotations

import inspect

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
        return SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, fused=fused)
    if config.name == "adam":
        return Adam(groups, lr=config.lr, betas=config.betas, eps=config.eps, fused=fused)
    if config.name == "adamw":
        return AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps, fused=fused)
    if config.name == "rmsprop":
        return RMSprop(groups, lr=config.lr, momentum=config.momentum, eps=config.eps)
    raise ValueError(f"unknown optimizer '{config.name}'")  # config validation lists the choices


def _can_fuse(groups: list[dict]) -> bool:
    """Whether torch's fused kernels take these parameters: floating-point tensors on a device they
    are written for."""
    return all(
        parameter.is_floating_point() and parameter.device.type in FUSED_DEVICES
        for group in groups for parameter in group["params"]
    )


class _Uncompiled:
    """torch's optimizers wrap `step`, `zero_grad`, `add_param_group`, `state_dict` and
    `load_state_dict` so that torch.compile leaves them alone, and those wrappers import
    torch._dynamo on first use: about 1 s on a 2-core machine, as long as `import torch` itself,
    paid by every training command. trainlab compiles nothing, so these are the functions under the
    wrappers (`__wrapped__`, set by functools.wraps), looked up once, not on every step. Should torch
    stop setting it, `inspect.unwrap` returns the wrapper and only the import comes back
    (tests/test_command_imports.py)."""

    zero_grad = inspect.unwrap(torch.optim.Optimizer.zero_grad)
    add_param_group = inspect.unwrap(torch.optim.Optimizer.add_param_group)
    state_dict = inspect.unwrap(torch.optim.Optimizer.state_dict)
    load_state_dict = inspect.unwrap(torch.optim.Optimizer.load_state_dict)

    def __init_subclass__(cls, **options):
        super().__init_subclass__(**options)
        cls._torch_step = inspect.unwrap(super().step)  # the torch class's own

    def step(self, closure=None):
        # What torch's wrapper does besides marking the step for the compiler.
        with torch.set_grad_enabled(self.defaults["differentiable"]):
            return self._torch_step(closure)


class SGD(_Uncompiled, torch.optim.SGD):
    """torch.optim.SGD, without importing torch._dynamo."""


class Adam(_Uncompiled, torch.optim.Adam):
    """torch.optim.Adam, without importing torch._dynamo."""


class AdamW(_Uncompiled, torch.optim.AdamW):
    """torch.optim.AdamW, without importing torch._dynamo."""


class RMSprop(_Uncompiled, torch.optim.RMSprop):
    """torch.optim.RMSprop, without importing torch._dynamo."""
