"""A recurrent network in NumPy: a cell unrolled over time, a linear readout, BPTT by hand.

Time-major throughout: inputs (T, B) token ids or (T, B, D) features, hidden states (T, B, H),
logits (T, B, O). The cell (rnn.py, lstm.py, gru.py) supplies one step forward and one step
backward; this class runs the loop both ways and owns the readout `logits_t = h_t W_hy + b_y`.

`backward` returns the gradient of every parameter and keeps `hidden_gradients`, dL/dh_t for every
step: the total derivative, through the readout at t and through every later step, which is what
the vanishing-gradients study plots (trainlab.diagnostics computes the same from torch modules).
"""

from __future__ import annotations

from typing import Any

import numpy as np

State = tuple[np.ndarray, ...]  # (h,) for RNN and GRU, (h, c) for LSTM


class RecurrentNetwork:
    """Base of the NumPy RNN, LSTM and GRU; subclasses define `init_cell`, `cell_forward` and
    `cell_backward`, and `state_size` (1 or 2 arrays per state).

    Args:
        input_size: features per step, or the vocabulary size when inputs are token ids (one-hot).
        output_size: logits per step (the vocabulary for a language model).
        seed: initial weights are drawn from numpy.random.default_rng(seed).
        dtype: float64 for gradient checks, float32 for speed.
    """

    state_size = 1

    def __init__(self, input_size: int, hidden_size: int, output_size: int, seed: int = 0,
                 dtype: Any = np.float64):
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(hidden_size)  # torch's default for its RNN modules
        self.params: dict[str, np.ndarray] = {
            name: value.astype(self.dtype) for name, value in self.init_cell(rng, bound).items()
        }
        self.params["W_hy"] = rng.uniform(-bound, bound, (hidden_size, output_size)).astype(self.dtype)
        self.params["b_y"] = np.zeros(output_size, dtype=self.dtype)
        self.hidden_gradients: np.ndarray | None = None
        self._cache: dict[str, Any] | None = None

    # To be defined by each cell ---------------------------------------------------------------------

    def init_cell(self, rng: np.random.Generator, bound: float) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def cell_forward(self, x: np.ndarray, state: State) -> tuple[State, Any]:
        """x (B, D), state at t-1 -> state at t, and what the backward step needs."""
        raise NotImplementedError

    def cell_backward(self, d_state: State, cache: Any, grads: dict[str, np.ndarray]) -> State:
        """dL/d(state at t) -> dL/d(state at t-1); adds the cell's parameter gradients to `grads`."""
        raise NotImplementedError

    # The loop ---------------------------------------------------------------------------------------

    def initial_state(self, batch: int) -> State:
        return tuple(np.zeros((batch, self.hidden_size), dtype=self.dtype) for _ in range(self.state_size))

    def encode(self, inputs: np.ndarray) -> np.ndarray:
        """(T, B) token ids -> (T, B, V) one-hot; (T, B, D) features pass through."""
        inputs = np.asarray(inputs)
        if inputs.ndim == 2:
            if not np.issubdtype(inputs.dtype, np.integer):
                raise TypeError(f"2-D inputs must be token ids (T, B), got dtype {inputs.dtype}")
            return np.eye(self.input_size, dtype=self.dtype)[inputs]
        return inputs.astype(self.dtype, copy=False)

    def forward(self, inputs: np.ndarray, state: State | None = None) -> tuple[np.ndarray, State]:
        """inputs (T, B) or (T, B, D) -> logits (T, B, O) and the state after the last step."""
        x = self.encode(inputs)
        steps, batch = x.shape[:2]
        state = self.initial_state(batch) if state is None else tuple(s.astype(self.dtype) for s in state)
        caches, hidden = [], np.empty((steps, batch, self.hidden_size), dtype=self.dtype)
        for t in range(steps):
            state, cache = self.cell_forward(x[t], state)
            caches.append(cache)
            hidden[t] = state[0]
        self._cache = {"hidden": hidden, "caches": caches}
        logits = hidden @ self.params["W_hy"] + self.params["b_y"]
        return logits, state

    def backward(self, d_logits: np.ndarray, d_final_state: State | None = None) -> dict[str, np.ndarray]:
        """Gradients of every parameter from dL/dlogits (T, B, O) of the last `forward`.

        Also sets `hidden_gradients` (T, B, H): dL/dh_t, and `initial_state_gradient`.
        """
        if self._cache is None:
            raise RuntimeError("backward needs a forward first")
        hidden, caches = self._cache["hidden"], self._cache["caches"]
        grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        grads["W_hy"] = np.einsum("tbh,tbo->ho", hidden, d_logits)
        grads["b_y"] = d_logits.sum(axis=(0, 1))
        d_hidden_from_output = d_logits @ self.params["W_hy"].T  # (T, B, H)
        d_state = d_final_state or tuple(np.zeros_like(hidden[0]) for _ in range(self.state_size))
        self.hidden_gradients = np.empty_like(hidden)
        for t in reversed(range(len(caches))):
            d_h = d_hidden_from_output[t] + d_state[0]
            self.hidden_gradients[t] = d_h
            d_state = self.cell_backward((d_h, *d_state[1:]), caches[t], grads)
        self.initial_state_gradient = d_state
        return grads

    def hidden_gradient_norms(self) -> np.ndarray:
        """(T,) norm of dL/dh_t over the batch (as trainlab.diagnostics.timestep_gradients)."""
        if self.hidden_gradients is None:
            raise RuntimeError("hidden_gradient_norms needs a backward first")
        return np.sqrt((self.hidden_gradients.astype(np.float64) ** 2).sum(axis=(1, 2)))


def sigmoid(values: np.ndarray) -> np.ndarray:
    # Two branches keep exp from overflowing for large negative inputs.
    positive = values >= 0
    result = np.empty_like(values)
    result[positive] = 1.0 / (1.0 + np.exp(-values[positive]))
    exp = np.exp(values[~positive])
    result[~positive] = exp / (1.0 + exp)
    return result


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy (nats) over all T * B predictions, and its gradient dL/dlogits.

    Args:
        logits: (T, B, O); targets: (T, B) int class ids.
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    count = targets.size
    picked = np.take_along_axis(log_probabilities, targets[..., None], axis=-1)
    d_logits = np.exp(log_probabilities)
    np.put_along_axis(d_logits, targets[..., None], np.take_along_axis(d_logits, targets[..., None], -1) - 1, -1)
    return float(-picked.sum() / count), d_logits / count
