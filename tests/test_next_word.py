"""Next-word data: context windows checked by hand, no window across a split, and a run that
reports perplexity = exp(test loss)."""

from __future__ import annotations

import math

import pytest
import torch

from trainlab import rundir
from trainlab.config import TextDataConfig, build_config
from trainlab.data.next_word import NextWordSplits, context_windows, next_word_from_text
from trainlab.data.tokenizers import UNK
from trainlab.errors import TrainlabError
from trainlab.experiment import train_run


def windows_as_lists(encoded) -> tuple[list[list[int]], list[int]]:
    return [encoded.sequences[index].tolist() for index in range(len(encoded))], encoded.labels.tolist()


def test_context_windows_by_hand():
    ids = torch.arange(10, 16)  # 10 11 12 13 14 15
    contexts, targets = windows_as_lists(context_windows(ids, 2))
    assert contexts == [[10, 11], [11, 12], [12, 13], [13, 14]]
    assert targets == [12, 13, 14, 15]
    contexts, targets = windows_as_lists(context_windows(ids, 2, stride=2))
    assert contexts == [[10, 11], [12, 13]] and targets == [12, 14]
    contexts, targets = windows_as_lists(context_windows(ids, 3, stride=2))
    assert contexts == [[10, 11, 12], [12, 13, 14]] and targets == [13, 15]
    assert len(context_windows(ids, 6)) == 0  # six ids: no room for a seventh to predict
    assert not context_windows(ids, 2).truncated.any()


def test_labels_are_vocabulary_ids_of_the_next_word():
    text = "the cat sat on the mat . the dog sat on the cat . " * 20
    splits = next_word_from_text("cats", text, TextDataConfig(context_length=3, val_fraction=0.1, test_fraction=0.2))
    assert isinstance(splits, NextWordSplits)
    assert splits.classes == splits.vocab.tokens
    words = text.split()
    # The first training window is the first three words, labelled with the fourth.
    assert splits.vocab.decode(splits.train.sequences[0].tolist()) == words[:3]
    assert splits.classes[int(splits.train.labels[0])] == words[3]
    assert splits.classes[int(splits.train.labels[5])] == words[8]


def test_windows_never_cross_a_split_boundary():
    # 100 distinct words: the vocabulary is built on the first 70 (train), so every validation and
    # test word is <unk>; a window reading across a boundary would mix known words and <unk>.
    text = " ".join(f"w{index}" for index in range(100))
    data = TextDataConfig(context_length=3, val_fraction=0.1, test_fraction=0.2, max_vocab=None)
    splits = next_word_from_text("words", text, data)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (70 - 3, 10 - 3, 20 - 3)
    for index in range(len(splits.train)):
        window = splits.vocab.decode(splits.train.sequences[index].tolist())
        assert window == [f"w{index}", f"w{index + 1}", f"w{index + 2}"]
        assert splits.classes[int(splits.train.labels[index])] == f"w{index + 3}"
    for part in (splits.val, splits.test):
        assert set(splits.vocab.decode(part.sequences.tokens.tolist())) == {UNK}
        assert set(splits.vocab.decode(part.labels.tolist())) == {UNK}
    assert splits.classes[int(splits.train.labels[-1])] == "w69"  # the last training word, no later one


def test_stride_applies_to_training_windows_and_limit_counts_windows():
    text = " ".join(f"w{index % 7}" for index in range(200))
    data = TextDataConfig(context_length=4, val_fraction=0.1, test_fraction=0.2, stride=3)
    splits = next_word_from_text("cycle", text, data)
    assert len(splits.train) == (140 - 4 - 1) // 3 + 1
    assert (len(splits.val), len(splits.test)) == (20 - 4, 40 - 4)  # every word scored once
    limited = next_word_from_text("cycle", text, data.model_copy(update={"limit": 5}))
    assert (len(limited.train), len(limited.val), len(limited.test)) == (5, 5, 5)
    assert torch.equal(limited.train.labels, splits.train.labels[:5])
    assert isinstance(limited, NextWordSplits) and "next word after 4 words" in limited.summary()


def test_a_part_too_short_for_one_window_is_one_clear_error():
    text = " ".join(f"w{index}" for index in range(30))
    with pytest.raises(TrainlabError, match=r"words: the val part has 3 words, too few for one window of "
                                            r"data.context_length=5 words"):
        next_word_from_text("words", text, TextDataConfig(context_length=5, val_fraction=0.1, test_fraction=0.2))


def test_a_next_word_run_reports_perplexity_and_skips_per_class_files(tmp_path):
    config = build_config({
        "task": "text-classification",
        "data": {"source": "next-word-python", "sequence_length": 6, "max_vocab": 200, "limit": 300,
                 "batch_size": 64},
        "model": {"name": "gru", "embedding_dim": 8, "hidden_size": 8},
        "train": {"epochs": 1},
    })
    metrics = train_run(config, tmp_path / "run", quiet=True)
    assert metrics["test_perplexity"] == pytest.approx(math.exp(metrics["test_loss"]))
    assert metrics["val_perplexity"] == pytest.approx(math.exp(metrics["val_loss"]))
    assert not any(key.startswith("baseline_tfidf") for key in metrics)
    assert not (tmp_path / "run" / rundir.CONFUSION_FILE).exists()  # 200 x 200 counts per split
    mistakes = rundir.read_json(tmp_path / "run" / "confident_mistakes.json")
    assert mistakes["examples"] == 300
    assert mistakes["wrong"] == round((1 - metrics["test_accuracy"]) * 300)
    assert len(mistakes["most_confident"][0]["text"].split()) == 6
