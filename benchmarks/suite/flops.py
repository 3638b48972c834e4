"""The machine's ceiling (float32 matrix products) and the work a case does per example, so that a
contender's speed can be read as a share of what the hardware can do."""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.suite.cases import (
    EMBEDDING,
    FORECAST_HIDDEN,
    FORECAST_LAYERS,
    HIDDEN,
    LM_HIDDEN,
    LM_LAYERS,
    LM_VOCAB,
    TEXT_LENGTH,
    WINDOW,
    Case,
    make_data,
)
from benchmarks.suite.torch_models import build_network
from trainlab.models.flops import count_multiply_adds


def matmul_gflops(device: torch.device, dtype: torch.dtype = torch.float32, repeats: int = 10) -> float:
    """The best matrix-product rate over square sizes (larger on a GPU, which small products leave
    idle): 2 n^3 flops per product."""
    best = 0.0
    for n in (4096, 8192) if device.type == "cuda" else (1024, 2048):
        a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
        a @ b  # warm-up
        _synchronize(device)
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        _synchronize(device)
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - started) / 1e9)
    return best


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def lstm_multiply_adds(inputs: int, hidden: int, layers: int = 1, directions: int = 1) -> int:
    """Per time step: 4 gates, each a product with the input and with the previous hidden state."""
    total, width = 0, inputs
    for _ in range(layers):
        total += directions * 4 * hidden * (width + hidden)
        width = hidden * directions
    return total


def forward_multiply_adds(case: Case) -> float:
    """Multiply-adds of one forward pass per unit the case counts (an example; a token for the LM).
    Text cases count the tokens an example really has (the mean length), not padding."""
    if case.model in ("cnn", "resnet20"):
        shape = (1, 28, 28) if case.model == "cnn" else (3, 32, 32)
        return count_multiply_adds(build_network(case), shape)
    if case.model in ("lstm", "bilstm"):
        directions = 2 if case.model == "bilstm" else 1
        length = float(np.mean(make_data(case)["lengths"])) if case.lengths == "imdb" else TEXT_LENGTH
        return length * lstm_multiply_adds(EMBEDDING, HIDDEN, 1, directions) + HIDDEN * directions * 2
    if case.model == "char-lm":
        return lstm_multiply_adds(LM_HIDDEN, LM_HIDDEN, LM_LAYERS) + LM_HIDDEN * LM_VOCAB
    if case.model == "forecaster":
        return WINDOW * lstm_multiply_adds(1, FORECAST_HIDDEN, FORECAST_LAYERS) + FORECAST_HIDDEN
    raise ValueError(f"unknown model {case.model!r}")


def flops_per_unit(case: Case) -> float:
    """Floating-point operations per unit: 2 per multiply-add forward, and backward costs about
    twice the forward pass (one product for the inputs' gradients, one for the weights')."""
    return 2 * forward_multiply_adds(case) * (1 if case.mode == "inference" else 3)
