"""Language-model scores: cross-entropy in nats, perplexity, bits per token, and the classical
unigram and bigram baselines scored on exactly the tokens a model is scored on.

A model that reads a part of `N` tokens predicts its last `N - 1` (each from the tokens before
it), so the baselines score the same `N - 1` targets: the unigram ignores the context, the bigram
reads one token of it. Both are add-one (Laplace) smoothed over the whole vocabulary `V`, the same
`V` outcomes the model's softmax spreads its probability over, so none of them gives a test token
probability zero and the numbers compare directly.
"""

from __future__ import annotations

import math

import torch

NATS_PER_BIT = math.log(2.0)


def perplexity(loss_nats: float) -> float:
    """exp(mean cross-entropy in nats): the effective number of equally likely next tokens."""
    return math.exp(loss_nats) if loss_nats < 700 else math.inf  # exp overflows a float above ~709


def bits_per_token(loss_nats: float) -> float:
    """Mean cross-entropy in bits (bits per character for a character model)."""
    return loss_nats / NATS_PER_BIT


def language_scores(loss_nats: float) -> dict[str, float]:
    """{"loss": nats, "perplexity": exp(loss), "bpc": bits} for one mean cross-entropy."""
    return {"loss": loss_nats, "perplexity": perplexity(loss_nats), "bpc": bits_per_token(loss_nats)}


class UnigramBaseline:
    """P(token) = (count + 1) / (N + V), counted on the training ids."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.log_probabilities: torch.Tensor | None = None  # (V,) float64

    def fit(self, train_ids: torch.Tensor) -> UnigramBaseline:
        counts = torch.bincount(train_ids.long(), minlength=self.vocab_size).double()
        self.log_probabilities = torch.log((counts + 1) / (counts.sum() + self.vocab_size))
        return self

    def loss(self, ids: torch.Tensor) -> float:
        """Mean negative log-likelihood in nats of `ids[1:]` (the tokens a model predicts)."""
        return -self.log_probabilities[ids[1:].long()].mean().item()


class BigramBaseline:
    """P(next | previous) = (count(previous, next) + 1) / (count(previous, *) + V), counted on the
    consecutive pairs of the training ids.

    The pair counts are kept sparse (the distinct pairs seen, sorted), so a 20,000-word vocabulary
    costs what its training text costs, not a V x V table.
    """

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.pair_codes: torch.Tensor | None = None  # sorted distinct previous * V + next
        self.pair_counts: torch.Tensor | None = None  # float64, one per code
        self.previous_counts: torch.Tensor | None = None  # (V,) float64: count(previous, *)

    def fit(self, train_ids: torch.Tensor) -> BigramBaseline:
        train_ids = train_ids.long()
        codes = train_ids[:-1] * self.vocab_size + train_ids[1:]
        self.pair_codes, counts = torch.unique(codes, sorted=True, return_counts=True)
        self.pair_counts = counts.double()
        self.previous_counts = torch.bincount(train_ids[:-1], minlength=self.vocab_size).double()
        return self

    def log_probabilities(self, previous: torch.Tensor, following: torch.Tensor) -> torch.Tensor:
        """log P(following | previous), elementwise, float64."""
        codes = previous.long() * self.vocab_size + following.long()
        where = torch.searchsorted(self.pair_codes, codes).clamp(max=len(self.pair_codes) - 1)
        seen = self.pair_codes[where] == codes
        counts = torch.where(seen, self.pair_counts[where], 0.0)
        return torch.log((counts + 1) / (self.previous_counts[previous.long()] + self.vocab_size))

    def loss(self, ids: torch.Tensor) -> float:
        """Mean negative log-likelihood in nats of `ids[1:]`, each given the token before it."""
        return -self.log_probabilities(ids[:-1], ids[1:]).mean().item()


def baseline_scores(train_ids: torch.Tensor, test_ids: torch.Tensor, vocab_size: int) -> dict[str, float]:
    """`baseline_unigram_*` and `baseline_bigram_*` (loss, perplexity, bpc) on `test_ids`, fitted on
    `train_ids`: the flat keys of metrics.json."""
    scores = {}
    baselines = {"unigram": UnigramBaseline(vocab_size), "bigram": BigramBaseline(vocab_size)}
    for name, baseline in baselines.items():
        loss = baseline.fit(train_ids).loss(test_ids)
        scores.update({f"baseline_{name}_{key}": value for key, value in language_scores(loss).items()})
    return scores
