"""Recurrent layers unrolled step by step with torch ops, for what the fused kernels cannot do.

`nn.LSTM`/`nn.GRU`/`nn.RNN` run the whole sequence in one fused (oneDNN or cuDNN) call, so nothing
can reach inside a step. `UnrolledLSTM`, `UnrolledGRU` and `UnrolledRNN` loop over the steps in
Python with the same parameter names, shapes, initialisation and formulas as torch
(`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, ...), so weights copy across and, with
no option on, outputs and gradients equal torch's. Options inside the step:

- `recurrent_dropout` (Gal & Ghahramani 2016, "A Theoretically Grounded Application of Dropout in
  Recurrent Neural Networks"; Keras' `recurrent_dropout`): one dropout mask per sequence and layer,
  sampled when `forward` starts, on h_{t-1} where it enters W_hh; the same units are dropped at
  every step, so the noise does not accumulate along the sequence. Training only. A language
  model that carries its state across chunks gets a new mask with every chunk (every call).
- `zoneout` (Krueger et al. 2017): each unit keeps its previous value (h and, for the LSTM, c) with
  probability `zoneout` at each step; at evaluation the expected mix, p * old + (1 - p) * new.
- `weight_drop` (DropConnect on W_hh, Merity et al. 2018 "Regularizing and Optimizing LSTM Language
  Models"): one mask over the recurrent matrix per forward call. Without any other option the
  fused `WeightDropLSTM`/`WeightDropGRU`/`WeightDropRNN` below do it and keep the fused kernel.
- LSTM `variant`, the architectures of Greff et al. 2017 ("LSTM: A Search Space Odyssey"), each
  one change to the vanilla cell (here torch's LSTM: input, forget, output gates, tanh block input
  and output, no peepholes): "nig" no input gate (i = 1), "nfg" no forget gate (f = 1), "nog" no
  output gate (o = 1), "niaf" no input activation (g = the pre-activation, no tanh), "noaf" no
  output activation (h = o * c), "cifg" coupled input and forget gate (f = 1 - i), "peepholes"
  (i and f see c_{t-1}, o sees c_t, one weight per unit: `weight_ch_l{k}`, rows i, f, o) and "fgr"
  full gate recurrence (the gates i, f, o also read the previous step's i, f, o:
  `weight_gates_l{k}` (3H, 3H); those previous gates start at zero in every forward call, they
  are not part of the state carried between calls).

A variant without a gate has no rows for it: `weight_ih_l{k}` is (G * H, F) with the G gates it
computes in torch's order i, f, g, o (`gate_rows` says where each one is), so the parameter count
is what the variant really costs.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

from trainlab.models.unrolled_recurrent import UnrolledRecurrent

Variant = Literal["vanilla", "nig", "nfg", "nog", "niaf", "noaf", "cifg", "peepholes", "fgr"]
VARIANTS: dict[str, str] = {
    "vanilla": "vanilla (torch's LSTM)",
    "nig": "no input gate",
    "nfg": "no forget gate",
    "nog": "no output gate",
    "niaf": "no input activation",
    "noaf": "no output activation",
    "cifg": "coupled input-forget gate",
    "peepholes": "peepholes",
    "fgr": "full gate recurrence",
}
LSTM_GATES = ("i", "f", "g", "o")  # torch's order of the blocks of weight_ih / weight_hh
# The gate a variant does without (its rows are absent).
_MISSING_GATE = {"nig": "i", "nfg": "f", "cifg": "f", "nog": "o"}


def lstm_gates(variant: str) -> tuple[str, ...]:
    """The blocks an LSTM variant computes, in torch's order (i, f, g, o without the missing one)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)} (got {variant!r})")
    return tuple(gate for gate in LSTM_GATES if gate != _MISSING_GATE.get(variant))


class UnrolledRNN(UnrolledRecurrent):
    """Elman RNN, h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), as torch's nn.RNN."""

    blocks = ("h",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 **options):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be tanh or relu (got {nonlinearity!r})")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, **options)

    def step(self, projected, seen, state, recurrent, extra):
        pre = torch.addmm(projected, seen, recurrent[0])  # both biases are in `projected`
        return (torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)), extra


class UnrolledGRU(UnrolledRecurrent):
    """GRU with torch's formulas: r and z gates, n = tanh(x_n + r * (W_hn h + b_hn)),
    h_t = (1 - z) * n + z * h_{t-1}."""

    blocks = ("r", "z", "n")
    fold_hidden_bias = False  # b_hn sits inside r * (W_hn h + b_hn)

    def step(self, projected, seen, state, recurrent, extra):
        weight_hh_t, bias_hh = recurrent
        from_hidden = torch.addmm(bias_hh, seen, weight_hh_t)  # (B, 3H)
        x_r, x_z, x_n = projected.chunk(3, dim=1)
        h_r, h_z, h_n = from_hidden.chunk(3, dim=1)
        reset = torch.sigmoid(x_r + h_r)
        update = torch.sigmoid(x_z + h_z)
        candidate = torch.tanh(x_n + reset * h_n)
        return candidate + update * (state - candidate), extra  # = (1 - z) * n + z * h


class UnrolledLSTM(UnrolledRecurrent):
    """LSTM with torch's formulas and parameter layout, or one of Greff et al.'s variants.

    Args:
        variant: see the module docstring; "vanilla" is torch's nn.LSTM.
    """

    has_cell_state = True

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, variant: Variant = "vanilla",
                 **options):
        self.variant = variant
        self.blocks = lstm_gates(variant)
        super().__init__(input_size, hidden_size, num_layers, **options)

    def extra_parameters(self, layer: int) -> None:
        hidden = self.hidden_size
        if self.variant == "peepholes":
            self.register_parameter(f"weight_ch_l{layer}", nn.Parameter(torch.empty(3, hidden)))
        elif self.variant == "fgr":
            self.register_parameter(f"weight_gates_l{layer}", nn.Parameter(torch.empty(3 * hidden, 3 * hidden)))

    def layer_extras(self, layer: int, batch: int, reference: torch.Tensor) -> Any:
        """What the steps of `layer` share besides the state: the peephole weights (p_i, p_f, p_o);
        for FGR the previous step's gates (zero at the start) and W_gates laid out as rows of all
        four blocks (zero rows for g), so that one matrix product adds it to the pre-activations."""
        if self.variant == "peepholes":
            return tuple(getattr(self, f"weight_ch_l{layer}"))
        if self.variant == "fgr":
            weight = getattr(self, f"weight_gates_l{layer}")  # (3H, 3H): rows i, f, o
            to_i, to_f, to_o = weight.chunk(3, dim=0)
            padded = torch.cat([to_i, to_f, weight.new_zeros(self.hidden_size, weight.shape[1]), to_o])
            return reference.new_zeros(batch, 3 * self.hidden_size), padded.t()
        return None

    def step(self, projected, seen, state, recurrent, extra):
        c_prev = state[1]
        hidden_size = self.hidden_size
        pre = torch.addmm(projected, seen, recurrent[0])  # (B, G * H); both biases are in `projected`
        variant = self.variant
        if variant == "fgr":
            previous_gates, weight_gates_t = extra
            pre = torch.addmm(pre, previous_gates, weight_gates_t)
        # One sigmoid over every block (the g block's is unused): the per-op overhead is what a
        # step costs at these sizes, not the arithmetic.
        if variant == "peepholes":
            peep_i, peep_f, peep_o = extra
            input_gate = torch.sigmoid(torch.addcmul(pre[:, :hidden_size], peep_i, c_prev))
            forget_gate = torch.sigmoid(torch.addcmul(pre[:, hidden_size: 2 * hidden_size], peep_f, c_prev))
        else:
            gates = dict(zip(self.blocks, torch.sigmoid(pre).chunk(len(self.blocks), dim=1)))
            input_gate, forget_gate = gates.get("i"), gates.get("f")  # None: the gate is 1
            if variant == "cifg":
                forget_gate = 1 - input_gate
        g_index = self.blocks.index("g")
        block_pre = pre[:, g_index * hidden_size: (g_index + 1) * hidden_size]
        block_input = block_pre if variant == "niaf" else torch.tanh(block_pre)
        kept = c_prev if forget_gate is None else forget_gate * c_prev
        cell = kept + block_input if input_gate is None else torch.addcmul(kept, input_gate, block_input)
        if variant == "peepholes":
            output_gate = torch.sigmoid(torch.addcmul(pre[:, 3 * hidden_size:], peep_o, cell))
        else:
            output_gate = gates.get("o")
        squashed = cell if variant == "noaf" else torch.tanh(cell)
        hidden = squashed if output_gate is None else output_gate * squashed
        if variant == "fgr":
            extra = (torch.cat([input_gate, forget_gate, output_gate], dim=1), weight_gates_t)
        return (hidden, cell), extra


class WeightDropMixin:
    """DropConnect on every W_hh of a fused torch RNN, one mask per forward call while training.

    The stored parameters stay as they are (the optimizer updates them, checkpoints save them);
    only the weights handed to the fused kernel for this call are the dropped copies, and autograd
    takes the gradient through the mask back to the stored ones.
    """

    weight_drop: float = 0.0

    def forward(self, inputs, hx=None):
        if not self.training or self.weight_drop == 0:
            return super().forward(inputs, hx)
        stored = self._flat_weights
        self._flat_weights = [
            F.dropout(weight, self.weight_drop, True) if name.startswith("weight_hh") else weight
            for name, weight in zip(self._flat_weights_names, stored)
        ]
        try:
            return super().forward(inputs, hx)
        finally:
            self._flat_weights = stored


class WeightDropLSTM(WeightDropMixin, nn.LSTM):
    """nn.LSTM with DropConnect on W_hh (Merity et al. 2018), still one fused kernel call."""

    def __init__(self, *args, weight_drop: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_drop = weight_drop


class WeightDropGRU(WeightDropMixin, nn.GRU):
    """nn.GRU with DropConnect on W_hh, still one fused kernel call."""

    def __init__(self, *args, weight_drop: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_drop = weight_drop


class WeightDropRNN(WeightDropMixin, nn.RNN):
    """nn.RNN with DropConnect on W_hh, still one fused kernel call."""

    def __init__(self, *args, weight_drop: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_drop = weight_drop
