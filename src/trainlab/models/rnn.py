"""Recurrent text classifiers: embeddings, stacked (bi)RNN/LSTM/GRU layers, masked pooling, a linear head.

Padding never enters the state of either direction. Batches are right-padded, so the forward
direction reads every real token before any padding: its output at a sequence's true last step is
the same as without padding. The backward direction runs as its own unidirectional RNN on each
sequence reversed within its length (padding stays on the right), and its outputs are put back in
the original order, so its output at step 0 has read the whole sequence and nothing else.

Why not `pack_padded_sequence` everywhere: on CPU it leaves the fused oneDNN kernel and was measured
~3.7x slower than padded input with torch 2.13. On CUDA cuDNN runs packed sequences fast and skips
the padded steps, so there each direction's input is packed (`packing="auto"`); results are the same.

Padding must not reach the gradients either. Run on over padding, a tanh RNN, GRU or LSTM keeps a
bounded state and its padded steps send exactly zero gradient back. A relu RNN's state is unbounded:
it can overflow to inf over a long padding, and backpropagating zero through inf gives NaN in
W_hh's gradient, so one long text in a batch could diverge a run. A relu layer is therefore packed
whenever its batch holds padding, whatever `packing` says, and the step-by-step cells hold each
sequence's state past its length.

Each layer holds one unidirectional torch RNN per direction (`layers.0.forward_rnn.weight_ih_l0`,
`layers.0.backward_rnn.weight_hh_l0`, ...), so layer k of the state dict is layer k of a torch
`nn.LSTM(bidirectional=True)` with `_l0` for `_lk` and the backward weights for the `_reverse` ones.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

import torch
from pydantic import Field, PositiveInt, model_validator
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from trainlab import registry
from trainlab.models.cell_options import CellOptionsConfig, build_recurrent
from trainlab.models.pooling import Pooling, build_pooling, length_mask, pooled_size
from trainlab.models.pretrained_encoder import load_language_model_weights
from trainlab.models.unrolled_recurrent import UnrolledRecurrent

Cell = Literal["rnn", "lstm", "gru"]
Packing = Literal["auto", "always", "never"]
DEFAULT_EMBEDDING_DIM = 128


def reversal_index(lengths: torch.Tensor, max_length: int) -> torch.Tensor:
    """(B, L) int64: position t of row b reads `length_b - 1 - t` inside the sequence, t after it.

    Gathering with it reverses each sequence within its length and leaves the padding where it
    is; gathering twice gives the original back.
    """
    positions = torch.arange(max_length, device=lengths.device)
    lengths = lengths[:, None]
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


def gather_steps(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (B, L, F) reordered along L by index (B, L)."""
    return values.gather(1, index.unsqueeze(-1).expand(-1, -1, values.shape[-1]))


def run_rnn(
    rnn: nn.Module, inputs: torch.Tensor, lengths_cpu: torch.Tensor | None, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """A unidirectional batch-first RNN over right-padded inputs (B, L, F) -> outputs (B, L, H).

    With `lengths_cpu` the input is packed, and the outputs at padded steps are zero; without, the
    padded steps are computed too (their outputs are then meaningless, the real steps are exact).
    The step-by-step cells (models/recurrent_cells.py) take no packed input: they run padded and,
    given `lengths`, hold each sequence's state past its end.
    """
    if isinstance(rnn, UnrolledRecurrent):
        return rnn(inputs, lengths=lengths)[0]
    if lengths_cpu is None:
        return rnn(inputs)[0]
    packed = pack_padded_sequence(inputs, lengths_cpu, batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=inputs.shape[1])[0]


class RecurrentLayer(nn.Module):
    """One recurrent layer: a forward RNN and, if bidirectional, a backward one, each a one-layer
    torch `nn.RNN` / `nn.LSTM` / `nn.GRU`, or its weight-dropped or step-by-step twin when
    `cell_options` ask for one (models/cell_options.py)."""

    def __init__(
        self, cell: Cell, input_size: int, hidden_size: int, bidirectional: bool, nonlinearity: str = "tanh",
        cell_options: dict | None = None,
    ):
        super().__init__()

        def direction() -> nn.Module:
            return build_recurrent(cell, input_size, hidden_size, nonlinearity=nonlinearity, **(cell_options or {}))

        self.forward_rnn = direction()
        self.backward_rnn = direction() if bidirectional else None

    def forward(
        self, inputs: torch.Tensor, reversal: torch.Tensor, lengths_cpu: torch.Tensor | None,
        lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """inputs (B, L, F) right-padded -> (B, L, D * H), the forward direction first.

        Args:
            reversal: (B, L) `reversal_index` of the batch.
            lengths_cpu: (B,) lengths on the CPU to pack with, or None to run on the padded input.
            lengths: (B,) lengths on the inputs' device, for the step-by-step cells.
        """
        forward_outputs = run_rnn(self.forward_rnn, inputs, lengths_cpu, lengths)  # (B, L, H)
        if self.backward_rnn is None:
            return forward_outputs
        reversed_outputs = run_rnn(self.backward_rnn, gather_steps(inputs, reversal), lengths_cpu, lengths)
        return torch.cat([forward_outputs, gather_steps(reversed_outputs, reversal)], dim=-1)


class RecurrentEncoder(nn.Module):
    """Stacked recurrent layers; the input of layer k + 1 is both directions' outputs of layer k.

    Args:
        dropout: applied to the outputs of every layer but the last (as torch's `dropout`).
        packing: "auto" packs on CUDA only; "always" / "never" force it (both give the same result).
    """

    def __init__(
        self,
        cell: Cell,
        input_size: int,
        hidden_size: int,
        layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        packing: Packing = "auto",
        cell_options: dict | None = None,
    ):
        super().__init__()
        directions = 2 if bidirectional else 1
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.output_size = directions * hidden_size
        self.packing = packing
        self.unbounded_state = cell == "rnn" and nonlinearity == "relu"  # see the module docstring
        self.layers = nn.ModuleList(
            RecurrentLayer(cell, input_size if index == 0 else self.output_size, hidden_size, bidirectional,
                           nonlinearity, cell_options)
            for index in range(layers)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """inputs (B, L, E) right-padded, lengths (B,) -> outputs (B, L, D * H), zero at padded steps."""
        lengths = lengths.to(inputs.device)
        pack = self.packing == "always" or (self.packing == "auto" and inputs.is_cuda)
        if self.unbounded_state and not pack:
            pack = int(lengths.min()) < inputs.shape[1]  # only a batch with padding pays for packing
        lengths_cpu = lengths.cpu() if pack else None
        reversal = reversal_index(lengths, inputs.shape[1]) if self.bidirectional else None
        outputs = inputs
        for index, layer in enumerate(self.layers):
            if index > 0:
                outputs = self.dropout(outputs)
            outputs = layer(outputs, reversal, lengths_cpu, lengths)
        # Zero what was computed past the end, as pad_packed_sequence does (where(), not a product:
        # a relu RNN run long over padding may reach inf there, and inf * 0 is NaN).
        return torch.where(length_mask(lengths, inputs.shape[1]).unsqueeze(-1), outputs, 0.0)


class RecurrentClassifier(nn.Module):
    """Token ids -> embeddings -> recurrent encoder -> pooling -> dropout -> linear classifier.

    Args (of forward):
        tokens: (B, L) int64, right-padded with `padding_idx`.
        lengths: (B,) int64, the real tokens of each row, 1 <= length <= L.
    Returns:
        logits (B, num_classes).
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        cell: Cell = "lstm",
        embedding_dim: int = DEFAULT_EMBEDDING_DIM,
        hidden_size: int = 128,
        layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        embedding_dropout: float = 0.0,
        head_dropout: float = 0.0,
        pooling: Pooling = "last",
        nonlinearity: str = "tanh",
        attention_size: int | None = None,
        padding_idx: int = 0,
        embeddings: torch.Tensor | None = None,
        freeze_embeddings: bool = False,
        packing: Packing = "auto",
        cell_options: dict | None = None,
    ):
        super().__init__()
        if embeddings is not None and tuple(embeddings.shape) != (vocab_size, embedding_dim):
            raise ValueError(
                f"pretrained embeddings are {tuple(embeddings.shape)}, expected (vocab_size, embedding_dim) "
                f"= ({vocab_size}, {embedding_dim}); align the vectors to the vocabulary (data.embeddings)"
            )
        if freeze_embeddings and embeddings is None:
            raise ValueError(
                "model.freeze_embeddings keeps pretrained vectors fixed, but there are none; "
                "set data.embeddings=path/to/glove.txt or model.freeze_embeddings=false"
            )
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        if embeddings is not None:
            with torch.no_grad():
                self.embedding.weight.copy_(embeddings)
            self.embedding.weight.requires_grad_(not freeze_embeddings)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.encoder = RecurrentEncoder(
            cell, embedding_dim, hidden_size, layers, bidirectional, dropout, nonlinearity, packing, cell_options
        )
        self.pooling = build_pooling(pooling, hidden_size, bidirectional, attention_size)
        pooled = pooled_size(pooling, self.encoder.output_size)
        self.head = nn.Sequential(nn.Dropout(head_dropout), nn.Linear(pooled, num_classes))

    def forward_sequence(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, L) ids -> (B, L, D * H) outputs of the last layer, zero at padded steps."""
        if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > tokens.shape[1]):
            raise ValueError(
                f"lengths must lie in 1..{tokens.shape[1]} (the padded width of the batch), got "
                f"{int(lengths.min())}..{int(lengths.max())}; give each text at least one token"
            )
        embedded = self.embedding_dropout(self.embedding(tokens))  # (B, L, E)
        return self.encoder(embedded, lengths)

    def forward_features(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, L) ids -> (B, D * H) pooled features."""
        return self.pooling(self.forward_sequence(tokens, lengths), lengths.to(tokens.device))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, num_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(tokens, lengths))


class RecurrentClassifierConfig(CellOptionsConfig):
    """Options shared by the `rnn`, `lstm` and `gru` text classifiers (and the cell's, CellOptionsConfig)."""

    # None: the length of the pretrained vectors (data.embeddings), else 128. A value that differs
    # from the vectors' length is an error rather than a silent random start.
    embedding_dim: PositiveInt | None = None
    hidden_size: PositiveInt = 128
    layers: PositiveInt = 1
    bidirectional: bool = False
    dropout: float = Field(0.0, ge=0, lt=1)  # between recurrent layers (needs layers >= 2)
    embedding_dropout: float = Field(0.0, ge=0, lt=1)  # on the embedded tokens
    head_dropout: float = Field(0.0, ge=0, lt=1)  # on the pooled features, before the classifier
    pooling: Pooling = "last"
    attention_size: PositiveInt | None = None  # attention pooling's scoring layer; None: hidden_size
    freeze_embeddings: bool = False  # keep the pretrained vectors fixed (needs data.embeddings)
    # A word-level language-model run: its vocabulary, embedding and recurrent layers (ULMFiT;
    # models/pretrained_encoder.py). The classifier then takes its sizes.
    pretrained_encoder: str | None = None

    @model_validator(mode="after")
    def _dropout_needs_two_layers(self) -> RecurrentClassifierConfig:
        if self.dropout > 0 and self.layers < 2:
            raise ValueError(
                f"model.dropout ({self.dropout}) applies between recurrent layers and model.layers is 1; "
                "set model.layers >= 2, or use model.embedding_dropout / model.head_dropout"
            )
        return self


class RNNClassifierConfig(RecurrentClassifierConfig):
    name: str = "rnn"
    nonlinearity: Literal["tanh", "relu"] = "tanh"


class LSTMClassifierConfig(RecurrentClassifierConfig):
    name: str = "lstm"


class GRUClassifierConfig(RecurrentClassifierConfig):
    name: str = "gru"


def build_recurrent_classifier(cell: Cell, config: RecurrentClassifierConfig, spec) -> RecurrentClassifier:
    """The classifier of `config` for a `TextSpec`, with the spec's pretrained vectors if any."""
    embedding_dim = config.embedding_dim
    if spec.embeddings is not None:
        vectors_dim = spec.embeddings.shape[1]
        if embedding_dim is not None and embedding_dim != vectors_dim:
            raise ValueError(
                f"model.embedding_dim ({embedding_dim}) differs from the {vectors_dim}-d pretrained vectors "
                "of data.embeddings; leave model.embedding_dim unset to follow the vectors"
            )
        embedding_dim = vectors_dim
    classifier = RecurrentClassifier(
        spec.vocab_size,
        spec.num_classes,
        cell,
        embedding_dim=embedding_dim or DEFAULT_EMBEDDING_DIM,
        hidden_size=config.hidden_size,
        layers=config.layers,
        bidirectional=config.bidirectional,
        dropout=config.dropout,
        embedding_dropout=config.embedding_dropout,
        head_dropout=config.head_dropout,
        pooling=config.pooling,
        nonlinearity=getattr(config, "nonlinearity", "tanh"),  # an RNN's option
        attention_size=config.attention_size,
        padding_idx=spec.padding_idx,
        embeddings=spec.embeddings,
        freeze_embeddings=config.freeze_embeddings,
        cell_options=config.cell_options(),
    )
    if spec.encoder_weights is not None:  # model.pretrained_encoder, read by the pipeline
        load_language_model_weights(classifier, spec.encoder_weights)
    return classifier


# cell -> (its config, what `trainlab list models` says of it)
CELLS = {
    "rnn": (RNNClassifierConfig,
            "Elman RNN (tanh or relu) text classifier: embeddings, (bi)RNN layers, pooling, linear head."),
    "lstm": (LSTMClassifierConfig, "LSTM text classifier: embeddings, (bi)LSTM layers, pooling, linear head."),
    "gru": (GRUClassifierConfig, "GRU text classifier: embeddings, (bi)GRU layers, pooling, linear head."),
}
for _cell, (_config, _summary) in CELLS.items():
    registry.models.register(_cell, _summary, config_class=_config, task="text-classification")(
        partial(build_recurrent_classifier, _cell))

