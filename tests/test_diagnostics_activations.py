"""Activation statistics against hand-built cases, and LSTM/GRU gates against the modules' outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from trainlab.diagnostics.activations import (
    activation_statistics,
    gate_activations,
    gate_means_over_time,
    hidden_state_matrix,
)


def test_dead_relus_and_saturated_units_are_counted():
    linear = nn.Linear(2, 4)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([-1.0, -1.0, 1.0, 1.0]))  # two units never fire
    saturating = nn.Linear(4, 3)
    with torch.no_grad():
        saturating.weight.zero_()
        saturating.bias.copy_(torch.tensor([10.0, 0.0, -10.0]))
    model = nn.Sequential(linear, nn.ReLU(), saturating, nn.Tanh())
    stats = activation_statistics(model, torch.randn(16, 2))
    assert stats["1"]["dead_fraction"] == 0.5
    assert stats["3"]["saturated_fraction"] == pytest.approx(2 / 3)
    assert stats["3"]["mean"] == pytest.approx(0.0, abs=1e-6)


def test_dead_relu_channels_of_images_count_per_channel():
    convolution = nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        convolution.weight.zero_()
        convolution.bias.copy_(torch.tensor([-1.0, 0.5]))
    stats = activation_statistics(nn.Sequential(convolution, nn.ReLU()), torch.randn(3, 1, 4, 4))
    assert stats["1"]["dead_fraction"] == 0.5


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
def test_gates_reproduce_the_modules_hidden_states(cell):
    torch.manual_seed(0)
    rnn = cell(3, 5, batch_first=True)
    inputs = torch.randn(2, 7, 3)
    gates = gate_activations(rnn, inputs)
    outputs = rnn(inputs)[0].detach().double().numpy()  # (B, T, H)
    if cell is nn.LSTM:
        cells = np.zeros((2, 5))
        for t in range(7):
            cells = gates["forget"][t] * cells + gates["input"][t] * gates["cell"][t]
            np.testing.assert_allclose(gates["output"][t] * np.tanh(cells), outputs[:, t], atol=1e-5)
    else:
        hidden = np.zeros((2, 5))
        for t in range(7):
            hidden = (1 - gates["update"][t]) * gates["new"][t] + gates["update"][t] * hidden
            np.testing.assert_allclose(hidden, outputs[:, t], atol=1e-5)
    means = gate_means_over_time(gates)
    assert all(values.shape == (7,) for values in means.values())


def test_hidden_state_matrix_is_one_examples_states_over_time():
    torch.manual_seed(1)
    rnn = nn.RNN(2, 4, batch_first=True)
    inputs = torch.randn(3, 5, 2)
    matrix = hidden_state_matrix(rnn, inputs, example=1)
    np.testing.assert_allclose(matrix, rnn(inputs)[0][1].detach().numpy(), atol=1e-6)
