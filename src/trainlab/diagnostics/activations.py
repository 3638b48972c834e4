"""Activation statistics: mean, std, dead ReLUs, saturated tanh/sigmoid units, LSTM/GRU gates over
time, and the hidden states of one input.

A ReLU unit is dead on a batch when it outputs 0 for every example (and every position: pixels,
steps); a tanh unit's output is saturated when |a| > 1 - margin, a sigmoid's when a < margin or
a > 1 - margin: there the derivative is below about 2 * margin and almost no gradient passes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from trainlab.diagnostics.gradients import unrolled_states

SATURATION_MARGIN = 0.01


def _unit_axis_last(output: torch.Tensor, module: nn.Module) -> torch.Tensor:
    """(N, units) from an activation: channels of (B, C, H, W), features of (B, [T,] F)."""
    if output.dim() == 4:  # (B, C, H, W): a unit is a channel
        return output.permute(0, 2, 3, 1).reshape(-1, output.shape[1])
    return output.reshape(-1, output.shape[-1])


def activation_statistics(model: nn.Module, *inputs: torch.Tensor,
                          margin: float = SATURATION_MARGIN) -> dict[str, dict[str, float]]:
    """Statistics of every ReLU, tanh and sigmoid module and every torch RNN's output, for one batch.

    Returns:
        {module name: {"kind", "mean", "std", and "dead_fraction" (ReLU: share of units that are 0
        everywhere) or "saturated_fraction" (tanh, sigmoid, RNN outputs: share of values saturated)}}.
    """
    found: dict[str, dict[str, float]] = {}

    def record(name: str) -> Callable:
        def hook(module: nn.Module, args: tuple, output) -> None:
            values = (output[0] if isinstance(output, tuple) else output).detach().float()
            stats = {"kind": type(module).__name__, "mean": values.mean().item(), "std": values.std().item()}
            if isinstance(module, nn.ReLU):
                units = _unit_axis_last(values, module)
                stats["dead_fraction"] = (units <= 0).all(dim=0).float().mean().item()
            elif isinstance(module, nn.Sigmoid):
                stats["saturated_fraction"] = ((values < margin) | (values > 1 - margin)).float().mean().item()
            else:  # tanh, and the outputs of RNN/LSTM/GRU, which are tanh-bounded
                stats["saturated_fraction"] = (values.abs() > 1 - margin).float().mean().item()
            found[name] = stats
        return hook

    watched = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.RNNBase)
    handles = [module.register_forward_hook(record(name)) for name, module in model.named_modules()
               if name and isinstance(module, watched)]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return found


def gate_activations(rnn: nn.RNNBase, inputs: torch.Tensor, layer: int = 0) -> dict[str, np.ndarray]:
    """The gates of one layer of a torch LSTM or GRU at every step, from its own weights.

    Args:
        inputs: what the layer reads: the module's input for layer 0, the previous layer's outputs
            otherwise ((B, T, F) if batch_first).
    Returns:
        LSTM: {"input", "forget", "cell", "output"}; GRU: {"reset", "update", "new"}: each (T, B, H).
    """
    if not isinstance(rnn, nn.LSTM | nn.GRU):
        raise TypeError(f"gate_activations needs an nn.LSTM or nn.GRU, got {type(rnn).__name__}")
    w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
    b_ih = getattr(rnn, f"bias_ih_l{layer}", torch.zeros(w_ih.shape[0]))
    b_hh = getattr(rnn, f"bias_hh_l{layer}", torch.zeros(w_hh.shape[0]))
    steps = inputs.transpose(0, 1) if rnn.batch_first else inputs  # (T, B, F)
    hidden_size = rnn.hidden_size
    h = steps.new_zeros(steps.shape[1], hidden_size)
    c = torch.zeros_like(h)
    names = ("input", "forget", "cell", "output") if isinstance(rnn, nn.LSTM) else ("reset", "update", "new")
    gates: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    with torch.no_grad():
        for x in steps:
            from_x, from_h = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
            if isinstance(rnn, nn.LSTM):
                i, f, g, o = (from_x + from_h).chunk(4, dim=1)
                i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
                c = f * c + i * g
                h = o * c.tanh()
                values = (i, f, g, o)
            else:
                x_r, x_z, x_n = from_x.chunk(3, dim=1)
                h_r, h_z, h_n = from_h.chunk(3, dim=1)
                r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
                n = (x_n + r * h_n).tanh()
                h = (1 - z) * n + z * h
                values = (r, z, n)
            for name, value in zip(names, values):
                gates[name].append(value)
    return {name: torch.stack(values).double().numpy() for name, values in gates.items()}


def gate_means_over_time(gates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(T,) mean of each gate over the batch and the units, step by step."""
    return {name: values.mean(axis=(1, 2)) for name, values in gates.items()}


def hidden_state_matrix(rnn: nn.RNNBase, inputs: torch.Tensor, example: int = 0, layer: int = -1) -> np.ndarray:
    """(T, H) hidden states of one example at every step (for a units x time heatmap)."""
    with torch.no_grad():
        states = unrolled_states(rnn, inputs)[layer]
    return torch.stack([state[example] for state in states]).double().numpy()
