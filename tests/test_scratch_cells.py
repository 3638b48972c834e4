"""The NumPy RNN, LSTM and GRU against central finite differences and torch autograd (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare
from torch import nn
from torch.nn import functional as F

from trainlab.diagnostics.gradients import timestep_gradients
from trainlab.scratch import (
    CELLS,
    SGD,
    Adam,
    ScratchRNN,
    clip_elementwise,
    clip_global_norm,
    sample,
)
from trainlab.scratch.network import softmax_cross_entropy

VOCAB, HIDDEN, STEPS, BATCH = 5, 4, 6, 3


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB, (STEPS, BATCH)), rng.integers(0, VOCAB, (STEPS, BATCH))


def loss_and_grads(network, inputs, targets):
    logits, _ = network.forward(inputs)
    loss, d_logits = softmax_cross_entropy(logits, targets)
    return loss, network.backward(d_logits)


def to_torch(cell: str, network) -> tuple[nn.RNNBase, nn.Linear]:
    """The torch module with the NumPy network's weights (torch stores them output-major)."""
    p = network.params
    module = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](VOCAB, HIDDEN).double()
    readout = nn.Linear(HIDDEN, VOCAB).double()
    w_x, w_h = ("W_xh", "W_hh") if cell == "rnn" else ("W_x", "W_h")
    bias_x, bias_h = {"rnn": ("b_h", None), "lstm": ("b", None), "gru": ("b_x", "b_h")}[cell]
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(p[w_x].T))
        module.weight_hh_l0.copy_(torch.from_numpy(p[w_h].T))
        module.bias_ih_l0.copy_(torch.from_numpy(p[bias_x]))
        module.bias_hh_l0.copy_(torch.from_numpy(p[bias_h]) if bias_h else torch.zeros_like(module.bias_hh_l0))
        readout.weight.copy_(torch.from_numpy(p["W_hy"].T))
        readout.bias.copy_(torch.from_numpy(p["b_y"]))
    return module, readout


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bptt_matches_central_finite_differences(cell):
    network = CELLS[cell](VOCAB, HIDDEN, VOCAB, seed=1)
    inputs, targets = problem()
    _, grads = loss_and_grads(network, inputs, targets)
    epsilon = 1e-6
    for name, value in network.params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + epsilon
            plus = loss_and_grads(network, inputs, targets)[0]
            value[index] = original - epsilon
            minus = loss_and_grads(network, inputs, targets)[0]
            value[index] = original
            numeric[index] = (plus - minus) / (2 * epsilon)
        error = np.abs(grads[name] - numeric).max() / max(np.abs(grads[name]).max(), np.abs(numeric).max())
        assert error < 1e-6, f"{cell} {name}: relative error {error:.2e}"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_loss_gradients_and_hidden_gradients_match_torch_autograd(cell):
    network = CELLS[cell](VOCAB, HIDDEN, VOCAB, seed=2)
    inputs, targets = problem(1)
    loss, grads = loss_and_grads(network, inputs, targets)
    module, readout = to_torch(cell, network)
    one_hot = F.one_hot(torch.from_numpy(inputs), VOCAB).double()  # (T, B, V), time-major
    target_tensor = torch.from_numpy(targets)

    def torch_loss(outputs):
        return F.cross_entropy(readout(outputs).reshape(-1, VOCAB), target_tensor.reshape(-1))

    reference = torch_loss(module(one_hot)[0])
    reference.backward()
    assert loss == pytest.approx(reference.item(), abs=1e-8)
    w_x, w_h = ("W_xh", "W_hh") if cell == "rnn" else ("W_x", "W_h")
    pairs = {w_x: module.weight_ih_l0.grad.T, w_h: module.weight_hh_l0.grad.T,
             "W_hy": readout.weight.grad.T, "b_y": readout.bias.grad}
    pairs.update({"rnn": {"b_h": module.bias_ih_l0.grad}, "lstm": {"b": module.bias_ih_l0.grad},
                  "gru": {"b_x": module.bias_ih_l0.grad, "b_h": module.bias_hh_l0.grad}}[cell])
    assert set(pairs) == set(grads)
    for name, expected in pairs.items():
        np.testing.assert_allclose(grads[name], expected.numpy(), rtol=0, atol=1e-8, err_msg=f"{cell} {name}")
    # dL/dh_t per step: the hand-written BPTT against autograd through torch's own recurrence.
    torch_norms = timestep_gradients(module, one_hot, torch_loss)[0]
    np.testing.assert_allclose(network.hidden_gradient_norms(), torch_norms, rtol=1e-8)


def test_linear_rnn_with_scaled_orthogonal_recurrence_decays_as_scale_to_the_k():
    scale, steps = 0.8, 25
    network = ScratchRNN(3, 6, 2, seed=3, activation="linear")
    orthogonal, _ = np.linalg.qr(np.random.default_rng(4).standard_normal((6, 6)))
    network.params["W_hh"] = scale * orthogonal
    network.forward(np.random.default_rng(5).standard_normal((steps, 2, 3)))
    d_logits = np.zeros((steps, 2, 2))
    d_logits[-1] = 1.0  # the loss reads the last step only
    network.backward(d_logits)
    norms = network.hidden_gradient_norms()
    distance = steps - 1 - np.arange(steps)
    np.testing.assert_allclose(norms / norms[-1], scale**distance, rtol=0.01)


def test_clipping_matches_torch():
    rng = np.random.default_rng(6)
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    tensors = [torch.from_numpy(value.copy()).requires_grad_() for value in grads.values()]
    for tensor, value in zip(tensors, grads.values()):
        tensor.grad = torch.from_numpy(value.copy())
    norm = clip_global_norm(grads, 1.0)
    assert norm == pytest.approx(torch.nn.utils.clip_grad_norm_(tensors, 1.0).item(), rel=1e-12)
    for tensor, value in zip(tensors, grads.values()):
        np.testing.assert_allclose(value, tensor.grad.numpy(), rtol=1e-12)
    expected_clamped = sum(int((np.abs(value) > 0.1).sum()) for value in grads.values())
    assert clip_elementwise(grads, 0.1) == expected_clamped > 0
    assert max(np.abs(value).max() for value in grads.values()) <= 0.1


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_updates_match_torch_optimizers(optimizer):
    rng = np.random.default_rng(7)
    params = {"w": rng.standard_normal((3, 2))}
    tensor = torch.from_numpy(params["w"].copy()).requires_grad_()
    ours = SGD(0.1, momentum=0.9) if optimizer == "sgd" else Adam(0.01)
    theirs = (torch.optim.SGD([tensor], lr=0.1, momentum=0.9) if optimizer == "sgd"
              else torch.optim.Adam([tensor], lr=0.01))
    for _ in range(3):
        grad = rng.standard_normal((3, 2))
        ours.step(params, {"w": grad})
        tensor.grad = torch.from_numpy(grad.copy())
        theirs.step()
    np.testing.assert_allclose(params["w"], tensor.detach().numpy(), rtol=1e-10, atol=1e-12)


def sharpened(cell: str, seed: int):
    """A network whose weights are scaled up 4x: decisive logits and greedy text that moves about."""
    network = CELLS[cell](VOCAB, HIDDEN, VOCAB, seed=seed)
    for value in network.params.values():
        value *= 4
    return network


def torch_next_logits(module: nn.RNNBase, readout: nn.Linear, tokens: list[int]) -> np.ndarray:
    """The logits after `tokens`, read by torch from a zero state over the whole prefix."""
    one_hot = F.one_hot(torch.tensor(tokens)[:, None], VOCAB).double()  # (T, 1, V)
    with torch.no_grad():
        return readout(module(one_hot)[0][-1, 0]).numpy()


@pytest.mark.parametrize(("cell", "seed"), [("rnn", 2), ("lstm", 5), ("gru", 4)])
def test_temperature_zero_is_the_argmax_at_every_step(cell, seed):
    network = sharpened(cell, seed)
    prompt = [1, 3]
    greedy = sample(network, prompt, 15, 0.0)
    assert len(set(greedy)) >= 3  # a sequence that moves, so a stuck or stateless loop shows
    module, readout = to_torch(cell, network)
    tokens = list(prompt)
    for step in range(15):
        logits = torch_next_logits(module, readout, tokens)
        top, second = np.sort(logits)[::-1][:2]
        assert top - second > 1e-6, f"step {step}: a near tie makes the argmax ill-defined"
        assert greedy[step] == int(np.argmax(logits)), f"{cell} step {step}: {greedy} after {prompt}"
        tokens.append(int(np.argmax(logits)))  # the reference follows its own argmax


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampled_first_tokens_follow_the_tempered_softmax(temperature):
    network = sharpened("lstm", 5)
    network.params["b_y"] += np.array([1.5, 0.0, -1.0, 0.5, -2.0])  # spread logits tell temperatures apart
    module, readout = to_torch("lstm", network)
    logits = torch_next_logits(module, readout, [1, 2])
    draws = 2000
    tokens = [sample(network, [1, 2], 1, temperature, seed=seed)[0] for seed in range(draws)]
    counts = np.bincount(tokens, minlength=VOCAB)

    def pvalue(temperature_assumed: float) -> float:
        probabilities = np.exp(logits / temperature_assumed)
        probabilities /= probabilities.sum()
        return float(chisquare(counts, probabilities * draws).pvalue)

    assert pvalue(temperature) > 0.01
    for wrong in {1.0, 1 / temperature} - {temperature}:  # no temperature, or multiplied in
        assert pvalue(wrong) < 1e-6, wrong


def test_sampling_is_reproducible_and_checks_its_arguments():
    network = CELLS["lstm"](VOCAB, HIDDEN, VOCAB, seed=8)
    assert sample(network, [1, 2], 10, 1.0, seed=3) == sample(network, [1, 2], 10, 1.0, seed=3)
    assert len({tuple(sample(network, [1, 2], 10, 1.0, seed=seed)) for seed in range(4)}) > 1
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample(network, [1], 1, -1.0)
