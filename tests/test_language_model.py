"""Language models: baselines and scores by hand, batches that score every token once and carry
rows across chunks, a carried state that equals reading the whole stream at once, the models of
the registry, and the defaults a language-model run resolves."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from trainlab import registry
from trainlab.config import build_config
from trainlab.data.corpus import IGNORE_INDEX, LanguageModelBatches
from trainlab.metrics.language import (
    BigramBaseline,
    UnigramBaseline,
    baseline_scores,
    language_scores,
)
from trainlab.models import build_model
from trainlab.models.language_model import LanguageModelSpec, RecurrentLanguageModel
from trainlab.training.tasks import LanguageModelTask
from trainlab.training.trainer import Trainer


def test_baselines_by_hand():
    train, test = torch.tensor([2, 3, 2, 2, 3]), torch.tensor([2, 3, 3])
    # Unigram, add-one over V=4: P(3) = (2 + 1) / (5 + 4); the targets are test[1:] = 3, 3.
    assert UnigramBaseline(4).fit(train).loss(test) == pytest.approx(-math.log(3 / 9))
    # Bigram: pairs (2,3) (3,2) (2,2) (2,3): P(3|2) = (2 + 1) / (3 + 4), P(3|3) = (0 + 1) / (1 + 4).
    expected = -(math.log(3 / 7) + math.log(1 / 5)) / 2
    assert BigramBaseline(4).fit(train).loss(test) == pytest.approx(expected)
    scores = baseline_scores(train, test, 4)
    assert scores["baseline_bigram_loss"] == pytest.approx(expected)
    assert scores["baseline_bigram_bpc"] == pytest.approx(expected / math.log(2))
    assert scores["baseline_unigram_perplexity"] == pytest.approx(9 / 3)


def test_bigram_baseline_matches_a_dense_count_table():
    generator = torch.Generator().manual_seed(0)
    train, test = torch.randint(0, 9, (500,), generator=generator), torch.randint(0, 9, (80,), generator=generator)
    counts = torch.zeros(9, 9, dtype=torch.float64)
    for previous, following in zip(train[:-1].tolist(), train[1:].tolist()):
        counts[previous, following] += 1
    table = (counts + 1) / (counts.sum(dim=1, keepdim=True) + 9)
    expected = -table[test[:-1], test[1:]].log().mean().item()
    assert BigramBaseline(9).fit(train).loss(test) == pytest.approx(expected, rel=1e-12)


def test_language_scores():
    scores = language_scores(1.5)
    assert scores == {"loss": 1.5, "perplexity": math.exp(1.5), "bpc": pytest.approx(2.1640425613334453)}


def pairs_of(batches: LanguageModelBatches) -> list[tuple[int, int]]:
    pairs = []
    for inputs, targets, _ in batches:
        kept = targets != IGNORE_INDEX
        pairs += list(zip(inputs[kept].tolist(), targets[kept].tolist()))
    return pairs


@pytest.mark.parametrize("stateful", [True, False])
@pytest.mark.parametrize("length", [50, 53, 7])
def test_evaluation_scores_every_target_exactly_once(stateful, length):
    ids = torch.arange(100, 100 + length)
    batches = LanguageModelBatches(ids, 4, 5, "stateful" if stateful else "windows", training=False)
    expected = list(zip(ids[:-1].tolist(), ids[1:].tolist()))
    assert sorted(pairs_of(batches)) == expected
    assert batches.num_examples == length - 1
    assert len(list(batches)) == len(batches)


def test_stateful_rows_continue_across_chunks_and_the_offset_moves_each_epoch():
    ids = torch.arange(1000, 1203)
    batches = LanguageModelBatches(ids, 3, 8, "stateful", training=True, seed=0)
    firsts = []
    for epoch in range(4):
        batches.set_epoch(epoch)
        chunks = list(batches)
        assert len(chunks) == len(batches)
        assert [int(reset) for _, _, reset in chunks] == [1] + [0] * (len(chunks) - 1)
        rows = torch.cat([inputs for inputs, _, _ in chunks], dim=1)  # (3, stream length)
        targets = torch.cat([target for _, target, _ in chunks], dim=1)
        assert torch.equal(targets, rows + 1)  # the next token of this text is its id + 1
        assert torch.equal(rows[:, 1:] - rows[:, :-1], torch.ones_like(rows[:, 1:]))  # contiguous rows
        assert torch.equal(rows[1:, 0] - rows[:-1, 0], torch.full((2,), rows.shape[1]))  # streams side by side
        firsts.append(int(rows[0, 0]))
    assert len(set(firsts)) > 1 and all(1000 <= first < 1008 for first in firsts)


def test_windows_reset_each_batch_and_are_shuffled():
    batches = LanguageModelBatches(torch.arange(200), 4, 10, "windows", training=True, seed=1)
    chunks = list(batches)
    assert all(int(reset) == 1 for _, _, reset in chunks)
    starts = torch.cat([inputs[:, 0] for inputs, _, _ in chunks])
    assert len(starts) == 19 and len(set(starts.tolist())) == 19
    assert not torch.equal(starts, starts.sort().values)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_carried_state_equals_reading_each_stream_at_once(cell):
    torch.manual_seed(0)
    model = RecurrentLanguageModel(11, cell, 6, 8, layers=2).double()
    ids = torch.randint(0, 11, (83,))
    batches = LanguageModelBatches(ids, 3, 5, "stateful", training=False)
    trainer = Trainer(model, LanguageModelTask(), torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=1)
    scores = trainer.evaluate(batches)
    # Reference: each of the 3 streams (28 targets; the last one padded) in one call, from zeros.
    inputs, targets = batches._pairs(batches.streams, batches.stream_length)
    with torch.no_grad():
        logits, _ = model(inputs)
    expected = F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1), ignore_index=IGNORE_INDEX)
    assert scores["loss"] == pytest.approx(expected.item(), rel=1e-6)  # the meter sums float32 losses
    assert scores["bpc"] == pytest.approx(expected.item() / math.log(2), rel=1e-6)
    assert scores["perplexity"] == pytest.approx(math.exp(expected.item()), rel=1e-6)


def test_training_detaches_the_carried_state():
    torch.manual_seed(0)
    model = RecurrentLanguageModel(7, "lstm", 4, 4, layers=1)
    task = LanguageModelTask()
    batches = list(LanguageModelBatches(torch.randint(0, 7, (60,)), 2, 5, "stateful", training=True))
    for batch in batches[:3]:
        loss, _, _ = task.forward(model, batch, training=True)
        loss.backward()  # a second backward through the previous chunk's graph would fail
        assert all(not part.requires_grad for part in task.states[True])


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_registered_models_give_logits_and_finite_gradients(name):
    config = build_config({"task": "language-model", "model": {"name": name, "hidden_size": 12, "layers": 2,
                                                               "dropout": 0.1, "tie_weights": True}})
    model = build_model(config.model, LanguageModelSpec(7), "language-model")
    assert registry.models.entry(name, "language-model").config_class is type(config.model)
    logits, _ = model(torch.randint(0, 7, (3, 5)))
    assert logits.shape == (3, 5, 7)
    logits.sum().backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), parameter_name


def test_weight_tying_shares_the_embedding_and_projects_when_widths_differ():
    tied = RecurrentLanguageModel(50, "lstm", embedding_dim=16, hidden_size=16, tie_weights=True)
    untied = RecurrentLanguageModel(50, "lstm", embedding_dim=16, hidden_size=16)
    assert tied.decoder.weight is tied.embedding.weight and tied.projection is None
    count = lambda model: sum(parameter.numel() for parameter in model.parameters())
    assert count(untied) - count(tied) == 50 * 16
    projected = RecurrentLanguageModel(50, "gru", embedding_dim=8, hidden_size=16, tie_weights=True)
    assert projected.projection.in_features == 16 and projected.decoder.in_features == 8
    assert projected(torch.zeros(2, 3, dtype=torch.long))[0].shape == (2, 3, 50)


def test_language_model_defaults_apply_only_where_the_config_is_silent():
    # The language model's own data section holds its defaults (characters, 5% + 5% held out),
    # which differ from a text classifier's; nothing rewrites the config afterwards.
    config = build_config({"task": "language-model"})
    assert (config.data.tokenizer, config.data.val_fraction, config.data.test_fraction) == ("char", 0.05, 0.05)
    config = build_config({"task": "language-model",
                           "data": {"tokenizer": "word", "test_fraction": 0.1, "val_fraction": 0.1}})
    assert (config.data.tokenizer, config.data.val_fraction, config.data.test_fraction) == ("word", 0.1, 0.1)
    texts = build_config({"task": "text-classification"}).data
    assert (texts.tokenizer, texts.val_fraction, texts.test_fraction, texts.max_length) == ("word", 0.1, 0.2, 512)
