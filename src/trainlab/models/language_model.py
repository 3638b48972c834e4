"""Recurrent language models: token ids -> embeddings -> stacked RNN/LSTM/GRU -> next-token logits.

The model takes and returns the recurrent state, so training can carry it across consecutive
chunks of a text (truncated BPTT, the task detaches it) and generation can feed one token at a
time. The stack is one torch `nn.LSTM(num_layers=...)` (or RNN/GRU): the fused multi-layer kernel
is the fastest on CPU and cuDNN. The cell options (`model.recurrent_dropout`, `model.weight_drop`,
`model.variant`, ...: models/cell_options.py) swap in the twin layer they need.

Weight tying (Press & Wolf 2017, "Using the Output Embedding to Improve Language Models"; Inan et
al. 2017) uses the embedding matrix as the output layer: fewer parameters and, on word-level
models, a better perplexity. It needs the output features to have the embedding's width, so a
linear projection from `hidden_size` to `embedding_dim` is put in between when the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Literal

import torch
from pydantic import Field, PositiveInt
from torch import nn

from trainlab import registry
from trainlab.models.cell_options import CellOptionsConfig, build_recurrent

Cell = Literal["rnn", "lstm", "gru"]
# The recurrent state: (h, c) for an LSTM, h for RNN and GRU; each (layers, B, hidden_size).
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class LanguageModelSpec:
    """What a language model needs to know about its data."""

    vocab_size: int


class RecurrentLanguageModel(nn.Module):
    """Predicts every next token of a batch of token sequences.

    Args:
        dropout: on the embeddings, between recurrent layers and on the last layer's outputs
            (Zaremba et al. 2014 put it on every non-recurrent connection).
        tie_weights: the output layer shares the embedding matrix.
        cell_options: keyword arguments of `build_recurrent` (recurrent dropout, weight drop, ...).
    """

    def __init__(
        self,
        vocab_size: int,
        cell: Cell = "lstm",
        embedding_dim: int = 256,
        hidden_size: int = 256,
        layers: int = 2,
        dropout: float = 0.0,
        tie_weights: bool = False,
        nonlinearity: str = "tanh",
        cell_options: dict | None = None,
    ):
        super().__init__()
        self.cell = cell
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.rnn = build_recurrent(cell, embedding_dim, hidden_size, layers, dropout, nonlinearity,
                                   **(cell_options or {}))
        # With tying, the decoder reads embedding_dim features: project when the widths differ.
        self.projection = (
            nn.Linear(hidden_size, embedding_dim) if tie_weights and hidden_size != embedding_dim else None
        )
        self.decoder = nn.Linear(embedding_dim if tie_weights else hidden_size, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight

    def forward_features(
        self, tokens: torch.Tensor, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """(B, T) ids -> the last layer's outputs (B, T, H) (projected if tied) and the new state."""
        embedded = self.dropout(self.embedding(tokens))  # (B, T, E)
        outputs, state = self.rnn(embedded, state)  # (B, T, H)
        outputs = self.dropout(outputs)
        if self.projection is not None:
            outputs = self.projection(outputs)  # (B, T, E)
        return outputs, state

    def forward(self, tokens: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """(B, T) ids and the state after the previous chunk (None: zeros) -> logits (B, T, V) and
        the state after this chunk."""
        features, state = self.forward_features(tokens, state)
        return self.decoder(features), state


def detach_state(state: State | None) -> State | None:
    """The same values cut from the graph of the previous chunk (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(part.detach() for part in state)
    return state.detach()


class LanguageModelConfig(CellOptionsConfig):
    """Options shared by the `rnn`, `lstm` and `gru` language models (and the cell's, CellOptionsConfig)."""

    embedding_dim: PositiveInt | None = None  # None: hidden_size (what weight tying wants)
    hidden_size: PositiveInt = 256
    layers: PositiveInt = 2
    dropout: float = Field(0.0, ge=0, lt=1)  # embeddings, between layers, last outputs
    tie_weights: bool = False  # the output layer shares the embedding matrix


class RNNLanguageModelConfig(LanguageModelConfig):
    name: str = "rnn"
    nonlinearity: Literal["tanh", "relu"] = "tanh"


class LSTMLanguageModelConfig(LanguageModelConfig):
    name: str = "lstm"


class GRULanguageModelConfig(LanguageModelConfig):
    name: str = "gru"


def build_language_model(cell: Cell, config: LanguageModelConfig, spec):
    """The model of `config` for a `LanguageModelSpec` (its vocabulary size)."""
    return RecurrentLanguageModel(
        spec.vocab_size,
        cell,
        embedding_dim=config.embedding_dim or config.hidden_size,
        hidden_size=config.hidden_size,
        layers=config.layers,
        dropout=config.dropout,
        tie_weights=config.tie_weights,
        nonlinearity=getattr(config, "nonlinearity", "tanh"),  # an RNN's option
        cell_options=config.cell_options(),
    )


# cell -> (its config, what `trainlab list models` says of it)
CELLS = {
    "rnn": (RNNLanguageModelConfig, "Elman RNN (tanh or relu) language model: embeddings, stacked RNN, next-token softmax."),
    "lstm": (LSTMLanguageModelConfig, "LSTM language model: embeddings, stacked LSTM, next-token softmax (optionally tied)."),
    "gru": (GRULanguageModelConfig, "GRU language model: embeddings, stacked GRU, next-token softmax (optionally tied)."),
}
for _cell, (_config, _summary) in CELLS.items():
    registry.models.register(_cell, _summary, config_class=_config, task="language-model")(
        partial(build_language_model, _cell))
