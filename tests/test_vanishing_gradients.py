"""The sequence-classification task, its models' initialisations, and the vanishing-gradients study."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from trainlab import registry
from trainlab.config import build_config
from trainlab.data.synthetic import copy_memoryless_cross_entropy
from trainlab.diagnostics.spectral import recurrent_matrices, spectral_radius
from trainlab.errors import TrainlabError
from trainlab.pipelines.sequence_models import SequenceModel, SequenceSpec, initialise
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
    assert metrics["spectral_radius_before"] > 0 and 0 < metrics["grad_decay_rate_initial"]
    timestep = np.load(tmp_path / "run" / "diagnostics" / "timestep_grads.npz")
    assert timestep["norms"].shape == (2, 1, 3 + 20)  # before training and after epoch 1; T + 2 * 10 steps
    grad_norms = np.load(tmp_path / "run" / "diagnostics" / "grad_norms.npz")
    assert list(grad_norms["layers"]) == ["rnn.l0", "head"]
    activations = np.load(tmp_path / "run" / "diagnostics" / "activations.npz")
    assert activations["hidden_states"].shape == (23, 8) and activations["gate_forget"].shape == (23,)
    figures = [path.name for path in plot_diagnostics_run(tmp_path / "run")]
    assert figures == ["grad_norm_heatmap.png", "grad_norms.png", "timestep_grads.png", "eigenvalues.png",
                       "hidden_states.png", "gate_means.png"]


def test_every_arm_of_both_scales_is_a_valid_config():
    for scale in ("quick", "full"):
        plan = registry.studies.get("vanishing-gradients")(scale)
        for arm in plan.arms:
            build_config(arm.config)
        assert len({arm.name for arm in plan.arms}) == len(plan.arms)


@pytest.mark.slow
def test_a_tiny_study_summarises_and_reports_timestep_gradient_curves(tmp_path):
    plan = registry.studies.get("vanishing-gradients")("quick")
    kept = {arm_name("adding", 10, VANILLA), arm_name("adding", 10, GATED)}
    plan.arms = [arm for arm in plan.arms if arm.name in kept]
    plan.comparisons = []
    summary = run_study(plan, tmp_path, "quick", seeds=2, quiet=True, overrides=[
        ("data.num_examples", 200), ("train.epochs", 1), ("model.hidden_size", 8)])
    rows = {row["arm"]: row for row in summary["rows"]}
    assert rows[arm_name("adding", 10, VANILLA)]["loss_vs_memoryless"]["n"] == 2
    assert summary["finding"].startswith("On the adding problem at T=10, the vanilla tanh RNN ends at")
    figures = plan.figures(tmp_path, summary)
    names = {path.name for path in figures}
    assert {"timestep_grads_adding_10_initial.png", "timestep_grads_adding_10_final.png",
            "loss_vs_memoryless.png"} <= names
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
