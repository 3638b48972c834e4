"""`UnrolledRecurrent`: the loop over layers and steps, with its masks, that every step-by-step
cell of models/recurrent_cells.py shares; a cell writes only its `step`."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class UnrolledRecurrent(nn.Module):
    """The shared machinery: parameters in torch's layout, the loop over layers and steps, masks.

    Subclasses set `blocks` (the gate blocks of W_ih / W_hh), `has_cell_state`, and `step`.

    Args:
        dropout: on the outputs of every layer but the last (as torch's `dropout`).
        recurrent_dropout, zoneout, weight_drop: probabilities in [0, 1); see recurrent_cells.py.
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
