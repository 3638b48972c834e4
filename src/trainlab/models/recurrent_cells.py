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

import math
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

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
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def lstm_gates(variant: str) -> tuple[str, ...]:
    """The blocks an LSTM variant computes, in torch's order (i, f, g, o without the missing one)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)} (got {variant!r})")
    return tuple(gate for gate in LSTM_GATES if gate != _MISSING_GATE.get(variant))


class UnrolledRecurrent(nn.Module):
    """The shared machinery: parameters in torch's layout, the loop over layers and steps, masks.

    Subclasses set `blocks` (the gate blocks of W_ih / W_hh), `has_cell_state`, and `step`.

    Args:
        dropout: on the outputs of every layer but the last (as torch's `dropout`).
        recurrent_dropout, zoneout, weight_drop: probabilities in [0, 1); see the module docstring.
    """

    blocks: tuple[str, ...] = ()  # the gate blocks of W_ih / W_hh, in order
    has_cell_state = False
    # b_hh only ever adds to b_ih (not so in the GRU's candidate): add it once per layer, not per step.
    fold_hidden_bias = True
    # What code written for torch's RNNs reads (model summaries): one direction, no projection.
    bidirectional = False
    proj_size = 0

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        batch_first: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        weight_drop: float = 0.0,
    ):
        super().__init__()
        for name, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout),
                            ("zoneout", zoneout), ("weight_drop", weight_drop)):
            if not 0 <= value < 1:
                raise ValueError(f"`{name}` ({value}) must be in [0, 1)")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.batch_first = batch_first
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.zoneout = zoneout
        self.weight_drop = weight_drop
        rows = len(self.blocks) * hidden_size
        # Registered in nn.LSTM's order, so that reset_parameters draws the same numbers as torch.
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{layer}", nn.Parameter(torch.empty(rows, layer_input)))
            self.register_parameter(f"weight_hh_l{layer}", nn.Parameter(torch.empty(rows, hidden_size)))
            self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(rows)))
            self.register_parameter(f"bias_hh_l{layer}", nn.Parameter(torch.empty(rows)))
            self.extra_parameters(layer)
        self.reset_parameters()

    def extra_parameters(self, layer: int) -> None:
        """Register a variant's own parameters of `layer` (after its four torch ones)."""

    def reset_parameters(self) -> None:
        """torch's initialisation: every parameter U(-1/sqrt(H), 1/sqrt(H)), in registration order."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def gate_rows(self, gate: str) -> slice:
        """The rows of `weight_ih_l{k}` / `weight_hh_l{k}` / the biases that hold `gate`."""
        if gate not in self.blocks:
            raise ValueError(f"{type(self).__name__} has no {gate!r} block (it has {', '.join(self.blocks)})")
        index = self.blocks.index(gate)
        return slice(index * self.hidden_size, (index + 1) * self.hidden_size)

    def initial_state(self, hx: State | None, batch: int, reference: torch.Tensor) -> list:
        """Per layer: h (B, H), or (h, c) for the LSTM."""
        if hx is None:
            zeros = reference.new_zeros(self.num_layers, batch, self.hidden_size)
            hx = (zeros, zeros) if self.has_cell_state else zeros
        if self.has_cell_state:
            h, c = hx
            return [(h[layer], c[layer]) for layer in range(self.num_layers)]
        return [hx[layer] for layer in range(self.num_layers)]

    def forward(
        self, inputs: torch.Tensor, hx: State | None = None, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        """inputs (B, T, F) if batch_first else (T, B, F); hx as torch's (each (layers, B, H)).

        Args:
            lengths: optional (B,) real steps of each right-padded sequence: past its length a
                sequence's state is held, as a packed sequence's is, so the padded steps neither
                change it nor send it gradient (a relu state run on over padding can overflow,
                and the backward pass would then compute 0 * inf = NaN).
        Returns:
            outputs of the last layer (B, T, H) or (T, B, H), and the state after the last step
            (after each sequence's last real step, with `lengths`).
        """
        if inputs.dim() != 3:
            raise ValueError(f"expected 3-d input (batch, steps, features), got shape {tuple(inputs.shape)}")
        steps_first = inputs.transpose(0, 1) if self.batch_first else inputs  # (T, B, F)
        batch = steps_first.shape[1]
        states = self.initial_state(hx, batch, steps_first)
        finals = []
        layer_inputs = steps_first
        active = None
        if lengths is not None:  # (T, B, 1): True where step t is a real step of sequence b
            steps = torch.arange(steps_first.shape[0], device=steps_first.device)
            active = (steps[:, None] < lengths.to(steps_first.device)[None, :]).unsqueeze(-1)
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                layer_inputs = F.dropout(layer_inputs, self.dropout, self.training)
            layer_inputs, final = self.run_layer(layer, layer_inputs, states[layer], active)
            finals.append(final)
        outputs = layer_inputs.transpose(0, 1) if self.batch_first else layer_inputs
        if self.has_cell_state:
            return outputs, (torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals]))
        return outputs, torch.stack(finals)

    def run_layer(
        self, layer: int, inputs: torch.Tensor, state: State, active: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        """One layer over all steps: inputs (T, B, F) -> outputs (T, B, H) and its last state;
        where `active` (T, B, 1) is False the state is held."""
        weight_hh = getattr(self, f"weight_hh_l{layer}")
        if self.weight_drop > 0:
            weight_hh = F.dropout(weight_hh, self.weight_drop, self.training)  # one mask per call
        # The input projection of every step at once: one large matrix product instead of T small.
        projected = F.linear(inputs, getattr(self, f"weight_ih_l{layer}"), getattr(self, f"bias_ih_l{layer}"))
        bias_hh = getattr(self, f"bias_hh_l{layer}")
        if self.fold_hidden_bias:
            projected, bias_hh = projected + bias_hh, None
        recurrent = (weight_hh.t(), bias_hh)
        batch = inputs.shape[1]
        mask = None
        if self.training and self.recurrent_dropout > 0:
            keep = 1 - self.recurrent_dropout
            mask = inputs.new_empty(batch, self.hidden_size).bernoulli_(keep) / keep  # (B, H), every step
        extra = self.layer_extras(layer, batch, inputs)
        outputs = []
        for t in range(inputs.shape[0]):
            hidden = state[0] if self.has_cell_state else state
            seen = hidden if mask is None else hidden * mask
            new_state, extra = self.step(projected[t], seen, state, recurrent, extra)
            if self.zoneout > 0:
                new_state = self.zone_out(state, new_state)
            if active is not None:  # where(), not a product: the discarded value may be inf
                new_state = _where(active[t], new_state, state)
            state = new_state
            outputs.append(state[0] if self.has_cell_state else state)
        return torch.stack(outputs), state

    def layer_extras(self, layer: int, batch: int, reference: torch.Tensor) -> Any:
        """What the steps of `layer` share besides the state (handed to `step`, which returns it)."""
        return None

    def step(
        self, projected: torch.Tensor, seen: torch.Tensor, state: State,
        recurrent: tuple[torch.Tensor, torch.Tensor | None], extra: Any,
    ) -> tuple[State, Any]:  # pragma: no cover - abstract
        """One step of one layer.

        Args:
            projected: (B, G * H) W_ih x_t + b_ih (+ b_hh when `fold_hidden_bias`).
            seen: (B, H) h_{t-1} as the recurrent matrix sees it (after the recurrent dropout mask).
            state: h_{t-1}, or (h_{t-1}, c_{t-1}) for the LSTM, each (B, H).
            recurrent: W_hh transposed (H, G * H), after weight drop, and b_hh (None when folded).
            extra: `layer_extras`' value, as the previous step returned it.
        Returns:
            the new state and the extra value for the next step.
        """
        raise NotImplementedError

    def zone_out(self, old: State, new: State) -> State:
        if self.has_cell_state:
            return tuple(self._zone(before, after) for before, after in zip(old, new))
        return self._zone(old, new)

    def _zone(self, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.zoneout * old + (1 - self.zoneout) * new
        keep_old = torch.empty_like(new).bernoulli_(self.zoneout).bool()  # a fresh mask every step
        return torch.where(keep_old, old, new)

    def extra_repr(self) -> str:
        options = [f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"]
        for name in ("dropout", "recurrent_dropout", "zoneout", "weight_drop"):
            if getattr(self, name):
                options.append(f"{name}={getattr(self, name)}")
        return ", ".join(options)


def _where(condition: torch.Tensor, new: State, old: State) -> State:
    if isinstance(new, tuple):
        return tuple(torch.where(condition, after, before) for after, before in zip(new, old))
    return torch.where(condition, new, old)


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
