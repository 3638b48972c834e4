"""The recurrent-cell options every recurrent model takes, and the builder that picks the layer.

`model.recurrent_dropout`, `model.zoneout`, `model.weight_drop`, `model.variant` and
`model.forget_bias` work the same in the text classifier, the language model, the forecaster and
the synthetic sequence models. The fused torch layer (`nn.LSTM`, ...) stays the default;
`build_recurrent` returns:

- the fused layer when no option needs more (forget_bias only changes its initial biases);
- its weight-dropped twin (`WeightDropLSTM`, ...: still the fused kernel) when only
  `weight_drop` is set;
- the step-by-step `UnrolledLSTM` / `UnrolledGRU` / `UnrolledRNN` when recurrent dropout,
  zoneout or an LSTM variant needs to reach inside the step, or `model.unrolled=true` asks for it
  (to compare or time the two paths).
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field, model_validator
from torch import nn

from trainlab.config import ModelConfig
from trainlab.models.recurrent_cells import (
    VARIANTS,
    UnrolledGRU,
    UnrolledLSTM,
    UnrolledRNN,
    Variant,
    WeightDropGRU,
    WeightDropLSTM,
    WeightDropRNN,
)
from trainlab.models.unrolled_recurrent import UnrolledRecurrent

FUSED: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
WEIGHT_DROPPED: dict[str, type[nn.RNNBase]] = {"rnn": WeightDropRNN, "lstm": WeightDropLSTM, "gru": WeightDropGRU}
UNROLLED: dict[str, type[UnrolledRecurrent]] = {"rnn": UnrolledRNN, "lstm": UnrolledLSTM, "gru": UnrolledGRU}


class CellOptionsConfig(ModelConfig):
    """Options inside the recurrent cell (trainlab.models.recurrent_cells), for every recurrent model."""

    recurrent_dropout: float = Field(0.0, ge=0, lt=1)  # variational: one mask per sequence on h_{t-1}
    zoneout: float = Field(0.0, ge=0, lt=1)  # probability that a unit keeps its previous value
    weight_drop: float = Field(0.0, ge=0, lt=1)  # DropConnect on W_hh, one mask per batch
    variant: Variant = "vanilla"  # LSTM only: Greff et al. 2017's nig, nfg, nog, niaf, noaf, cifg, ...
    forget_bias: float | None = None  # LSTM only: the forget gate's initial bias (e.g. 1.0)
    unrolled: bool = False  # run the step-by-step cell even when no option needs it

    @model_validator(mode="after")
    def _lstm_only_options(self) -> CellOptionsConfig:
        self.check_cell_options()
        return self

    def check_cell_options(self) -> None:
        """Raise ValueError (one line naming the key) for options the model cannot take."""
        if self.variant != "vanilla" and self.name != "lstm":
            raise ValueError(f"model.variant={self.variant} is an LSTM variant and the model is {self.name}; "
                             "set model.name=lstm or drop model.variant")
        if self.forget_bias is not None and self.name != "lstm":
            raise ValueError(f"model.forget_bias applies to lstm only (model is {self.name}); drop it")
        if self.forget_bias is not None and self.variant == "nfg":
            raise ValueError("model.forget_bias: variant nfg has no forget gate; drop one of the two")

    def cell_options(self) -> dict[str, Any]:
        """The keyword arguments of `build_recurrent`."""
        return {"recurrent_dropout": self.recurrent_dropout, "zoneout": self.zoneout,
                "weight_drop": self.weight_drop, "variant": self.variant, "forget_bias": self.forget_bias,
                "unrolled": self.unrolled}


def needs_unrolled(recurrent_dropout: float = 0.0, zoneout: float = 0.0, variant: str = "vanilla",
                   unrolled: bool = False) -> bool:
    """Whether these options need the step-by-step cell rather than the fused kernel."""
    return unrolled or recurrent_dropout > 0 or zoneout > 0 or variant != "vanilla"


def build_recurrent(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    dropout: float = 0.0,
    nonlinearity: str = "tanh",
    recurrent_dropout: float = 0.0,
    zoneout: float = 0.0,
    weight_drop: float = 0.0,
    variant: str = "vanilla",
    forget_bias: float | None = None,
    unrolled: bool = False,
) -> nn.Module:
    """A batch-first recurrent layer stack with torch's interface: `(inputs, state) -> (outputs, state)`.

    Args:
        cell: "rnn", "lstm" or "gru".
        dropout: between layers (ignored with one layer, as torch warns about it).
        the rest: see `CellOptionsConfig`.
    """
    if cell not in FUSED:
        raise ValueError(f"cell must be one of {', '.join(FUSED)} (got {cell!r})")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)} (got {variant!r})")
    if variant != "vanilla" and cell != "lstm":
        raise ValueError(f"variant {variant!r} is an LSTM variant; the cell is {cell}")
    between_layers = dropout if num_layers > 1 else 0.0
    cell_specific: dict[str, Any] = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    if needs_unrolled(recurrent_dropout, zoneout, variant, unrolled):
        if cell == "lstm":
            cell_specific["variant"] = variant
        rnn: nn.Module = UNROLLED[cell](
            input_size, hidden_size, num_layers, batch_first=True, dropout=between_layers,
            recurrent_dropout=recurrent_dropout, zoneout=zoneout, weight_drop=weight_drop, **cell_specific)
    elif weight_drop > 0:
        rnn = WEIGHT_DROPPED[cell](input_size, hidden_size, num_layers, batch_first=True, dropout=between_layers,
                                   weight_drop=weight_drop, **cell_specific)
    else:
        rnn = FUSED[cell](input_size, hidden_size, num_layers, batch_first=True, dropout=between_layers,
                          **cell_specific)
    if forget_bias is not None:
        if cell != "lstm":
            raise ValueError(f"forget_bias applies to an LSTM; the cell is {cell}")
        set_forget_bias(rnn, forget_bias)
    return rnn


def lstm_gate_rows(rnn: nn.Module, gate: str) -> slice:
    """The rows of `gate` ("i", "f", "g", "o") in an LSTM's weight_ih / weight_hh / biases."""
    if isinstance(rnn, UnrolledRecurrent):
        return rnn.gate_rows(gate)
    index = "ifgo".index(gate)
    return slice(index * rnn.hidden_size, (index + 1) * rnn.hidden_size)


def set_forget_bias(rnn: nn.Module, value: float) -> None:
    """Start every layer's forget gate at bias `value` (Gers et al. 2000; Jozefowicz et al. 2015
    use 1.0: the cell remembers by default until it learns to forget). The two torch biases add
    up, so b_hh holds the value and b_ih is zeroed. With coupled gates (CIFG, f = 1 - i) the input
    gate's bias is set to -value, which starts f at the same sigmoid(value)."""
    variant = getattr(rnn, "variant", "vanilla")
    if variant == "nfg":
        raise ValueError("forget_bias: the nfg variant has no forget gate")
    gate, sign = ("i", -1.0) if variant == "cifg" else ("f", 1.0)
    rows = lstm_gate_rows(rnn, gate)
    with torch.no_grad():
        for layer in range(rnn.num_layers):
            getattr(rnn, f"bias_hh_l{layer}")[rows] = sign * value
            getattr(rnn, f"bias_ih_l{layer}")[rows] = 0.0
