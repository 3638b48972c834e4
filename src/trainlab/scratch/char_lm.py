"""Character-level language modelling with a NumPy network, and the same in torch for comparison.

Both train on the same batches from the same initial weights with the same settings: the text is
cut into `batch_size` contiguous streams, read `sequence_length` characters at a time (truncated
BPTT) with the hidden state carried from one chunk to the next, Adam, gradients clipped to a global
norm. The torch twin is `nn.RNN`/`nn.LSTM`/`nn.GRU` + `nn.Linear` holding copies of the NumPy
weights, so the two loss curves differ only by floating-point rounding (and the time per step by the
implementation).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from trainlab.scratch.cells import CELLS
from trainlab.scratch.network import RecurrentNetwork, softmax_cross_entropy
from trainlab.scratch.optim import Adam, clip_global_norm

TORCH_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass(frozen=True)
class CharLMSettings:
    cell: str = "rnn"
    hidden_size: int = 64
    sequence_length: int = 25
    batch_size: int = 32
    steps: int = 300
    lr: float = 3e-3
    clip_norm: float = 5.0
    seed: int = 0
    eval_chunks: int = 20  # validation chunks of sequence_length per stream


@dataclass
class CharLMResult:
    losses: list[float]  # training loss (nats/char) per step
    val_loss: float
    seconds_per_step: float
    eigenvalues_before: np.ndarray
    eigenvalues_after: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


def encode_text(text: str) -> tuple[np.ndarray, list[str]]:
    """Character ids (int64) and the vocabulary (sorted characters)."""
    vocabulary = sorted(set(text))
    index = {character: position for position, character in enumerate(vocabulary)}
    return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text)), vocabulary


def streams(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """(batch_size, L) contiguous streams of the text (the tail that does not fit is dropped)."""
    length = len(ids) // batch_size
    if length < 2:
        raise ValueError(f"{len(ids)} characters are too few for {batch_size} streams")
    return ids[: length * batch_size].reshape(batch_size, length)


def chunks(stream_ids: np.ndarray, sequence_length: int, count: int):
    """`count` (inputs, targets) pairs, each (T, B) time-major, cycling through the streams."""
    usable = (stream_ids.shape[1] - 1) // sequence_length
    for k in range(count):
        start = (k % usable) * sequence_length
        window = stream_ids[:, start:start + sequence_length + 1]
        yield window[:, :-1].T, window[:, 1:].T, (k % usable) == 0  # the last: a new pass starts


def recurrent_matrix(network: RecurrentNetwork) -> np.ndarray:
    """W_hh of the RNN, or the candidate block for an LSTM (g) or GRU (n), output-major like torch."""
    hidden = network.hidden_size
    if "W_hh" in network.params:
        return network.params["W_hh"].T
    return network.params["W_h"][:, 2 * hidden:3 * hidden].T  # block 2: g (LSTM) and n (GRU)


def train_numpy(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int, settings: CharLMSettings) -> CharLMResult:
    network = CELLS[settings.cell](vocab_size, settings.hidden_size, vocab_size, seed=settings.seed, dtype=np.float32)
    before = np.linalg.eigvals(recurrent_matrix(network).astype(np.float64))
    optimizer = Adam(settings.lr)
    data = streams(train_ids, settings.batch_size)
    state, losses = None, []
    started = time.perf_counter()
    for inputs, targets, restart in chunks(data, settings.sequence_length, settings.steps):
        state = None if restart else state
        logits, state = network.forward(inputs, state)
        loss, d_logits = softmax_cross_entropy(logits, targets)
        grads = network.backward(d_logits)
        clip_global_norm(grads, settings.clip_norm)
        optimizer.step(network.params, grads)
        losses.append(loss)
    seconds = (time.perf_counter() - started) / settings.steps
    val_loss = evaluate_numpy(network, val_ids, settings)
    after = np.linalg.eigvals(recurrent_matrix(network).astype(np.float64))
    return CharLMResult(losses, val_loss, seconds, before, after)


def evaluate_numpy(network: RecurrentNetwork, ids: np.ndarray, settings: CharLMSettings) -> float:
    data = streams(ids, settings.batch_size)
    total, state = [], None
    count = min(settings.eval_chunks, (data.shape[1] - 1) // settings.sequence_length)
    for inputs, targets, _ in chunks(data, settings.sequence_length, count):
        logits, state = network.forward(inputs, state)
        total.append(softmax_cross_entropy(logits, targets)[0])
    return float(np.mean(total))


def torch_twin(network: RecurrentNetwork, cell: str, dtype: torch.dtype = torch.float32
               ) -> tuple[nn.RNNBase, nn.Linear]:
    """A torch module and readout holding copies of the NumPy network's weights."""
    p = network.params
    module = TORCH_CELLS[cell](network.input_size, network.hidden_size).to(dtype)
    readout = nn.Linear(network.hidden_size, network.output_size).to(dtype)
    w_x, w_h = ("W_xh", "W_hh") if cell == "rnn" else ("W_x", "W_h")
    bias_x, bias_h = {"rnn": ("b_h", None), "lstm": ("b", None), "gru": ("b_x", "b_h")}[cell]
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(p[w_x].T.copy()))
        module.weight_hh_l0.copy_(torch.from_numpy(p[w_h].T.copy()))
        module.bias_ih_l0.copy_(torch.from_numpy(p[bias_x]))
        if bias_h:
            module.bias_hh_l0.copy_(torch.from_numpy(p[bias_h]))
        else:
            # The NumPy RNN and LSTM have one bias; torch's second one stays at zero and out of
            # training, or every step would move the sum of two biases twice as far.
            module.bias_hh_l0.zero_()
            module.bias_hh_l0.requires_grad_(False)
        readout.weight.copy_(torch.from_numpy(p["W_hy"].T.copy()))
        readout.bias.copy_(torch.from_numpy(p["b_y"]))
    return module, readout


def train_torch(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int, settings: CharLMSettings) -> CharLMResult:
    """The same training in torch, from the NumPy network's initial weights for `settings.seed`."""
    initial = CELLS[settings.cell](vocab_size, settings.hidden_size, vocab_size, seed=settings.seed, dtype=np.float32)
    module, readout = torch_twin(initial, settings.cell)
    parameters = [p for p in (*module.parameters(), *readout.parameters()) if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=settings.lr)
    before = np.linalg.eigvals(_torch_recurrent(module, settings.cell))
    data = streams(train_ids, settings.batch_size)
    state, losses = None, []
    started = time.perf_counter()
    for inputs, targets, restart in chunks(data, settings.sequence_length, settings.steps):
        state = None if restart else _detach(state)
        one_hot = F.one_hot(torch.from_numpy(inputs), vocab_size).float()
        outputs, state = module(one_hot, state)
        loss = F.cross_entropy(readout(outputs).reshape(-1, vocab_size), torch.from_numpy(targets).reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, settings.clip_norm)
        optimizer.step()
        losses.append(loss.item())
    seconds = (time.perf_counter() - started) / settings.steps
    val_loss = evaluate_torch(module, readout, val_ids, vocab_size, settings)
    after = np.linalg.eigvals(_torch_recurrent(module, settings.cell))
    return CharLMResult(losses, val_loss, seconds, before, after)


@torch.no_grad()
def evaluate_torch(module, readout, ids, vocab_size, settings) -> float:
    data = streams(ids, settings.batch_size)
    total, state = [], None
    count = min(settings.eval_chunks, (data.shape[1] - 1) // settings.sequence_length)
    for inputs, targets, _ in chunks(data, settings.sequence_length, count):
        outputs, state = module(F.one_hot(torch.from_numpy(inputs), vocab_size).float(), state)
        total.append(F.cross_entropy(readout(outputs).reshape(-1, vocab_size),
                                     torch.from_numpy(targets).reshape(-1)).item())
    return float(np.mean(total))


def _torch_recurrent(module: nn.RNNBase, cell: str) -> np.ndarray:
    weight = module.weight_hh_l0.detach().double().numpy()
    hidden = module.hidden_size
    return weight if cell == "rnn" else weight[2 * hidden:3 * hidden]


def _detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def initial_hidden_gradients(ids: np.ndarray, vocab_size: int, settings: CharLMSettings,
                             steps: int = 100) -> dict[str, np.ndarray]:
    """||dL/dh_t|| at the initial weights for the loss of the last character of a `steps`-long
    chunk, twice: by the NumPy network's hand-written BPTT and by torch autograd through the twin
    module (trainlab.diagnostics.timestep_gradients). Both (steps,); they should agree to rounding."""
    from trainlab.diagnostics.gradients import timestep_gradients

    network = CELLS[settings.cell](vocab_size, settings.hidden_size, vocab_size, seed=settings.seed)  # float64
    window = streams(ids, settings.batch_size)[:, : steps + 1]
    inputs, targets = window[:, :-1].T, window[:, 1:].T  # (T, B)
    logits, _ = network.forward(inputs)
    d_logits = np.zeros_like(logits)
    _, d_logits[-1:] = softmax_cross_entropy(logits[-1:], targets[-1:])
    network.backward(d_logits)
    module, readout = torch_twin(network, settings.cell, torch.float64)
    one_hot = F.one_hot(torch.from_numpy(inputs), vocab_size).double()
    last_target = torch.from_numpy(targets[-1])
    autograd = timestep_gradients(module, one_hot, lambda outputs: F.cross_entropy(readout(outputs[-1]), last_target))
    return {"numpy_bptt": network.hidden_gradient_norms(), "torch_autograd": autograd[0]}
