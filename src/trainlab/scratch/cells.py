"""The three cells of the NumPy networks: one step forward and one step of BPTT each.

Parameter names and gate orders follow torch (`nn.RNN`, `nn.LSTM`: i, f, g, o; `nn.GRU`: r, z, n),
with matrices stored input-major (`x @ W_xh`), so torch's `weight_ih_l0` is `W_xh.T`. The GRU keeps
torch's two biases because its candidate reads r * (h W_hn + b_hn): with a single bias it would be
a different function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trainlab.scratch.network import RecurrentNetwork, State, sigmoid

ACTIVATIONS = ("tanh", "relu", "linear")


class ScratchRNN(RecurrentNetwork):
    """Elman RNN: h_t = f(x_t W_xh + h_{t-1} W_hh + b_h), f tanh, relu or linear (for analysis)."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, seed: int = 0,
                 dtype: Any = np.float64, activation: str = "tanh"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        super().__init__(input_size, hidden_size, output_size, seed, dtype)

    def init_cell(self, rng, bound):
        return {"W_xh": rng.uniform(-bound, bound, (self.input_size, self.hidden_size)),
                "W_hh": rng.uniform(-bound, bound, (self.hidden_size, self.hidden_size)),
                "b_h": rng.uniform(-bound, bound, self.hidden_size)}

    def cell_forward(self, x, state):
        (h_prev,) = state
        p = self.params
        pre = x @ p["W_xh"] + h_prev @ p["W_hh"] + p["b_h"]
        if self.activation == "tanh":
            h = np.tanh(pre)
        elif self.activation == "relu":
            h = np.maximum(pre, 0)
        else:
            h = pre
        return (h,), (x, h_prev, pre, h)

    def cell_backward(self, d_state: State, cache, grads) -> State:
        x, h_prev, pre, h = cache
        (d_h,) = d_state
        if self.activation == "tanh":
            d_pre = d_h * (1 - h**2)
        elif self.activation == "relu":
            d_pre = d_h * (pre > 0)
        else:
            d_pre = d_h
        grads["W_xh"] += x.T @ d_pre
        grads["W_hh"] += h_prev.T @ d_pre
        grads["b_h"] += d_pre.sum(axis=0)
        return (d_pre @ self.params["W_hh"].T,)


class ScratchLSTM(RecurrentNetwork):
    """LSTM: [i, f, g, o] = [sigma, sigma, tanh, sigma](x W_x + h W_h + b);
    c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t)."""

    state_size = 2

    def init_cell(self, rng, bound):
        size = 4 * self.hidden_size
        return {"W_x": rng.uniform(-bound, bound, (self.input_size, size)),
                "W_h": rng.uniform(-bound, bound, (self.hidden_size, size)),
                "b": rng.uniform(-bound, bound, size)}

    def cell_forward(self, x, state):
        h_prev, c_prev = state
        p, hidden = self.params, self.hidden_size
        z = x @ p["W_x"] + h_prev @ p["W_h"] + p["b"]
        i, f, o = (sigmoid(z[:, k * hidden:(k + 1) * hidden]) for k in (0, 1, 3))
        g = np.tanh(z[:, 2 * hidden:3 * hidden])
        c = f * c_prev + i * g
        tanh_c = np.tanh(c)
        h = o * tanh_c
        return (h, c), (x, h_prev, c_prev, i, f, g, o, tanh_c)

    def cell_backward(self, d_state, cache, grads):
        x, h_prev, c_prev, i, f, g, o, tanh_c = cache
        d_h, d_c_next = d_state
        d_o = d_h * tanh_c
        d_c = d_c_next + d_h * o * (1 - tanh_c**2)
        d_z = np.concatenate([d_c * g * i * (1 - i), d_c * c_prev * f * (1 - f),
                              d_c * i * (1 - g**2), d_o * o * (1 - o)], axis=1)
        grads["W_x"] += x.T @ d_z
        grads["W_h"] += h_prev.T @ d_z
        grads["b"] += d_z.sum(axis=0)
        return d_z @ self.params["W_h"].T, d_c * f


class ScratchGRU(RecurrentNetwork):
    """GRU as torch computes it: r, z = sigma(x W_x + b_x + h W_h + b_h) (their blocks);
    n = tanh(x W_xn + b_xn + r * (h W_hn + b_hn)); h_t = (1 - z) * n + z * h_{t-1}."""

    def init_cell(self, rng, bound):
        size = 3 * self.hidden_size
        return {"W_x": rng.uniform(-bound, bound, (self.input_size, size)),
                "W_h": rng.uniform(-bound, bound, (self.hidden_size, size)),
                "b_x": rng.uniform(-bound, bound, size),
                "b_h": rng.uniform(-bound, bound, size)}

    def cell_forward(self, x, state):
        (h_prev,) = state
        p, hidden = self.params, self.hidden_size
        from_x = x @ p["W_x"] + p["b_x"]
        from_h = h_prev @ p["W_h"] + p["b_h"]
        r = sigmoid(from_x[:, :hidden] + from_h[:, :hidden])
        z = sigmoid(from_x[:, hidden:2 * hidden] + from_h[:, hidden:2 * hidden])
        h_n = from_h[:, 2 * hidden:]
        n = np.tanh(from_x[:, 2 * hidden:] + r * h_n)
        h = (1 - z) * n + z * h_prev
        return (h,), (x, h_prev, r, z, n, h_n)

    def cell_backward(self, d_state, cache, grads):
        x, h_prev, r, z, n, h_n = cache
        (d_h,) = d_state
        d_n_pre = d_h * (1 - z) * (1 - n**2)
        d_z_pre = d_h * (h_prev - n) * z * (1 - z)
        d_r_pre = d_n_pre * h_n * r * (1 - r)
        d_from_x = np.concatenate([d_r_pre, d_z_pre, d_n_pre], axis=1)
        d_from_h = np.concatenate([d_r_pre, d_z_pre, d_n_pre * r], axis=1)
        grads["W_x"] += x.T @ d_from_x
        grads["b_x"] += d_from_x.sum(axis=0)
        grads["W_h"] += h_prev.T @ d_from_h
        grads["b_h"] += d_from_h.sum(axis=0)
        return (d_h * z + d_from_h @ self.params["W_h"].T,)


CELLS = {"rnn": ScratchRNN, "lstm": ScratchLSTM, "gru": ScratchGRU}
