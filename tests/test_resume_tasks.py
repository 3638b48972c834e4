"""Text and forecast runs interrupted after a checkpoint resume to the metrics of an unbroken run:
dropout, bucketed batch order and scheduled sampling all draw from state the checkpoint keeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainlab import experiment, rundir
from trainlab.config import apply_overrides, build_config, parse_overrides
from trainlab.training.callbacks import Callback

TIMINGS = ("train_seconds", "samples_per_second")


class Interrupt(Callback):
    order = 1001  # after the checkpoint of the epoch is written (Checkpointing.order is 1000)

    def on_epoch_end(self, state):
        if state.epoch == 2:
            raise KeyboardInterrupt


def config_for(raw, *pairs):
    return build_config(apply_overrides(raw, parse_overrides(list(pairs))))


def interrupted_then_resumed(config, run_dir, monkeypatch):
    defaults = experiment.default_callbacks
    with monkeypatch.context() as patch:
        patch.setattr(experiment, "default_callbacks", lambda *a, **k: [*defaults(*a, **k), Interrupt()])
        with pytest.raises(KeyboardInterrupt):
            experiment.train_run(config, run_dir, quiet=True)
    assert not rundir.is_complete(run_dir)
    return experiment.resume_run(run_dir, quiet=True)


def same(metrics_a, metrics_b):
    drop = lambda metrics: {k: v for k, v in metrics.items() if k not in TIMINGS}
    assert drop(metrics_a) == drop(metrics_b)


def test_text_run_resumes_exactly(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    words = ["good", "bad", "film", "plot", "the", "a", "very", "not"]
    texts = [" ".join(rng.choice(words, size=rng.integers(2, 15))) for _ in range(200)]
    labels = ["pos" if "good" in text else "neg" for text in texts]
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "texts.csv", index=False)
    config = config_for({"task": "text-classification", "data": {"source": str(tmp_path / "texts.csv")}},
                        "train.epochs=4", "model.hidden_size=8", "model.embedding_dim=8",
                        "model.embedding_dropout=0.3", "model.head_dropout=0.3", "data.batch_size=16")
    same(interrupted_then_resumed(config, tmp_path / "a", monkeypatch),
         experiment.train_run(config, tmp_path / "b", quiet=True))


def test_forecast_run_with_scheduled_sampling_resumes_exactly(tmp_path, monkeypatch):
    config = config_for({"task": "forecast", "data": {"source": "nile"}}, "train.epochs=4",
                        "data.window=12", "data.horizon=3", "model.hidden_size=8", "model.strategy=seq2seq",
                        "model.teacher_forcing=scheduled", "model.teacher_forcing_ratio=0.8")
    same(interrupted_then_resumed(config, tmp_path / "a", monkeypatch),
         experiment.train_run(config, tmp_path / "b", quiet=True))
