"""The Keras-style model summary: its totals agree with models/flops.py and sum(p.numel()), its
rows with the layers' own shapes, and `trainlab summary` takes a run directory or a model name."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainlab.config import build_config
from trainlab.errors import TrainlabError
from trainlab.experiment import train_run
from trainlab.models import count_parameters
from trainlab.models.flops import count_multiply_adds
from trainlab.reports.model_summary import summarize, summarize_model, summarize_run

TINY_CNN = {"task": "image-classification", "data": {"source": "digits", "limit": 60},
            "model": {"name": "simple_cnn", "channels": [4], "hidden_size": 16}, "train": {"epochs": 1}}


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("summary") / "run"
    train_run(build_config(TINY_CNN), run_dir, quiet=True)
    return run_dir


def test_totals_of_resnet20_equal_flops_and_parameter_count():
    summary = summarize_model("resnet20", (3, 32, 32))
    from trainlab import registry

    entry = registry.models.entry("resnet20", "image-classification")
    torch.manual_seed(0)
    from trainlab.models import ImageSpec

    model = entry.builder(entry.config_class(), ImageSpec(3, 32, 32, 10))
    assert summary.total_parameters == count_parameters(model) == sum(row.parameters for row in summary.rows)
    assert summary.total_multiply_adds == count_multiply_adds(model, (3, 32, 32))
    first = summary.rows[0]
    assert (first.kind, first.output_shape) == ("Conv2d", (16, 32, 32))
    assert summary.rows[-1].output_shape == (10,)


def test_run_directory_summary_is_the_runs_model(cnn_run):
    import json

    summary = summarize_run(cnn_run)
    metrics = json.loads((cnn_run / "metrics.json").read_text())
    assert summary.total_parameters == metrics["params"]
    assert summary.total_multiply_adds == metrics["multiply_adds"]
    assert summary.input_description == "one 1x8x8 image"


def test_shared_parameters_are_counted_once_and_recurrent_multiply_adds_per_step():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(7, 5)
            self.rnn = nn.LSTM(5, 3, batch_first=True)
            self.decoder = nn.Linear(3, 7)
            self.decoder.weight = nn.Parameter(torch.zeros(7, 3))
            self.project = nn.Linear(3, 5, bias=False)
            self.out = nn.Linear(5, 7)
            self.out.weight = self.embedding.weight  # tied, as language models do

        def forward(self, tokens):
            outputs, _ = self.rnn(self.embedding(tokens))
            return self.out(self.project(outputs)) + self.decoder(outputs)

    model = Tied()
    summary = summarize(model, (torch.ones(1, 4, dtype=torch.long),), "tied", "4 tokens")
    assert summary.total_parameters == count_parameters(model) == sum(row.parameters for row in summary.rows)
    rnn = next(row for row in summary.rows if row.kind == "LSTM")
    assert rnn.multiply_adds == 4 * 3 * (5 + 3) * 4  # gates x hidden x (input + hidden) x steps
    assert rnn.output_shape == (4, 3)


def test_summary_command_prints_the_table_of_a_run_and_of_a_model(trainlab, cnn_run):
    code, out, _ = trainlab("summary", cnn_run)
    assert code == 0
    assert "simple_cnn on one 1x8x8 image" in out and "Conv2d" in out
    code, out, _ = trainlab("summary", "simple_cnn", "--input-shape", "1,28,28", "--classes", "7")
    assert code == 0 and "(7)" in out


@pytest.mark.parametrize(("args", "message"), [
    (["resnet20"], ("trainlab: error: 'resnet20' is not a directory; for a model name add --input-shape, "
                   "e.g. --input-shape 3,32,32")),
    (["resnet20", "--input-shape", "3,x,32"], ("trainlab: error: --input-shape 3,x,32: give whole numbers "
                                              "separated by commas, e.g. 3,32,32")),
    (["resnet20", "--input-shape", "32,32"], ("trainlab: error: --input-shape (32, 32): resnet20 takes images; "
                                             "give C,H,W, e.g. 3,32,32")),
    (["no-such-model", "--input-shape", "3,32,32"], ("trainlab: error: model 'no-such-model' is not registered; "
                                                    "see `trainlab list models`")),
])
def test_bad_summary_input_is_one_clear_line(trainlab, args, message):
    code, _, err = trainlab("summary", *args)
    assert code != 0
    assert err.strip() == message


def test_a_model_of_several_tasks_needs_its_task():
    with pytest.raises(TrainlabError, match="exists for several tasks"):
        summarize_model("lstm", (16, 100))
