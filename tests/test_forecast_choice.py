"""The model a forecast run delivers: the network or a baseline, whichever backtests best over the
validation part. The test part plays no part in the choice; `trainlab forecast` uses the winner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainlab import rundir
from trainlab.forecasting.backtest import backtest
from trainlab.forecasting.baselines import BASELINES, make_baseline
from trainlab.metrics.model_choice import choose_forecaster, chosen_model_sentence

PATTERN = np.array([1.0, 5.0, 2.0, 8.0])  # a season of 4 steps


def test_the_lowest_validation_mase_wins_undefined_never_and_ties_go_to_the_first():
    assert choose_forecaster({"network": 0.9, "naive": 0.7, "ets": 0.8}) == "naive"
    assert choose_forecaster({"network": None, "naive": 0.7}) == "naive"
    assert choose_forecaster({"network": 0.7, "naive": 0.7}) == "network"
    with pytest.raises(ValueError, match="no forecaster"):
        choose_forecaster({"network": None})


def write_series(folder):
    """120 steps of a season of 4: noisy over the first 72 (training), exact over the next 24
    (validation: seasonal naive is right from its second origin on), then a flat level of 3 for
    the last 24 (test: repeating the last season is wrong there, repeating the last value is not)."""
    values = np.tile(PATTERN, 30)
    values[:72] += np.random.default_rng(0).normal(0, 0.05, 72)
    values[96:] = 3.0
    path = folder / "seasonal.csv"
    pd.DataFrame({"value": values}).to_csv(path, index=False)
    return path, values


@pytest.fixture(scope="module")
def chosen_run(tmp_path_factory):
    from trainlab.cli import main

    folder = tmp_path_factory.mktemp("choice")
    csv, values = write_series(folder)
    code = main(["train", "forecast", "--data", str(csv), "--out", str(folder / "run"), "--quiet",
                 "data.time_column=none", "data.period=4", "data.window=8", "data.horizon=4",
                 "data.val_fraction=0.2", "train.epochs=1", "model.hidden_size=4"])
    assert code == 0
    return folder / "run", values


def test_the_choice_is_the_best_validation_backtest_not_the_best_test_score(chosen_run):
    run_dir, values = chosen_run
    metrics = rundir.read_json(run_dir / rundir.METRICS_FILE)
    # Validation by hand: every baseline fitted on the 72 training steps, origins 72, 76, ..., 92.
    as_read = values.astype(np.float32)[:96]  # the run reads the CSV's values as float32
    by_hand = backtest({name: make_baseline(name, period=4) for name in BASELINES}, as_read, 4,
                       initial=72, stride=4, refit=False, period=4)
    for name in BASELINES:
        assert metrics[f"candidate_{name}_val_mase"] == pytest.approx(by_hand.summary[name]["mase"], rel=1e-9)
        assert metrics[f"candidate_{name}_test_mase"] == metrics[f"baseline_{name}_mase"]
    assert metrics["candidate_network_test_mase"] == metrics["test_mase"]
    val_mase = {key.removeprefix("candidate_").removesuffix("_val_mase"): value
                for key, value in metrics.items() if key.endswith("_val_mase")}
    assert metrics["chosen_model"] == "seasonal_naive" == min(val_mase, key=val_mase.get)
    # On test, where the season is gone, another forecaster is better: a choice made on test would differ.
    test_mase = {name: metrics[f"candidate_{name}_test_mase"] for name in val_mase}
    assert min(test_mase, key=test_mase.get) != "seasonal_naive"
    for metric in ("mae", "rmse", "mase"):
        assert metrics[f"chosen_test_{metric}"] == metrics[f"baseline_seasonal_naive_{metric}"]
    sentence = chosen_model_sentence(metrics)
    assert sentence.startswith("Chosen on validation: seasonal naive, with MASE ")
    assert f"network {metrics['candidate_network_val_mase']:.3f}" in sentence
    # The test part is still scored for the network itself (test_mase), as before.
    assert "test_mase" in metrics and metrics["test_mase"] != metrics["chosen_test_mase"]


def test_forecast_past_the_end_uses_the_chosen_baseline(trainlab, chosen_run, tmp_path):
    run_dir, _ = chosen_run
    code, _, err = trainlab("forecast", run_dir, "--horizon", 6, "--out", tmp_path / "next.csv")
    assert code == 0, err
    assert "forecast by seasonal naive, the model this run chose on validation" in err
    # Seasonal naive fitted on the whole series: its last season (flat at 3) repeated.
    np.testing.assert_allclose(pd.read_csv(tmp_path / "next.csv")["value"].to_numpy(), np.full(6, 3.0))


def test_a_run_without_validation_makes_no_choice(tmp_path):
    from trainlab.cli import main

    csv, _ = write_series(tmp_path)
    code = main(["train", "forecast", "--data", str(csv), "--out", str(tmp_path / "run"), "--quiet",
                 "data.time_column=none", "data.period=4", "data.window=8", "data.horizon=4",
                 "data.val_fraction=0", "train.monitor=train_loss", "train.epochs=1", "model.hidden_size=4"])
    assert code == 0
    metrics = rundir.read_json(tmp_path / "run" / rundir.METRICS_FILE)
    assert "chosen_model" not in metrics and chosen_model_sentence(metrics) is None
