"""Eigenvalues and spectral radius of recurrent weight matrices.

For a linear recurrence h_t = W h_{t-1}, the gradient k steps back is multiplied by (W^T)^k, so it
shrinks or grows like rho(W)^k, rho the spectral radius (largest |eigenvalue|). A tanh RNN can only
shrink it further (tanh' <= 1). An LSTM's or GRU's `weight_hh` stacks one H x H matrix per gate;
each block is reported on its own.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# The gate blocks of `weight_hh`, in torch's order.
GATES = {nn.LSTM: ("input", "forget", "cell", "output"), nn.GRU: ("reset", "update", "new")}


def eigenvalues(matrix: torch.Tensor | np.ndarray) -> np.ndarray:
    """Complex eigenvalues of a square matrix (float64)."""
    array = matrix.detach().double().cpu().numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"eigenvalues need a square matrix, got shape {array.shape}")
    return np.linalg.eigvals(array.astype(np.float64))


def spectral_radius(matrix: torch.Tensor | np.ndarray) -> float:
    """The largest absolute eigenvalue."""
    return float(np.abs(eigenvalues(matrix)).max())


def recurrent_matrices(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every square hidden-to-hidden matrix of the torch RNNs inside `model`, by name.

    `encoder.weight_hh_l0` of an nn.RNN stays whole; for an LSTM/GRU it is split into its gates:
    `encoder.weight_hh_l0.forget`, ...
    """
    found: dict[str, torch.Tensor] = {}
    for module_name, module in model.named_modules():
        if not isinstance(module, nn.RNNBase):
            continue
        # isinstance, not the exact type: the weight-dropped LSTM/GRU are subclasses.
        gates = next((names for kind, names in GATES.items() if isinstance(module, kind)), ())
        for name, parameter in module.named_parameters():
            if not name.startswith("weight_hh"):
                continue
            full = f"{module_name}.{name}" if module_name else name
            if not gates:
                found[full] = parameter.detach()
                continue
            for gate, block in zip(gates, parameter.detach().chunk(len(gates), dim=0)):
                found[f"{full}.{gate}"] = block
    return found


def spectral_summary(model: nn.Module) -> dict[str, dict[str, object]]:
    """{matrix name: {"radius": float, "eigenvalues": complex array}} for `recurrent_matrices`."""
    summary = {}
    for name, matrix in recurrent_matrices(model).items():
        values = eigenvalues(matrix)
        summary[name] = {"radius": float(np.abs(values).max()), "eigenvalues": values}
    return summary


def scale_to_spectral_radius(matrix: torch.Tensor, radius: float) -> torch.Tensor:
    """`matrix` rescaled in place so that its spectral radius is `radius`; returns it."""
    current = spectral_radius(matrix)
    if current == 0:
        raise ValueError("cannot rescale a matrix whose eigenvalues are all zero")
    with torch.no_grad():
        matrix.mul_(radius / current)
    return matrix
