"""Recurrent models for the synthetic sequence tasks (copy, adding, trend-sine-walk).

One torch `nn.RNN`/`nn.LSTM`/`nn.GRU` (`self.rnn`, batch-first, fused kernel) between an input
encoding (one-hot for token inputs) and a linear readout: per step for sequence labelling (copy),
at the last step for classification and regression (adding). The recurrent layer is exposed so
that diagnostics can unroll it (`trainlab.diagnostics.gradients.timestep_gradients`). The cell
options (`model.recurrent_dropout`, `model.variant`, ...: models/cell_options.py) swap in the
twin layer they need; the per-step diagnostics read torch's fused layers only.

Initialisations of the recurrent matrix W_hh, the subject of the vanishing-gradients study:
- "default": torch's U(-1/sqrt(H), 1/sqrt(H));
- "xavier": Glorot uniform, per gate block;
- "orthogonal": a random orthogonal matrix per gate block (Saxe et al. 2014);
- "identity": the identity, with zero biases (IRNN, Le et al. 2015, meant for relu);
then `spectral_radius`, if set, rescales each block to that radius (0.5 vanishes, 1.0 is the edge,
1.5 explodes). LSTM options: `forget_bias` sets the forget gate's bias (1.0: Gers et al. 2000,
Jozefowicz et al. 2015), and `chrono` draws it from log U(1, T - 1) with the input gate's bias its
negative (Tallec & Ollivier 2018), so that forgetting time scales span the sequence length T.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Literal

import torch
from pydantic import PositiveFloat, PositiveInt, model_validator
from torch import nn
from torch.nn import functional as F

from trainlab import registry
from trainlab.models.cell_options import (
    CellOptionsConfig,
    build_recurrent,
    lstm_gate_rows,
    set_forget_bias,
)

TASK = "sequence-classification"
Kind = Literal["classification", "regression", "sequence-labelling"]
Init = Literal["default", "xavier", "orthogonal", "identity"]


@dataclass(frozen=True)
class SequenceSpec:
    """What a model for a synthetic sequence task needs to know about its data."""

    input_size: int  # features per step, or the vocabulary of token inputs
    output_size: int  # classes, or 1 for regression
    kind: Kind
    tokens: bool  # int64 token inputs (one-hot encoded) rather than float features
    length: int  # steps per sequence (chrono initialisation)


class SequenceModel(nn.Module):
    """inputs (B, T) tokens or (B, T, F) features -> predictions.

    Returns logits (B, T, C) for sequence labelling, logits (B, C) for classification, values (B,)
    for regression.
    """

    def __init__(self, cell: str, spec: SequenceSpec, hidden_size: int = 64, layers: int = 1,
                 nonlinearity: str = "tanh", cell_options: dict | None = None):
        super().__init__()
        self.cell = cell
        self.spec = spec
        self.rnn = build_recurrent(cell, spec.input_size, hidden_size, layers, nonlinearity=nonlinearity,
                                   **(cell_options or {}))
        self.head = nn.Linear(hidden_size, spec.output_size)

    def encode(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, T) tokens or (B, T, F) -> (B, T, F) float inputs of the recurrent layer."""
        if self.spec.tokens:
            return F.one_hot(inputs, self.spec.input_size).to(self.head.weight.dtype)
        return inputs

    def readout(self, outputs: torch.Tensor) -> torch.Tensor:
        """(B, T, H) outputs of the last recurrent layer -> predictions."""
        if self.spec.kind == "sequence-labelling":
            return self.head(outputs)  # (B, T, C)
        last = self.head(outputs[:, -1])  # (B, C)
        return last.squeeze(-1) if self.spec.kind == "regression" else last

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(self.encode(inputs))  # (B, T, H)
        return self.readout(outputs)


def initialise(model: SequenceModel, init: Init, spectral_radius: float | None = None,
               forget_bias: float | None = None, chrono: bool = False) -> SequenceModel:
    """Apply the W_hh initialisation and the LSTM gate biases described in the module docstring."""
    rnn = model.rnn
    hidden = rnn.hidden_size
    with torch.no_grad():
        for layer in range(rnn.num_layers):
            weight_hh = getattr(rnn, f"weight_hh_l{layer}")
            weight_ih = getattr(rnn, f"weight_ih_l{layer}")
            for block in range(weight_hh.shape[0] // hidden):  # one per gate (an LSTM variant may have 3)
                rows = slice(block * hidden, (block + 1) * hidden)
                if init == "xavier":
                    nn.init.xavier_uniform_(weight_hh[rows])
                    nn.init.xavier_uniform_(weight_ih[rows])
                elif init == "orthogonal":
                    nn.init.orthogonal_(weight_hh[rows])
                elif init == "identity":
                    weight_hh[rows] = torch.eye(hidden)
                if spectral_radius is not None:
                    # Imported here: importing the diagnostics package loads the training callbacks,
                    # which need this package (models) whole.
                    from trainlab.diagnostics.spectral import scale_to_spectral_radius

                    scale_to_spectral_radius(weight_hh[rows], spectral_radius)
            if init == "identity":
                getattr(rnn, f"bias_ih_l{layer}").zero_()
                getattr(rnn, f"bias_hh_l{layer}").zero_()
            if model.cell == "lstm" and chrono:
                bias_ih, bias_hh = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}")
                input_gate, forget_gate = lstm_gate_rows(rnn, "i"), lstm_gate_rows(rnn, "f")
                horizon = max(model.spec.length - 1, 2)
                biases = torch.log(torch.empty(hidden).uniform_(1, horizon))
                bias_hh[forget_gate], bias_ih[forget_gate] = biases, 0.0
                bias_hh[input_gate], bias_ih[input_gate] = -biases, 0.0
    if model.cell == "lstm" and forget_bias is not None:
        set_forget_bias(rnn, forget_bias)
    return model


class SequenceModelConfig(CellOptionsConfig):
    """Options of the `rnn`, `lstm` and `gru` models of the sequence-classification task (and the
    cell's, CellOptionsConfig; `forget_bias` is applied by `initialise`, after the W_hh init)."""

    hidden_size: PositiveInt = 64
    layers: PositiveInt = 1
    init: Init = "default"
    spectral_radius: PositiveFloat | None = None  # rescale each W_hh block to this radius
    chrono: bool = False  # LSTM: chrono initialisation of the forget and input biases

    # The name overrides CellOptionsConfig's validator, so that chrono is checked with forget_bias.
    @model_validator(mode="after")
    def _lstm_only_options(self) -> SequenceModelConfig:
        if (self.forget_bias is not None or self.chrono) and self.name != "lstm":
            raise ValueError(f"model.forget_bias and model.chrono apply to lstm only (model is {self.name})")
        if self.forget_bias is not None and self.chrono:
            raise ValueError("model.chrono sets the forget bias itself; leave model.forget_bias unset")
        if self.chrono and self.variant in ("nig", "nfg", "cifg"):
            raise ValueError(f"model.chrono sets the input and forget gates' biases and variant {self.variant} "
                             "lacks one of them; drop model.chrono or choose another variant")
        self.check_cell_options()
        return self


class SequenceRNNConfig(SequenceModelConfig):
    name: str = "rnn"
    nonlinearity: Literal["tanh", "relu"] = "tanh"


class SequenceLSTMConfig(SequenceModelConfig):
    name: str = "lstm"


class SequenceGRUConfig(SequenceModelConfig):
    name: str = "gru"


def build_sequence_model(cell: str, config: SequenceModelConfig, spec: SequenceSpec) -> SequenceModel:
    # The forget bias goes in after the W_hh initialisation (which may zero the biases).
    options = {**config.cell_options(), "forget_bias": None}
    model = SequenceModel(cell, spec, config.hidden_size, config.layers, getattr(config, "nonlinearity", "tanh"),
                          options)
    return initialise(model, config.init, config.spectral_radius, config.forget_bias, config.chrono)


# cell -> (its config, what `trainlab list models` says of it)
CELLS = {
    "rnn": (SequenceRNNConfig, "Elman RNN (tanh or relu) for synthetic sequence tasks, W_hh initialisation as an option."),
    "lstm": (SequenceLSTMConfig, "LSTM for synthetic sequence tasks; forget-gate bias or chrono initialisation as options."),
    "gru": (SequenceGRUConfig, "GRU for synthetic sequence tasks."),
}
for _cell, (_config, _summary) in CELLS.items():
    registry.models.register(_cell, _summary, config_class=_config, task=TASK)(partial(build_sequence_model, _cell))
