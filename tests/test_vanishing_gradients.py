"""The sequence-classification task, its models' initialisations, and the vanishing-gradients study."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch.nn import functional as F

from trainlab import registry
from trainlab.config import build_config
from trainlab.data.synthetic_memory import copy_memoryless_cross_entropy
from trainlab.diagnostics.gradients import fit_decay, timestep_gradients
from trainlab.diagnostics.spectral import recurrent_matrices, spectral_radius
from trainlab.errors import TrainlabError
from trainlab.models.sequence import SequenceModel, SequenceSpec, initialise
from trainlab.reports.diagnostics_plots import plot_diagnostics_run
from trainlab.reports.study_report import write_study_report
from trainlab.studies.runner import run_study
from trainlab.studies.vanishing_gradients import GATED, VANILLA, arm_name, finding

SPEC = SequenceSpec(2, 1, "regression", tokens=False, length=20)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("radius", [0.5, 1.5])
def test_orthogonal_init_scaled_to_a_spectral_radius_sets_every_gate_block(cell, radius):
    torch.manual_seed(0)
    model = initialise(SequenceModel(cell, SPEC, hidden_size=8), "orthogonal", spectral_radius=radius)
    for name, matrix in recurrent_matrices(model).items():
        assert spectral_radius(matrix) == pytest.approx(radius, rel=1e-6), name
        singular = torch.linalg.svdvals(matrix.double())
        torch.testing.assert_close(singular, torch.full_like(singular, radius), rtol=1e-5, atol=0)  # scaled orthogonal


def test_identity_init_is_the_irnn_and_forget_biases_are_set():
    irnn = initialise(SequenceModel("rnn", SPEC, hidden_size=4, nonlinearity="relu"), "identity")
    torch.testing.assert_close(irnn.rnn.weight_hh_l0, torch.eye(4))
    assert irnn.rnn.bias_ih_l0.abs().sum() == 0 and irnn.rnn.bias_hh_l0.abs().sum() == 0
    lstm = initialise(SequenceModel("lstm", SPEC, hidden_size=4), "default", forget_bias=1.0)
    forget = lstm.rnn.bias_ih_l0[4:8] + lstm.rnn.bias_hh_l0[4:8]
    torch.testing.assert_close(forget, torch.ones(4))


def test_chrono_init_draws_forget_biases_in_log_1_to_t_and_input_biases_their_negative():
    torch.manual_seed(1)
    model = initialise(SequenceModel("lstm", SPEC, hidden_size=64), "default", chrono=True)
    bias = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    input_gate, forget_gate = bias[:64], bias[64:128]
    assert forget_gate.min() >= 0 and forget_gate.max() <= math.log(SPEC.length - 1)
    torch.testing.assert_close(input_gate, -forget_gate)


def test_lstm_options_on_another_cell_are_one_clear_error():
    with pytest.raises(TrainlabError, match=r"model.forget_bias and model.chrono apply to lstm only \(model is rnn\)"):
        build_config({"task": "sequence-classification", "data": {"source": "adding-uniform"},
                      "model": {"name": "rnn", "forget_bias": 1.0}})


def test_a_run_scores_against_the_memoryless_baseline_and_writes_diagnostics(trainlab, tmp_path):
    code, _, err = trainlab(
        "train", "sequence-classification", "--data", "copy", "--model", "lstm", "--out", tmp_path / "run",
        "data.sequence_length=3", "data.num_examples=300", "data.batch_size=32", "train.epochs=1",
        "model.hidden_size=8", "diagnostics.grad_norms=true", "diagnostics.timestep_grads=true",
        "diagnostics.spectral=true", "diagnostics.activations=true", "diagnostics.probe_examples=16")
    assert code == 0, err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    baseline = copy_memoryless_cross_entropy(3)
    assert metrics["baseline_memoryless_cross_entropy"] == pytest.approx(baseline)
    assert metrics["loss_vs_memoryless"] == pytest.approx(metrics["test_loss"] / baseline)
    assert metrics["solved"] is (metrics["test_loss"] < 0.1 * baseline)
    timestep = np.load(tmp_path / "run" / "diagnostics" / "timestep_grads.npz")
    norms = timestep["norms"]
    assert norms.shape == (2, 1, 3 + 20)  # before training and after epoch 1; T + 2 * 10 steps
    # The decay rates are exp(slope) of a least-squares line through log ||dL/dh_t|| against the
    # distance from the last step: before training (row 0) and after the last epoch (row -1).
    distance = np.arange(22, -1, -1.0)
    for row, key in ((0, "grad_decay_rate_initial"), (-1, "grad_decay_rate_final")):
        centred, log_norms = distance - distance.mean(), np.log(norms[row, -1])
        slope = (centred * (log_norms - log_norms.mean())).sum() / (centred**2).sum()
        assert metrics[key] == pytest.approx(math.exp(slope), rel=1e-9), key
    assert metrics["grad_first_to_last_ratio"] == pytest.approx(norms[-1, -1, 0] / norms[-1, -1, -1], rel=1e-12)
    grad_norms = np.load(tmp_path / "run" / "diagnostics" / "grad_norms.npz")
    assert list(grad_norms["layers"]) == ["rnn.l0", "head"]
    assert metrics["grad_norm_mean"] == pytest.approx(float(np.mean(grad_norms["global_before"])), rel=1e-12)
    # The eigenvalues after training are those of the trained W_hh's gate blocks (torch's order
    # i, f, g, o), and the spectral radii the largest moduli.
    trained = load_file(str(tmp_path / "run" / "checkpoints" / "last" / "model.safetensors"))["rnn.weight_hh_l0"]
    spectral = np.load(tmp_path / "run" / "diagnostics" / "spectral.npz")
    for gate, block in zip(("input", "forget", "cell", "output"), trained.double().numpy().reshape(4, 8, 8)):
        np.testing.assert_allclose(np.sort_complex(spectral[f"after/rnn.weight_hh_l0.{gate}"]),
                                   np.sort_complex(np.linalg.eigvals(block)), rtol=1e-4, atol=1e-6, err_msg=gate)
    for when in ("before", "after"):
        radii = [np.abs(spectral[key]).max() for key in spectral.files if key.startswith(when)]
        assert len(radii) == 4 and metrics[f"spectral_radius_{when}"] == pytest.approx(max(radii), rel=1e-12)
    activations = np.load(tmp_path / "run" / "diagnostics" / "activations.npz")
    assert activations["hidden_states"].shape == (23, 8) and activations["gate_forget"].shape == (23,)
    figures = [path.name for path in plot_diagnostics_run(tmp_path / "run")]
    assert figures == ["grad_norm_heatmap.png", "grad_norms.png", "timestep_grads.png", "eigenvalues.png",
                       "hidden_states.png", "gate_means.png"]


def adding_batch(length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """64 adding-problem sequences (value, marker) with the markers at steps 3 and 30 (length > 30)."""
    generator = torch.Generator().manual_seed(0)
    values = torch.rand(64, length, 1, generator=generator)
    markers = torch.zeros(64, length, 1)
    markers[:, [3, 30]] = 1.0
    return torch.cat([values, markers], dim=-1), values[:, 3] + values[:, 30]


def initial_timestep_norms(model: SequenceModel, inputs: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    """(T,) ||dL/dh_t|| of the untrained model, the loss reading the last step only."""
    def loss(outputs):
        return F.mse_loss(model.head(outputs[:, -1]), targets)

    return timestep_gradients(model.rnn, model.encode(inputs), loss)[-1]


def test_timestep_gradients_of_a_tanh_rnn_are_the_hand_written_backward_pass():
    torch.manual_seed(0)
    model = SequenceModel("rnn", SequenceSpec(2, 1, "regression", tokens=False, length=12), hidden_size=6).double()
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(8, 12, 2, generator=generator, dtype=torch.float64)
    targets = torch.randn(8, 1, generator=generator, dtype=torch.float64)
    rnn = model.rnn
    hidden, states = torch.zeros(8, 6, dtype=torch.float64), []
    with torch.no_grad():
        for step in range(12):  # h_t = tanh(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh)
            hidden = torch.tanh(inputs[:, step] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0
                                + hidden @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
            states.append(hidden)
        # dL/dh_T from the mean squared error of the head, then dL/dh_(t-1) = (dL/dh_t * tanh') W_hh.
        gradient = 2 * (model.head(states[-1]) - targets) / 8 @ model.head.weight
        expected = [0.0] * 12
        for step in reversed(range(12)):
            expected[step] = float(gradient.norm())
            gradient = (gradient * (1 - states[step] ** 2)) @ rnn.weight_hh_l0
    np.testing.assert_allclose(initial_timestep_norms(model, inputs, targets), expected, rtol=1e-10)


def test_the_lstm_keeps_more_of_the_gradient_than_the_vanilla_rnn_at_initialisation():
    length = 50
    spec = SequenceSpec(2, 1, "regression", tokens=False, length=length)
    inputs, targets = adding_batch(length)

    def norms(cell: str, init: str = "default", **options) -> np.ndarray:
        torch.manual_seed(0)
        return initial_timestep_norms(initialise(SequenceModel(cell, spec, hidden_size=32), init, **options),
                                      inputs, targets)

    # tanh' <= 1, so one step back multiplies the norm by at most ||W_hh||_2: 0.5 once scaled there.
    for radius in (0.5, 1.0):
        halved = norms("rnn", "orthogonal", spectral_radius=radius)
        assert (halved[:-1] <= radius * halved[1:] * (1 + 1e-9)).all(), radius
    vanilla = norms("rnn")
    lstm = norms("lstm", forget_bias=1.0)
    unbiased = norms("lstm")
    rates = {name: fit_decay(values).rate for name, values in
             (("vanilla", vanilla), ("lstm", lstm), ("unbiased", unbiased))}
    # Measured (seed 0): 0.63 for the RNN, 0.82 for the LSTM with forget bias 1, 0.60 without it.
    assert rates["lstm"] > rates["vanilla"] + 0.1 and rates["lstm"] > rates["unbiased"] + 0.1, rates
    # Over 49 steps that is orders of magnitude more gradient reaching the first step.
    assert lstm[0] / lstm[-1] > 1e4 * vanilla[0] / vanilla[-1]


def test_every_arm_of_both_scales_is_a_valid_config():
    for scale in ("quick", "full"):
        plan = registry.studies.get("vanishing-gradients")(scale)
        for arm in plan.arms:
            build_config(arm.config)
        assert len({arm.name for arm in plan.arms}) == len(plan.arms)


@pytest.mark.slow
def test_a_tiny_study_summarises_and_reports_timestep_gradient_curves(tmp_path, saved_figures):
    saved = saved_figures
    plan = registry.studies.get("vanishing-gradients")("quick")
    vanilla, gated = arm_name("adding", 10, VANILLA), arm_name("adding", 10, GATED)
    plan.arms = [arm for arm in plan.arms if arm.name in (vanilla, gated)]
    plan.comparisons = []
    summary = run_study(plan, tmp_path, "quick", seeds=2, quiet=True, overrides=[
        ("data.num_examples", 200), ("train.epochs", 1), ("model.hidden_size", 8)])

    def seed_files(arm):
        return [tmp_path / arm / f"seed-{seed}" for seed in range(2)]

    ratios = {arm: [json.loads((run / "metrics.json").read_text())["loss_vs_memoryless"] for run in seed_files(arm)]
              for arm in (vanilla, gated)}
    rows = {row["arm"]: row for row in summary["rows"]}
    for arm, values in ratios.items():
        assert rows[arm]["loss_vs_memoryless"]["values"] == values
    assert summary["finding"].startswith(
        f"On the adding problem at T=10, the vanilla tanh RNN ends at {np.mean(ratios[vanilla]):.2f}x")
    assert f"({np.mean(ratios[gated]):.2f}x; solved in" in summary["finding"]

    figures = plan.figures(tmp_path, summary)
    names = {path.name for path in figures}
    assert {"timestep_grads_adding_10_initial.png", "timestep_grads_adding_10_final.png",
            "loss_vs_memoryless.png"} <= names
    # Each curve is the geometric mean over seeds of the last layer's norms, before training (row
    # 0) or after it (row -1), against the distance from the last step.
    labels = {vanilla: "RNN tanh, default init", gated: "LSTM, forget bias 1"}
    for when, row in (("initial", 0), ("final", -1)):
        lines = {line.get_label(): line for line in saved[f"timestep_grads_adding_10_{when}.png"].axes[0].lines}
        assert set(lines) == set(labels.values())
        for arm, label in labels.items():
            norms = np.stack([np.load(run / "diagnostics" / "timestep_grads.npz")["norms"][row, -1]
                              for run in seed_files(arm)])
            np.testing.assert_allclose(lines[label].get_ydata(), np.sqrt(norms[0] * norms[1]), rtol=1e-10)
            assert list(lines[label].get_xdata()) == list(range(norms.shape[1] - 1, -1, -1))
    bars = [bar.get_height() for bar in saved["loss_vs_memoryless.png"].axes[0].patches]
    assert bars == pytest.approx([np.mean(ratios[vanilla]), np.mean(ratios[gated])], rel=1e-12)
    write_study_report(tmp_path, summary, figures)
    assert 'alt="timestep_grads_adding_10_initial"' in (tmp_path / "report.html").read_text()


def test_the_finding_compares_rnn_and_lstm_at_the_longest_length():
    def row(arm, ratio, rate):
        return {"arm": arm, "loss_vs_memoryless": {"mean": ratio}, "solved": {"mean": float(ratio < 0.1)},
                "grad_decay_rate_initial": {"mean": rate}}

    summary = {"seeds": 2, "rows": [row("adding-10-rnn-tanh", 0.1, 0.6), row("adding-50-rnn-tanh", 0.98, 0.6),
                                    row("adding-50-lstm", 0.01, 0.8)]}
    text = finding(summary)
    assert "at T=50, the vanilla tanh RNN ends at 0.98x" in text
    assert "the LSTM learns the task (0.01x; solved in 100% of seeds)" in text
    assert f"shrinks by a factor 0.600 per step back in time ({0.6 ** 49:.1e}" in text
