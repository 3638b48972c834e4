"""The cases' networks (trainlab's own modules, so every torch contender trains the same one) and
their loss on one batch, written the way a hand-written loop calls them."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.suite.cases import (
    FORECAST_HIDDEN,
    FORECAST_LAYERS,
    HIDDEN,
    HORIZON,
    LM_HIDDEN,
    LM_LAYERS,
    LM_VOCAB,
    NUM_CLASSES,
    VOCAB,
    WINDOW,
    Case,
)
from trainlab import registry
from trainlab.models import ImageSpec, SeriesSpec, TextSpec, build_model
from trainlab.models.cnn import SimpleCNN
from trainlab.models.language_model import LanguageModelSpec


def build_network(case: Case) -> nn.Module:
    """The case's network with its initial weights drawn from seed 0."""
    torch.manual_seed(0)
    if case.model == "cnn":  # ../shared/PERF.md's network: conv32-BN-pool-conv64-BN-pool-fc128-fc10
        return SimpleCNN(1, 10, (28, 28), channels=[32, 64], hidden_size=128)
    if case.model == "resnet20":
        return _registered("resnet20", "image-classification", ImageSpec(3, 32, 32, 10))
    if case.model in ("lstm", "bilstm"):
        options = {"embedding_dim": 128, "hidden_size": HIDDEN, "bidirectional": case.model == "bilstm"}
        return _registered("lstm", "text-classification", TextSpec(VOCAB, NUM_CLASSES), **options)
    if case.model == "char-lm":
        return _registered("lstm", "language-model", LanguageModelSpec(LM_VOCAB),
                           hidden_size=LM_HIDDEN, layers=LM_LAYERS)
    if case.model == "forecaster":
        return _registered("lstm", "forecast", SeriesSpec(1, 1, WINDOW, HORIZON),
                           hidden_size=FORECAST_HIDDEN, layers=FORECAST_LAYERS)
    raise ValueError(f"unknown model {case.model!r}")


def _registered(name: str, task: str, spec, **options) -> nn.Module:
    config_class = registry.models.entry(name, task).config_class
    return build_model(config_class(**options), spec, task)


def batch_loss(case: Case, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The training loss of one batch as a hand-written loop computes it (no state carried)."""
    if case.model in ("cnn", "resnet20"):
        images, labels = batch
        return F.cross_entropy(model(images), labels)
    if case.model in ("lstm", "bilstm"):
        tokens, lengths, labels = batch
        return F.cross_entropy(model(tokens, lengths), labels)
    if case.model == "forecaster":
        inputs, targets = batch
        return F.mse_loss(model(inputs, targets), targets)
    raise ValueError(f"batch_loss does not serve {case.model!r}")
