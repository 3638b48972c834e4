"""trainlab.notebook: a study summary as a table, a run's history as a frame."""

from __future__ import annotations

import math

import pytest

from trainlab.metrics.statistics import estimate
from trainlab.notebook import history_frame, summary_frame
from trainlab.training.callbacks import HistoryCSV
from trainlab.training.state import TrainState


def test_summary_frame_shows_each_arms_mean_and_interval_by_label():
    two_seeds = estimate([0.5, 0.7]).to_dict()
    summary = {
        "metrics": ["test_accuracy", "test_loss"],
        "rows": [
            {"arm": "a", "label": "first arm", "test_accuracy": two_seeds, "test_loss": None},
            {"arm": "b", "label": "b", "test_accuracy": estimate([0.9]).to_dict(), "test_loss": estimate([0.1]).to_dict()},
        ],
    }
    table = summary_frame(summary)
    assert list(table.index) == ["first arm", "b"]
    assert list(table.columns) == ["test_accuracy", "test_accuracy 95% CI", "test_loss", "test_loss 95% CI"]
    assert table.loc["first arm", "test_accuracy"] == 0.6
    # The t-interval with one degree of freedom: 0.6 +- t(0.975, 1) * std / sqrt(2), std = 0.1414.
    low, high = (float(part) for part in table.loc["first arm", "test_accuracy 95% CI"].split(" to "))
    assert (low, high) == pytest.approx((0.6 - 12.7062047 * 0.1, 0.6 + 12.7062047 * 0.1), rel=1e-3)  # 4 digits
    assert math.isnan(table.loc["first arm", "test_loss"])  # no value: missing, not zero
    assert table.loc["b", "test_accuracy 95% CI"] == ""  # one seed: no interval
    assert list(summary_frame(summary, ["test_loss"]).columns) == ["test_loss", "test_loss 95% CI"]


def test_history_frame_reads_history_csv(tmp_path):
    rows = [{"epoch": 1, "lr": 0.1, "train_loss": 2.0}, {"epoch": 2, "lr": 0.05, "train_loss": 1.5}]
    state = TrainState(model=None, optimizer=None, max_epochs=2, steps_per_epoch=1, history=rows)
    HistoryCSV(tmp_path / "history.csv").on_epoch_end(state)
    frame = history_frame(tmp_path)
    assert frame.to_dict("records") == rows
