"""The cell options through config: every recurrent model takes them, bad values are one line, and
the step-by-step cell trains exactly like the fused kernel when no option changes the maths."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from trainlab import experiment, registry
from trainlab.config import build_config
from trainlab.errors import TrainlabError
from trainlab.models.recurrent_cells import UnrolledGRU, UnrolledLSTM, WeightDropLSTM

# One tiny offline run per task: (task, data, model)
TINY_RUNS = {
    "sequence-classification": (
        {"source": "adding-uniform", "sequence_length": 8, "num_examples": 200, "batch_size": 32},
        {"hidden_size": 8}),
    "language-model": (
        {"source": "python-stdlib", "tokenizer": "char", "limit": 3000, "sequence_length": 16, "batch_size": 8,
         "val_fraction": 0.05, "test_fraction": 0.05},
        {"hidden_size": 16, "layers": 2}),
    "text-classification": (
        {"source": "synthetic-reviews", "num_examples": 120, "batch_size": 16},
        {"embedding_dim": 8, "hidden_size": 8, "bidirectional": True, "pooling": "mean"}),
    "forecast": (
        {"source": "sunspots", "window": 12, "horizon": 2, "batch_size": 32},
        {"hidden_size": 8, "strategy": "seq2seq"}),
}


def tiny_config(task: str, **model) -> dict:
    data, model_options = TINY_RUNS[task]
    return {"task": task, "data": dict(data), "model": {"name": "lstm", **model_options, **model},
            "optim": {"name": "adam", "lr": 0.01}, "train": {"epochs": 2}, "run": {"seed": 3}}


def train_losses(run_dir: Path) -> np.ndarray:
    with (run_dir / "history.csv").open() as handle:
        return np.array([float(row["train_loss"]) for row in csv.DictReader(handle)])


def test_the_unrolled_cell_trains_like_the_fused_kernel(tmp_path):
    """Same seed, every gate, no dropout: the loss curves agree to float32 round-off, on the
    language model (2 layers, state carried across chunks) and the bidirectional classifier."""
    for task in ("language-model", "text-classification"):
        fused = experiment.train_run(build_config(tiny_config(task)), tmp_path / f"{task}-fused", quiet=True)
        unrolled = experiment.train_run(build_config(tiny_config(task, unrolled=True)), tmp_path / f"{task}-unrolled",
                                        quiet=True)
        np.testing.assert_allclose(train_losses(tmp_path / f"{task}-unrolled"), train_losses(tmp_path / f"{task}-fused"),
                                   rtol=1e-4, err_msg=task)
        assert unrolled["test_loss"] == pytest.approx(fused["test_loss"], rel=1e-4), task
        assert unrolled["params"] == fused["params"]


@pytest.mark.parametrize("task", list(TINY_RUNS))
def test_every_recurrent_model_takes_the_cell_options(task):
    spec = _spec(task)
    config = build_config(tiny_config(task, recurrent_dropout=0.25, variant="cifg", forget_bias=1.0))
    model = registry.models.get("lstm", task)(config.model, spec)
    unrolled = [module for module in model.modules() if isinstance(module, UnrolledLSTM)]
    assert unrolled and all(m.variant == "cifg" and m.recurrent_dropout == 0.25 for m in unrolled)
    # CIFG: f = 1 - i, so a forget bias of 1 is an input-gate bias of -1.
    assert all(torch.all(m.bias_hh_l0[m.gate_rows("i")] == -1.0) for m in unrolled)
    config = build_config(tiny_config(task, weight_drop=0.3))
    model = registry.models.get("lstm", task)(config.model, spec)
    assert any(isinstance(module, WeightDropLSTM) and module.weight_drop == 0.3 for module in model.modules())
    config = build_config({**tiny_config(task, zoneout=0.1), "model": {**tiny_config(task)["model"], "name": "gru",
                                                                         "zoneout": 0.1}})
    model = registry.models.get("gru", task)(config.model, spec)
    assert any(isinstance(module, UnrolledGRU) and module.zoneout == 0.1 for module in model.modules())
    # No option: torch's fused layers, as before.
    config = build_config(tiny_config(task))
    model = registry.models.get("lstm", task)(config.model, spec)
    assert all(type(module) is nn.LSTM for module in model.modules() if isinstance(module, nn.RNNBase | UnrolledLSTM))


def _spec(task: str):
    """What each task's builder reads of its data spec."""
    from trainlab.models.sequence import SequenceSpec

    if task == "sequence-classification":
        return SequenceSpec(input_size=2, output_size=1, kind="regression", tokens=False, length=8)
    return SimpleNamespace(vocab_size=20, num_classes=2, embeddings=None, encoder_weights=None, padding_idx=0,
                           input_features=1, target_features=1, horizon=2, period=1)


@pytest.mark.parametrize(("model", "message"), [
    ({"name": "lstm", "variant": "nope"},
     ("model.variant: Input should be 'vanilla', 'nig', 'nfg', 'nog', 'niaf', 'noaf', 'cifg', 'peepholes' or "
      "'fgr' (got 'nope')")),
    ({"name": "gru", "variant": "cifg"},
     "model.variant=cifg is an LSTM variant and the model is gru; set model.name=lstm or drop model.variant"),
    ({"name": "lstm", "recurrent_dropout": 1.0},
     "model.recurrent_dropout: Input should be less than 1 (got 1.0)"),
    ({"name": "lstm", "weight_drop": -0.1},
     "model.weight_drop: Input should be greater than or equal to 0 (got -0.1)"),
    ({"name": "rnn", "forget_bias": 1.0}, "model.forget_bias applies to lstm only (model is rnn); drop it"),
    ({"name": "lstm", "variant": "nfg", "forget_bias": 1.0},
     "model.forget_bias: variant nfg has no forget gate; drop one of the two"),
])
def test_bad_cell_options_are_one_clear_line(model, message):
    for task in ("text-classification", "language-model", "forecast"):
        with pytest.raises(TrainlabError) as caught:
            build_config({"task": task, "model": model})
        assert str(caught.value) == message


def test_per_step_diagnostics_refuse_the_step_by_step_cell(tmp_path):
    config = build_config({**tiny_config("sequence-classification", variant="nig"),
                           "diagnostics": {"timestep_grads": True}})
    with pytest.raises(TrainlabError, match=r"^diagnostics.timestep_grads read torch's fused recurrent layers"):
        experiment.train_run(config, tmp_path / "run", quiet=True)
