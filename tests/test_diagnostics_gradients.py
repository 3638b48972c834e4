"""Per-time-step and per-layer gradient diagnostics against analytic rates and torch itself."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from trainlab.diagnostics.gradients import (
    LayerGroups,
    first_nonfinite_activation,
    first_nonfinite_gradient,
    fit_decay,
    global_gradient_norm,
    layer_gradient_norms,
    layer_name,
    timestep_gradients,
    unrolled_states,
)
from trainlab.diagnostics.spectral import recurrent_matrices, spectral_radius


def linear_rnn_with_scaled_orthogonal_recurrence(scale: float, hidden: int = 6) -> nn.RNN:
    """A relu RNN that acts linearly: W_hh = scale * (a cyclic permutation, which is orthogonal and
    non-negative), positive input weights, biases and inputs, so every pre-activation is positive
    and relu is the identity on it; dL/dh_{T-k} = (scale * P^T)^k dL/dh_T exactly."""
    rnn = nn.RNN(2, hidden, nonlinearity="relu", batch_first=True).double()
    permutation = torch.roll(torch.eye(hidden, dtype=torch.float64), shifts=1, dims=0)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(scale * permutation)
        rnn.weight_ih_l0.uniform_(0.1, 1.0)
        rnn.bias_ih_l0.fill_(0.5)
        rnn.bias_hh_l0.fill_(0.5)
    return rnn


@pytest.mark.parametrize("scale", [0.5, 0.9, 1.0, 1.1])
def test_timestep_gradients_decay_at_the_analytic_rate_scale_to_the_k(scale):
    torch.manual_seed(0)
    steps = 30
    rnn = linear_rnn_with_scaled_orthogonal_recurrence(scale)
    assert spectral_radius(rnn.weight_hh_l0) == pytest.approx(scale, rel=1e-12)
    inputs = torch.rand(4, steps, 2, dtype=torch.float64)
    readout = torch.randn(6, dtype=torch.float64)

    norms = timestep_gradients(rnn, inputs, lambda outputs: (outputs[:, -1] @ readout).sum())[0]

    distance = steps - 1 - np.arange(steps)
    np.testing.assert_allclose(norms / norms[-1], scale**distance, rtol=0.01)
    assert fit_decay(norms).rate == pytest.approx(scale, rel=0.01)


def test_unrolled_states_equal_the_fused_modules_outputs():
    torch.manual_seed(1)
    inputs = torch.randn(3, 7, 4)
    for module in (nn.RNN(4, 5, num_layers=2, batch_first=True), nn.LSTM(4, 5, num_layers=2, batch_first=True),
                   nn.GRU(4, 5, num_layers=2, batch_first=True), nn.RNN(4, 5, nonlinearity="relu")):
        fused, _ = module(inputs)
        states = unrolled_states(module, inputs)
        stacked = torch.stack(states[-1], dim=1 if module.batch_first else 0)
        torch.testing.assert_close(stacked, fused, rtol=1e-5, atol=1e-6)


def test_timestep_gradient_is_the_total_derivative_through_later_steps():
    """dL/dh_t checked by finite differences: perturb h_t and rerun the remaining steps."""
    torch.manual_seed(2)
    cell = nn.GRU(3, 4, batch_first=True).double()
    inputs = torch.randn(2, 6, 3, dtype=torch.float64)
    weights = torch.randn(4, dtype=torch.float64)

    def loss_of(outputs):
        return (outputs[:, -1] @ weights).square().sum() + outputs[:, 2].sum()

    norms = timestep_gradients(cell, inputs, loss_of)[0]
    t, epsilon = 1, 1e-6
    _, h_t = cell(inputs[:, : t + 1])
    gradient = torch.zeros(2, 4, dtype=torch.float64)
    for index in np.ndindex(2, 4):
        losses = []
        for sign in (1, -1):
            shifted = h_t.clone()
            shifted[(0, *index)] += sign * epsilon
            rest, _ = cell(inputs[:, t + 1:], shifted)
            earlier, _ = cell(inputs[:, : t + 1])
            losses.append(loss_of(torch.cat([earlier, rest], dim=1)).item())
        gradient[index] = (losses[0] - losses[1]) / (2 * epsilon)
    # The perturbed h_t also appears as output t (taken from `earlier` unperturbed here): t=1 has no
    # direct term in this loss, so the total derivative is the path through later steps only.
    assert norms[t] == pytest.approx(gradient.norm().item(), rel=1e-6)


def test_timestep_gradients_leave_parameter_gradients_alone():
    rnn = nn.LSTM(2, 3, batch_first=True)
    timestep_gradients(rnn, torch.randn(2, 5, 2), lambda outputs: outputs.sum())
    assert all(parameter.grad is None for parameter in rnn.parameters())


def test_layer_names_split_stacked_rnns_and_group_module_parameters():
    assert layer_name("features.0.weight") == "features.0"
    assert layer_name("encoder.weight_hh_l1") == "encoder.l1"
    assert layer_name("rnn.bias_ih_l0_reverse") == "rnn.l0_reverse"
    assert layer_name("scale") == "(model)"


def test_layer_gradient_norms_match_the_norms_of_each_layers_gradients():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model(torch.randn(5, 3)).square().sum().backward()
    norms = layer_gradient_norms(model)
    first = torch.cat([model[0].weight.grad.flatten(), model[0].bias.grad]).norm().item()
    assert list(norms) == ["0", "2"]
    assert norms["0"] == pytest.approx(first, rel=1e-6)
    everything = torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()
    assert global_gradient_norm(model) == pytest.approx(everything, rel=1e-6)
    assert torch.nn.utils.clip_grad_norm_(model.parameters(), 1e9).item() == pytest.approx(everything, rel=1e-6)


def test_unused_parameters_count_as_zero():
    model = nn.ModuleDict({"used": nn.Linear(2, 2), "unused": nn.Linear(2, 2)})
    model["used"](torch.ones(1, 2)).sum().backward()
    groups = LayerGroups.of(model)
    assert groups.squared_norms()[groups.names.index("unused")].item() == 0.0


def test_nonfinite_detection_names_the_first_layer():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 1))
    with torch.no_grad():
        model[1].weight[0, 0] = math.inf
    assert first_nonfinite_activation(model, torch.ones(1, 2)) == "1"
    model(torch.ones(1, 2)).sum().backward()
    assert first_nonfinite_gradient(model) in ("1.weight", "0.weight")
    assert first_nonfinite_activation(nn.Linear(2, 2), torch.ones(1, 2)) is None


def test_fit_decay_recovers_a_geometric_rate_and_its_half_life():
    norms = 3.0 * 0.8 ** np.arange(20)[::-1]
    fit = fit_decay(norms)
    assert fit.rate == pytest.approx(0.8, rel=1e-9)
    assert fit.half_life == pytest.approx(math.log(0.5) / math.log(0.8), rel=1e-9)
    with pytest.raises(ValueError, match="at least two positive norms"):
        fit_decay(np.zeros(5))


def test_recurrent_matrices_split_gates():
    names = list(recurrent_matrices(nn.Sequential(nn.LSTM(2, 3), nn.GRU(3, 3))))
    assert names == [f"0.weight_hh_l0.{g}" for g in ("input", "forget", "cell", "output")] + [
        f"1.weight_hh_l0.{g}" for g in ("reset", "update", "new")]
