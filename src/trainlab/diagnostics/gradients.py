"""Gradient measurements: norms per layer, and dL/dh_t for every time step of a recurrent network.

Per-layer norms group a model's parameters by the module that owns them; the layers of a torch
`nn.RNN`/`nn.LSTM`/`nn.GRU` are split by their `_l{k}` suffix, so a 2-layer LSTM is two layers.

Per-time-step gradients are measured, not simulated: `timestep_gradients` runs the network's own
weights one step at a time with torch's own cell functions (the ones `nn.RNNCell`, `nn.LSTMCell`
and `nn.GRUCell` call), keeps every hidden state h_t of every layer as a tensor of the graph, and
asks autograd for dL/dh_t. A fused `nn.RNN` call cannot give these: its hidden states live inside
the kernel, and `retain_grad` on its output sequence only sees the direct path from h_t to the
loss, not the paths through the later steps. The step-by-step states equal the fused kernel's up
to rounding (tested), and dropout between layers is left out (the measurement is of the network
in eval mode).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

_RNN_LAYER = re.compile(r"^(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?$")


def layer_name(parameter_name: str) -> str:
    """The layer a parameter belongs to: its module path, plus `l{k}` for stacked torch RNNs.

    `features.0.weight` -> `features.0`; `encoder.weight_hh_l1` -> `encoder.l1`;
    a parameter of the model itself (no module path) -> `(model)`.
    """
    module, _, leaf = parameter_name.rpartition(".")
    match = _RNN_LAYER.match(leaf)
    if match:
        suffix = f"l{match.group(3)}{match.group(4) or ''}"
        return f"{module}.{suffix}" if module else suffix
    return module or "(model)"


@dataclass(frozen=True)
class LayerGroups:
    """The trainable parameters of a model and the layer each belongs to, in model order."""

    names: list[str]  # layer names, in the order their first parameter appears
    parameters: list[nn.Parameter]
    index: torch.Tensor  # (P,) int64: the layer of each parameter
    has_matrix: list[bool]  # per layer: holds a weight of 2 or more dimensions (not a norm layer)

    @classmethod
    def of(cls, model: nn.Module) -> LayerGroups:
        names: list[str] = []
        parameters, index, has_matrix = [], [], []
        for name, parameter in model.named_parameters():
            if not parameter.requires_grad:
                continue
            layer = layer_name(name)
            if layer not in names:
                names.append(layer)
                has_matrix.append(False)
            parameters.append(parameter)
            index.append(names.index(layer))
            has_matrix[index[-1]] |= parameter.dim() >= 2
        device = parameters[0].device if parameters else torch.device("cpu")
        return cls(names, parameters, torch.tensor(index, dtype=torch.int64, device=device), has_matrix)

    def squared_norms(self) -> torch.Tensor:
        """(layers,) squared L2 norms of the current gradients, without a device sync.

        A parameter without a gradient (unused this step) counts as zero.
        """
        present = [(position, p.grad) for position, p in enumerate(self.parameters) if p.grad is not None]
        totals = torch.zeros(len(self.names), dtype=torch.float32, device=self.index.device)
        if not present:
            return totals
        positions, grads = zip(*present)
        norms = torch.stack(torch._foreach_norm(list(grads))).float()  # one fused call for all
        index = self.index if len(positions) == len(self.parameters) else self.index[list(positions)]
        return totals.index_add_(0, index, norms.square())


def layer_gradient_norms(model: nn.Module) -> dict[str, float]:
    """L2 norm of the current gradients of each layer (as `layer_name` groups them)."""
    groups = LayerGroups.of(model)
    return dict(zip(groups.names, groups.squared_norms().sqrt().tolist()))


def global_gradient_norm(model: nn.Module) -> float:
    """L2 norm of all current gradients together (what `clip_grad_norm_` compares to its limit)."""
    return math.sqrt(sum(value**2 for value in layer_gradient_norms(model).values()))


def first_nonfinite_gradient(model: nn.Module) -> str | None:
    """The first parameter, in model order, whose gradient holds a NaN or an infinity; None if none."""
    for name, parameter in model.named_parameters():
        if parameter.grad is not None and not torch.isfinite(parameter.grad).all():
            return name
    return None


def first_nonfinite_activation(model: nn.Module, *inputs: torch.Tensor) -> str | None:
    """Run `model(*inputs)` and name the first module, in execution order, whose output holds a
    NaN or an infinity (where a divergence starts); None if every output is finite."""
    found: list[str] = []

    def check(name: str) -> Callable:
        def hook(module: nn.Module, args: tuple, output: object) -> None:
            tensors = output if isinstance(output, tuple) else (output,)
            if not found and any(isinstance(t, torch.Tensor) and t.is_floating_point()
                                 and not torch.isfinite(t).all() for t in tensors):
                found.append(name)
        return hook

    handles = [module.register_forward_hook(check(name)) for name, module in model.named_modules() if name]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else None


# Per-time-step gradients ---------------------------------------------------------------------------


def _cell(rnn: nn.RNNBase) -> Callable:
    if isinstance(rnn, nn.LSTM):
        return torch._VF.lstm_cell
    if isinstance(rnn, nn.GRU):
        return torch._VF.gru_cell
    if isinstance(rnn, nn.RNN):
        return torch._VF.rnn_tanh_cell if rnn.nonlinearity == "tanh" else torch._VF.rnn_relu_cell
    raise TypeError(f"expected torch nn.RNN, nn.LSTM or nn.GRU, got {type(rnn).__name__}")


def unrolled_states(
    rnn: nn.RNNBase, inputs: torch.Tensor, state: torch.Tensor | tuple | None = None
) -> list[list[torch.Tensor]]:
    """Every hidden state of `rnn` over `inputs`, computed one step at a time with its own weights.

    Args:
        rnn: a unidirectional torch nn.RNN / nn.LSTM / nn.GRU (batch_first or not, no projection).
        inputs: (B, T, F) if `rnn.batch_first`, else (T, B, F).
        state: the initial state as the module takes it; None: zeros.
    Returns:
        states[layer][t]: h_t of that layer, (B, H), each a node of the autograd graph.
    """
    if rnn.bidirectional:
        raise ValueError("timestep gradients need a unidirectional RNN (bidirectional=False)")
    if getattr(rnn, "proj_size", 0):
        raise ValueError("timestep gradients do not support LSTM projections (proj_size > 0)")
    cell = _cell(rnn)
    lstm = isinstance(rnn, nn.LSTM)
    steps = inputs if not rnn.batch_first else inputs.transpose(0, 1)  # (T, B, F)
    batch = steps.shape[1]
    zeros = steps.new_zeros(rnn.num_layers, batch, rnn.hidden_size)
    if state is None:
        state = (zeros, zeros) if lstm else zeros
    hidden = list(state[0] if lstm else state)
    memory = list(state[1]) if lstm else None
    weights = [
        (getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}"),
         getattr(rnn, f"bias_ih_l{k}", None), getattr(rnn, f"bias_hh_l{k}", None))
        for k in range(rnn.num_layers)
    ]
    states: list[list[torch.Tensor]] = [[] for _ in range(rnn.num_layers)]
    for step in steps:
        layer_input = step
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(weights):
            if lstm:
                hidden[k], memory[k] = cell(layer_input, (hidden[k], memory[k]), w_ih, w_hh, b_ih, b_hh)
            else:
                hidden[k] = cell(layer_input, hidden[k], w_ih, w_hh, b_ih, b_hh)
            states[k].append(hidden[k])
            layer_input = hidden[k]
    return states


def timestep_gradients(
    rnn: nn.RNNBase,
    inputs: torch.Tensor,
    loss_of_outputs: Callable[[torch.Tensor], torch.Tensor],
    state: torch.Tensor | tuple | None = None,
) -> np.ndarray:
    """The norm of dL/dh_t for every layer and time step, by autograd through the real recurrence.

    dL/dh_t is the total derivative: through the output at t and through every later step. The norm
    is taken over the whole batch (the Frobenius norm of the (B, H) gradient); the parameters'
    `.grad` are left untouched (autograd.grad, not backward), so it can run in the middle of training.

    Args:
        loss_of_outputs: maps the last layer's outputs, shaped like the module's own output
            ((B, T, H) if batch_first), to the scalar loss.
    Returns:
        (layers, T) float64 norms; column t is step t of the input.
    """
    states = unrolled_states(rnn, inputs, state)
    outputs = torch.stack(states[-1], dim=1 if rnn.batch_first else 0)
    loss = loss_of_outputs(outputs)
    flat = [h for layer in states for h in layer]
    grads = torch.autograd.grad(loss, flat, allow_unused=True)
    norms = [0.0 if g is None else float(g.double().norm()) for g in grads]
    return np.asarray(norms, dtype=np.float64).reshape(rnn.num_layers, -1)


@dataclass(frozen=True)
class DecayFit:
    """A straight line through log ||dL/dh_t|| against k, the distance in steps from the loss.

    `rate` is exp(slope): the factor the gradient norm shrinks (< 1) or grows (> 1) by per step
    back in time; `half_life` is the number of steps over which it halves (None when it does not
    shrink).
    """

    slope: float
    intercept: float
    rate: float
    points: int

    @property
    def half_life(self) -> float | None:
        return math.log(0.5) / self.slope if self.slope < 0 else None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"slope": self.slope, "intercept": self.intercept, "rate": self.rate,
                "half_life": self.half_life, "points": self.points}


def fit_decay(norms: np.ndarray, loss_step: int | None = None, floor: float = 1e-30) -> DecayFit:
    """Least-squares slope of log-norm against the distance k = loss_step - t, over t <= loss_step.

    Args:
        norms: (T,) one layer's norms per step, e.g. a row of `timestep_gradients`.
        loss_step: the step the loss is computed at (None: the last); steps after it are left out.
        floor: norms at or below it (exactly zero, underflow) are left out of the fit.
    """
    norms = np.asarray(norms, dtype=np.float64)
    loss_step = len(norms) - 1 if loss_step is None else loss_step
    distance = loss_step - np.arange(loss_step + 1)
    values = norms[: loss_step + 1]
    kept = np.isfinite(values) & (values > floor)
    if kept.sum() < 2:
        raise ValueError(f"fit_decay needs at least two positive norms, got {int(kept.sum())}")
    slope, intercept = np.polyfit(distance[kept], np.log(values[kept]), 1)
    return DecayFit(float(slope), float(intercept), float(math.exp(slope)), int(kept.sum()))
