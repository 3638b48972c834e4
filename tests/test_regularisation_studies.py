"""The regularisation studies: what they measure is checked against independent computations."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from safetensors.numpy import load_file

from trainlab import registry, rundir
from trainlab.config import build_config
from trainlab.errors import TrainlabError
from trainlab.rundir import read_history
from trainlab.studies import early_stopping, weight_decay
from trainlab.studies.runner import run_study

TINY_DIGITS = {"source": "digits", "limit": 150, "batch_size": 32}


def test_early_stopping_reports_epochs_saved_and_the_restored_model_is_the_best_epochs(tmp_path):
    base = copy.deepcopy(early_stopping.quick_setting())
    base["data"] = dict(TINY_DIGITS)
    base["model"]["hidden_sizes"] = [32]
    base["train"]["epochs"] = 6
    plan = registry.studies.get("early-stopping")("quick")
    # A min_delta no epoch can beat: the best epoch is the first, and patience 1 stops after the second.
    plan.arms = early_stopping.arms_for(base, patience=1, min_delta=100.0)
    summary = run_study(plan, tmp_path / "study", "quick", seeds=2, quiet=True)
    rows = {row["arm"]: row for row in summary["rows"]}
    assert rows["fixed"]["epochs"]["values"] == [6, 6]
    assert rows["early-stopping"]["epochs"]["values"] == [2, 2]
    assert rows["early-stopping"]["epochs_saved_share"]["values"] == [1 - 2 / 6] * 2
    assert rows["fixed"]["epochs_saved_share"]["values"] == [0.0, 0.0]
    for seed in (0, 1):
        run_dir = tmp_path / "study" / "early-stopping" / f"seed-{seed}"
        metrics, history = rundir.read_json(run_dir / "metrics.json"), read_history(run_dir)
        assert metrics["best_epoch"] == 1
        # Evaluated again after training, the restored weights give the best epoch's loss exactly.
        assert metrics["val_loss"] == history[0]["val_loss"]
        fixed_dir = tmp_path / "study" / "fixed" / f"seed-{seed}"
        fixed, fixed_history = rundir.read_json(fixed_dir / "metrics.json"), read_history(fixed_dir)
        assert fixed["val_loss"] == fixed_history[-1]["val_loss"]  # the last weights were kept
    assert rows["early-stopping"]["val_loss_minus_best"]["values"] == [0.0, 0.0]
    assert "saving 67% of them" in summary["finding"]
    assert "equals the best epoch's in every seed" in summary["finding"]
    assert early_stopping.figures(tmp_path / "study", summary)[0].is_file()


def test_over_underfitting_matches_numpy_polyfit_and_shows_the_textbook_ordering(tmp_path):
    from trainlab import studies

    study_dir, summary = studies.run("over-underfitting", seeds=4, study_dir=tmp_path / "study", quiet=True)
    rows = {row["arm"]: row for row in summary["rows"]}
    # Seed 0's degree-3 fit by an independent routine on the same training set.
    x = np.linspace(-1, 1, 20)
    y = np.sin(np.pi * x) + 0.2 * np.random.default_rng(0).standard_normal(20)
    reference = np.polyval(np.polyfit(x, y, 3), x)
    assert rows["degree-3"]["train_mse"]["values"][0] == pytest.approx(np.mean((reference - y) ** 2), rel=1e-9)
    train = [rows[f"degree-{d}"]["train_mse"]["mean"] for d in (1, 3, 15)]
    assert train[0] > train[1] > train[2]
    assert summary["best_arm"] == "degree-3"
    assert rows["degree-15"]["largest_coefficient"]["mean"] > 100 * rows["degree-3"]["largest_coefficient"]["mean"]
    for name in ("fits_vs_truth", "train_vs_test_error", "coefficients"):
        assert (study_dir / "plots" / f"{name}.png").is_file()
    assert "data:image/png;base64," in (study_dir / "report.html").read_text()


@pytest.mark.slow
def test_bias_variance_study_summarises_the_decomposition_and_names_the_chosen_complexity(tmp_path):
    plan = registry.studies.get("bias-variance")("quick")
    plan.arms = [arm for arm in plan.arms if arm.name in ("degree-1", "degree-3", "degree-12", "mlp-width-2")]
    summary = run_study(plan, tmp_path / "study", "quick", seeds=2, quiet=True,
                        overrides=[("training_sets", 15), ("test_points", 100)])
    rows = {row["arm"]: row for row in summary["rows"]}
    assert rows["degree-1"]["bias_squared"]["mean"] > rows["degree-3"]["bias_squared"]["mean"]
    assert rows["degree-12"]["variance"]["mean"] > rows["degree-3"]["variance"]["mean"]
    assert "picks polynomial degree 3" in summary["finding"]
    assert "true 0.09" in summary["finding"]
    paths = plan.figures(tmp_path / "study", summary)
    assert {path.name for path in paths} == {"u_curve_polynomial.png", "fits_polynomial.png",
                                             "u_curve_mlp.png", "fits_mlp.png"}


def test_a_numeric_study_refuses_an_unknown_setting_before_any_fit(tmp_path):
    plan = registry.studies.get("bias-variance")("quick")
    with pytest.raises(TrainlabError, match=r"^bias-variance: unknown setting 'noize'; settings are "):
        run_study(plan, tmp_path / "study", "quick", overrides=[("noize", 0.1)], quiet=True)
    assert not any((tmp_path / "study").glob("*/seed-*"))


def test_weight_norm_per_epoch_is_the_norm_of_the_decayed_weights(tmp_path):
    plan = registry.studies.get("weight-decay")("quick")
    plan.arms = [arm for arm in plan.arms if arm.name == "l2-0.01"]
    plan.comparisons = []
    summary = run_study(plan, tmp_path / "study", "quick", seeds=1, quiet=True,
                        overrides=[("data.limit", 96), ("train.epochs", 2), ("train.restore_best", False)])
    run_dir = tmp_path / "study" / "l2-0.01" / "seed-0"
    history = read_history(run_dir)
    assert [row["epoch"] for row in history] == [1, 2] and all("weight_norm" in row for row in history)
    weights = load_file(str(run_dir / "checkpoints" / "last" / "model.safetensors"))
    expected = math.sqrt(sum(float(np.square(t.astype(np.float64)).sum()) for t in weights.values() if t.ndim >= 2))
    assert history[-1]["weight_norm"] == pytest.approx(expected, rel=1e-6)
    assert summary["rows"][0]["final_weight_norm"]["values"] == [history[-1]["weight_norm"]]


def test_the_dropout_gap_is_training_accuracy_in_eval_mode_minus_test_accuracy(tmp_path):
    plan = registry.studies.get("dropout")("quick")
    plan.arms = [arm for arm in plan.arms if arm.name == "mlp-dropout-0.5"]
    plan.comparisons = []
    summary = run_study(plan, tmp_path / "study", "quick", seeds=1, quiet=True,
                        overrides=[("data.limit", 96), ("train.epochs", 2)])
    run_dir = tmp_path / "study" / "mlp-dropout-0.5" / "seed-0"
    metrics, train = rundir.read_json(run_dir / "metrics.json"), rundir.read_json(run_dir / "train_eval.json")
    row = summary["rows"][0]
    assert row["generalisation_gap"]["values"] == [train["accuracy"] - metrics["test_accuracy"]]
    assert row["seconds_per_epoch"]["values"] == [metrics["train_seconds"] / 2]
    assert 0 <= train["accuracy"] <= 1


@pytest.mark.parametrize("name", ["early-stopping", "weight-decay", "dropout", "optimizers"])
@pytest.mark.parametrize("scale", ["quick", "full"])
def test_every_training_arm_is_a_valid_config(name, scale):
    plan = registry.studies.get(name)(scale)
    for arm in plan.arms:
        build_config(arm.config)
    arms = {arm.name for arm in plan.arms}
    assert all(a in arms and b in arms for a, b in plan.comparisons)
    if name == "weight-decay":
        assert weight_decay.arm_name("decoupled", 1e-3) in arms
