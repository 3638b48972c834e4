"""The diagnostics callbacks in a real training loop: what they record, log, flag and write."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from trainlab.data.batching import TensorBatches
from trainlab.diagnostics.callbacks import GradientNorms, SpectralSnapshot, TimestepGradientProbe
from trainlab.diagnostics.gradients import layer_gradient_norms, timestep_gradients
from trainlab.rundir import GRAD_NORMS_FILE, SPECTRAL_FILE, TIMESTEP_GRADS_FILE
from trainlab.training import ClassificationTask, Trainer
from trainlab.training.callbacks import GradientClipping


class TinyRecurrentClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(3, 5, batch_first=True)
        self.head = nn.Linear(5, 2)

    def forward(self, inputs):
        return self.head(self.rnn(inputs)[0][:, -1])


def data(count: int = 32):
    generator = torch.Generator().manual_seed(0)
    return torch.randn(count, 6, 3, generator=generator), torch.randint(0, 2, (count,), generator=generator)


def fit(model, callbacks, epochs: int = 2, lr: float = 0.01):
    inputs, labels = data()
    trainer = Trainer(model, ClassificationTask(2), torch.optim.SGD(model.parameters(), lr=lr),
                      max_epochs=epochs, callbacks=callbacks)
    return trainer.fit(TensorBatches(inputs, labels, batch_size=8))


def test_gradient_norms_are_the_raw_per_layer_norms_and_the_clipped_global_norm(tmp_path):
    torch.manual_seed(0)
    model = TinyRecurrentClassifier()
    reference = copy.deepcopy(model)
    recorder = GradientNorms(directory=tmp_path)
    state = fit(model, [recorder, recorder.after_clipping, GradientClipping(max_norm=0.05)])

    # The first step's norms, computed by hand from the same initial weights and batch.
    inputs, labels = data()
    nn.functional.cross_entropy(reference(inputs[:8]), labels[:8]).backward()
    expected = layer_gradient_norms(reference)
    saved = np.load(tmp_path / GRAD_NORMS_FILE)
    assert list(saved["layers"]) == ["rnn.l0", "head"] == list(expected)
    np.testing.assert_allclose(saved["layer_norms"][0], list(expected.values()), rtol=1e-5)
    assert len(saved["steps"]) == state.step == 8
    np.testing.assert_allclose(saved["global_after"], np.minimum(saved["global_before"], 0.05), rtol=1e-4)
    clipped = int((saved["global_before"][:4] > 0.05).sum())
    assert state.history[0]["clipped_steps"] == clipped
    assert state.history[0]["grad_norm"] == pytest.approx(saved["global_before"][:4].mean())


def test_every_n_steps_records_only_those_steps():
    recorder = GradientNorms(every=3)
    fit(TinyRecurrentClassifier(), [recorder])
    assert recorder.arrays()["steps"].tolist() == [0, 3, 6]


def test_exploding_and_vanishing_steps_are_flagged_and_warned_about_once():
    recorder = GradientNorms(exploding_threshold=1e-9, vanishing_threshold=1e9)
    with pytest.warns(RuntimeWarning, match="exploding gradients: global norm") as caught:
        state = fit(TinyRecurrentClassifier(), [recorder])
    assert state.history[0]["exploding_steps"] == 4 and state.history[0]["vanishing_steps"] == 4
    messages = [str(warning.message) for warning in caught]
    assert sum("exploding" in message for message in messages) == 1
    assert any("vanishing gradients: layer 'rnn.l0'" in m or "vanishing gradients: layer 'head'" in m
               for m in messages)


def test_the_first_non_finite_layer_is_named():
    model = TinyRecurrentClassifier()
    with torch.no_grad():
        model.head.bias[0] = math.nan  # the loss is NaN: every gradient is, the recurrent layer first
    recorder = GradientNorms()
    with pytest.warns(RuntimeWarning, match="gradients became NaN/inf at step 0, first in layer 'rnn.l0'"):
        fit(model, [recorder], epochs=1)


def test_timestep_probe_measures_before_training_and_after_each_epoch(tmp_path):
    torch.manual_seed(1)
    model = TinyRecurrentClassifier()
    inputs, labels = data(8)

    def probe(network):
        return timestep_gradients(network.rnn, inputs, lambda outputs: nn.functional.cross_entropy(
            network.head(outputs[:, -1]), labels))

    expected_initial = probe(model)
    recorder = TimestepGradientProbe(probe, directory=tmp_path)
    fit(model, [recorder], epochs=2)
    saved = np.load(tmp_path / TIMESTEP_GRADS_FILE)
    assert saved["epochs"].tolist() == [0, 1, 2] and saved["norms"].shape == (3, 1, 6)
    np.testing.assert_allclose(saved["norms"][0], expected_initial, rtol=1e-6)
    assert all(parameter.grad is None for parameter in model.parameters())  # cleared after the step


def test_spectral_snapshot_keeps_the_eigenvalues_before_and_after(tmp_path):
    torch.manual_seed(2)
    model = TinyRecurrentClassifier()
    before = np.abs(np.linalg.eigvals(model.rnn.weight_hh_l0.detach().double().numpy())).max()
    snapshot = SpectralSnapshot(directory=tmp_path)
    fit(model, [snapshot], lr=0.5)
    after = np.abs(np.linalg.eigvals(model.rnn.weight_hh_l0.detach().double().numpy())).max()
    radii = snapshot.radii()
    assert radii["before"]["rnn.weight_hh_l0"] == pytest.approx(before)
    assert radii["after"]["rnn.weight_hh_l0"] == pytest.approx(after)
    assert before != pytest.approx(after)
    saved = np.load(tmp_path / SPECTRAL_FILE)
    assert sorted(saved.files) == ["after/rnn.weight_hh_l0", "before/rnn.weight_hh_l0"]


def test_a_second_recorder_in_the_same_run_stands_down(tmp_path):
    first, second = GradientNorms(directory=tmp_path / "first"), GradientNorms(directory=tmp_path / "second")
    fit(TinyRecurrentClassifier(), [first, second, SpectralSnapshot(), SpectralSnapshot(tmp_path / "spectral")])
    assert len(first.arrays()["steps"]) == 8 and not second.arrays()["steps"].size
    assert (tmp_path / "first" / GRAD_NORMS_FILE).is_file() and not (tmp_path / "second").exists()
    assert not (tmp_path / "spectral").exists()
