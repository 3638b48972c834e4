"""Pool the per-step outputs of a recurrent encoder into one vector per sequence, masked by length.

Every pooling reads only the first `length` steps of each sequence: padding can never change the
result, whatever the encoder left at the padded positions.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Pooling = Literal["last", "mean", "max", "attention", "concat"]


def length_mask(lengths: torch.Tensor, max_length: int) -> torch.Tensor:
    """(B, L) bool, True at the real tokens of each sequence: `position < length`."""
    positions = torch.arange(max_length, device=lengths.device)
    return positions < lengths[:, None]


class LastPooling(nn.Module):
    """The forward direction at each sequence's true last token, and for a bidirectional encoder
    the backward direction at position 0 (where it has read the whole sequence: its final state).

    Reading step `L_max - 1` instead, as right-padded models often do, reads the state after the
    padding, and for the backward direction the state after one token.
    """

    def __init__(self, hidden_size: int, bidirectional: bool):
        super().__init__()
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional

    def forward(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """outputs (B, L, D * H) with the forward direction first -> (B, D * H)."""
        rows = torch.arange(len(outputs), device=outputs.device)
        last = outputs[rows, lengths - 1, : self.hidden_size]  # (B, H)
        if not self.bidirectional:
            return last
        return torch.cat([last, outputs[:, 0, self.hidden_size :]], dim=1)


class MeanPooling(nn.Module):
    """The average of the outputs over each sequence's real tokens."""

    def forward(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """outputs (B, L, F) -> (B, F)."""
        mask = length_mask(lengths, outputs.shape[1]).unsqueeze(-1)  # (B, L, 1)
        # where() rather than a product, so that a non-finite value at a padded step stays out.
        total = torch.where(mask, outputs, 0.0).sum(dim=1)
        return total / lengths.unsqueeze(-1).to(outputs.dtype)


class MaxPooling(nn.Module):
    """The feature-wise maximum of the outputs over each sequence's real tokens."""

    def forward(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """outputs (B, L, F) -> (B, F)."""
        mask = length_mask(lengths, outputs.shape[1]).unsqueeze(-1)  # (B, L, 1)
        return outputs.masked_fill(~mask, float("-inf")).amax(dim=1)


class ConcatPooling(nn.Module):
    """The last, max and mean poolings side by side (ULMFiT's "concat pooling", Howard & Ruder
    2018): a head on a pretrained language model's states gets its final state, which has read the
    whole text, with the strongest and the average signal of every feature."""

    def __init__(self, hidden_size: int, bidirectional: bool):
        super().__init__()
        self.parts = nn.ModuleList([LastPooling(hidden_size, bidirectional), MaxPooling(), MeanPooling()])

    def forward(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """outputs (B, L, F) -> (B, 3 * F)."""
        return torch.cat([part(outputs, lengths) for part in self.parts], dim=1)


class AttentionPooling(nn.Module):
    """Additive attention (Bahdanau et al. 2015): score_t = v^T tanh(W h_t + b), a softmax over
    the real tokens, and the weighted sum of the outputs. Padding gets a weight of exactly zero.

    Args:
        input_size: F, the size of each step's output.
        attention_size: the size of the hidden layer of the scoring network (rows of W).
    """

    def __init__(self, input_size: int, attention_size: int):
        super().__init__()
        self.projection = nn.Linear(input_size, attention_size)  # W, b
        self.score = nn.Linear(attention_size, 1, bias=False)  # v

    def weights(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, L) attention weights: each row sums to 1 over the real tokens, 0 on padding."""
        scores = self.score(torch.tanh(self.projection(outputs))).squeeze(-1)  # (B, L)
        mask = length_mask(lengths, outputs.shape[1])
        return scores.masked_fill(~mask, float("-inf")).softmax(dim=1)

    def forward(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """outputs (B, L, F) -> (B, F)."""
        weights = self.weights(outputs, lengths)  # (B, L)
        # Padded outputs may be non-finite garbage; 0 * inf would leak NaN into the sum.
        mask = length_mask(lengths, outputs.shape[1]).unsqueeze(-1)
        return (weights.unsqueeze(-1) * torch.where(mask, outputs, 0.0)).sum(dim=1)


def pooled_size(pooling: Pooling, output_size: int) -> int:
    """The size of the pooled vector for step outputs of `output_size` features."""
    return 3 * output_size if pooling == "concat" else output_size


def build_pooling(
    pooling: Pooling, hidden_size: int, bidirectional: bool, attention_size: int | None = None
) -> nn.Module:
    """The pooling module for a recurrent encoder whose step outputs are (B, L, D * hidden_size)."""
    output_size = hidden_size * (2 if bidirectional else 1)
    if pooling == "last":
        return LastPooling(hidden_size, bidirectional)
    if pooling == "mean":
        return MeanPooling()
    if pooling == "max":
        return MaxPooling()
    if pooling == "attention":
        return AttentionPooling(output_size, attention_size or hidden_size)
    if pooling == "concat":
        return ConcatPooling(hidden_size, bidirectional)
    raise ValueError(f"model.pooling must be one of last, mean, max, attention, concat (got '{pooling}')")
