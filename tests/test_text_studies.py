"""The generated review corpus, the confidently-wrong table, and the `sentiment` and
`rnn-vs-lstm-vs-gru` studies at tiny scale (their full quick-scale runs are marked slow)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from trainlab import rundir, studies
from trainlab.config import build_config
from trainlab.data.synthetic_reviews import (
    INTENSIFIERS,
    NEGATIONS,
    NEGATIVE,
    POSITIVE,
    SENTIMENT_CLASSES,
    synthetic_reviews,
)
from trainlab.metrics.statistics import estimate
from trainlab.pipelines import build_pipeline
from trainlab.pipelines.text_classification import prediction_confidences
from trainlab.rundir import CONFIDENT_MISTAKES_FILE
from trainlab.studies import sentiment as sentiment_study
from trainlab.studies.rnn_vs_lstm_vs_gru import CELLS, TASKS

# ---------------------------------------------------------------- the generated corpus


def reference_score(review: str) -> int:
    """The sum of the phrase scores, read back from the words: +-1 per adjective, doubled by an
    intensifier just before it, flipped by a negation before that (or just before it)."""
    total = 0
    words = review.split()
    for index, word in enumerate(words):
        if word not in POSITIVE and word not in NEGATIVE:
            continue
        score = 1 if word in POSITIVE else -1
        before = words[max(0, index - 2) : index]
        if before and before[-1] in INTENSIFIERS:
            score *= 2
        if any(previous in NEGATIONS for previous in before):
            score = -score
        total += score
    return total


def test_synthetic_reviews_are_deterministic_balanced_and_labelled_by_their_words():
    first, again, other = synthetic_reviews(301, seed=3), synthetic_reviews(301, seed=3), synthetic_reviews(301, seed=4)
    assert first.texts == again.texts and first.labels == again.labels
    assert first.texts != other.texts
    assert first.labels.count("pos") == 150 and first.labels.count("neg") == 151
    for text, label in zip(first.texts, first.labels):
        score = reference_score(text)
        assert score != 0 and SENTIMENT_CLASSES[int(score > 0)] == label, text
    # Negation is common and sometimes hidden from bigrams by an intensifier ("not very good").
    negated = sum(bool(re.search(r"\b(not|never) (\w+ )?(" + "|".join(POSITIVE + NEGATIVE) + r")\b", text))
                  for text in first.texts)
    hidden = sum(bool(re.search(r"\b(not|never) (" + "|".join(INTENSIFIERS) + r") ", text)) for text in first.texts)
    assert negated > 100 and hidden > 30


def test_synthetic_reviews_need_two_examples():
    with pytest.raises(ValueError, match="count must be >= 2"):
        synthetic_reviews(1)


# ---------------------------------------------------------------- confidently wrong examples


class LengthLogits(nn.Module):
    """Logits that depend on the length only: [L / 10 - 3, 3 - L / 10]."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.1))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        score = lengths.float() * self.scale - 3
        return torch.stack([score, -score], dim=1)


def test_confident_mistakes_are_the_wrong_predictions_sorted_by_confidence():
    config = build_config({"task": "text-classification",
                           "data": {"source": "synthetic-reviews", "num_examples": 120, "batch_size": 16}})
    pipeline = build_pipeline(config)
    model = LengthLogits().train()
    table = pipeline.confident_mistakes(model, kept=5)
    assert model.training  # put back as it was

    lengths = pipeline.data.test.lengths.double().numpy()
    score = lengths * 0.1 - 3
    logits = np.stack([score, -score], axis=1)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    predicted, labels = probabilities.argmax(axis=1), pipeline.data.test.labels.numpy()
    wrong = [index for index in range(len(labels)) if predicted[index] != labels[index]]
    expected = sorted(wrong, key=lambda index: (-probabilities[index].max(), index))[:5]
    assert table["examples"] == len(labels) and table["wrong"] == len(wrong)
    assert [entry["index"] for entry in table["most_confident"]] == expected
    encoder = pipeline.data.encoder()
    for entry in table["most_confident"]:
        index = entry["index"]
        assert entry["text"] == encoder.decode(pipeline.data.test.sequences[index].tolist())
        assert entry["true_label"] == pipeline.classes[labels[index]]
        assert entry["predicted_label"] == pipeline.classes[predicted[index]]
        assert entry["confidence"] == pytest.approx(probabilities[index].max(), abs=1e-6)
        assert entry["true_label_probability"] == pytest.approx(probabilities[index, labels[index]], abs=1e-6)
    confidence, predicted_classes, _ = prediction_confidences(model, pipeline.test_batches)
    assert torch.equal(predicted_classes, torch.from_numpy(predicted))
    assert torch.allclose(confidence.double(), torch.from_numpy(probabilities.max(axis=1)), atol=1e-6)


# ---------------------------------------------------------------- which data the studies use


@pytest.fixture
def offline_machine(monkeypatch, tmp_path):
    """A machine with no IMDB (neither shared nor cached) and a small GloVe-format file."""
    shared = tmp_path / "shared"
    glove = shared / sentiment_study.GLOVE_FILE
    glove.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    words = POSITIVE + NEGATIVE + INTENSIFIERS + NEGATIONS + ("the", "movie", "was", ".")
    glove.write_text("".join(f"{word} {' '.join(f'{x:.4f}' for x in rng.normal(size=50))}\n" for word in words))
    monkeypatch.setenv("TRAINLAB_SHARED_DATA", str(shared))
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "cache"))
    return shared


def test_quick_data_is_imdb_when_on_the_machine_else_generated(offline_machine):
    data, note = sentiment_study.quick_review_data()
    assert data["source"] == "synthetic-reviews" and "generated reviews" in note
    imdb = offline_machine / "imdb"
    imdb.mkdir()
    for name in ("train.csv", "test.csv"):
        (imdb / name).write_text("id,rating,label,text\n1,9,1,great\n")
    data, note = sentiment_study.quick_review_data()
    assert data["source"] == str(imdb / "train.csv") and data["test"] == str(imdb / "test.csv")
    assert note.startswith("IMDB reviews of")


def test_without_glove_the_glove_arm_is_left_out_and_the_note_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINLAB_SHARED_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "cache"))
    plan = sentiment_study.sentiment("quick")
    assert [arm.name for arm in plan.arms] == ["base", "bilstm", "dropout", "pool-last", "pool-max",
                                               "pool-attention"]
    assert "the GloVe arm was left out" in plan.data_note
    assert ("glove", "base") not in plan.comparisons


# ---------------------------------------------------------------- the studies, tiny


def test_sentiment_study_tiny(offline_machine, tmp_path):
    overrides = [("train.epochs", 1), ("data.num_examples", 160), ("model.hidden_size", 8)]
    study_dir, summary = studies.run("sentiment", "quick", seeds=1, study_dir=tmp_path / "study",
                                     overrides=overrides, quiet=True)
    arms = ["base", "bilstm", "dropout", "glove", "pool-last", "pool-max", "pool-attention"]
    assert [row["arm"] for row in summary["rows"]] == [*arms, "baseline:tfidf"]
    assert summary["metrics"] == ["test_accuracy", "test_macro_precision", "test_macro_recall", "test_macro_f1",
                                  "test_loss"]
    assert "generated reviews" in summary["data"] and str(offline_machine) in summary["data"]
    assert [(c["a"], c["b"]) for c in summary["comparisons"]] == [(arm, "base") for arm in arms[1:]]
    base_metrics = rundir.read_json(study_dir / "base" / "seed-0" / "metrics.json")
    baseline = summary["rows"][-1]
    assert baseline["test_accuracy"]["mean"] == base_metrics["baseline_tfidf_accuracy"]
    for row in summary["rows"][:-1]:
        metrics = rundir.read_json(study_dir / row["arm"] / "seed-0" / "metrics.json")
        assert row["test_macro_f1"]["mean"] == metrics["test_macro_f1"]
        # The same tokens for every arm: the same baseline.
        assert metrics["baseline_tfidf_accuracy"] == base_metrics["baseline_tfidf_accuracy"]
    glove_config = rundir.read_json(study_dir / "glove" / "seed-0" / "data.json")
    assert glove_config["pretrained_embedding_dim"] == 50
    networks = summary["rows"][:-1]
    assert summary["best_arm"] == max(networks, key=lambda row: row["test_accuracy"]["mean"])["arm"]
    mistakes = rundir.read_json(study_dir / summary["best_arm"] / "seed-0" / CONFIDENT_MISTAKES_FILE)
    assert len(mistakes["most_confident"]) == min(20, mistakes["wrong"])
    assert (study_dir / "plots" / "confusion_matrix.png").is_file()
    assert (study_dir / "plots" / "confident_mistakes.png").is_file()
    assert "Changes from the base" in summary["finding"]


def test_rnn_vs_lstm_vs_gru_study_tiny(offline_machine, tmp_path):
    overrides = [("train.epochs", 1), ("data.limit", 120), ("data.num_examples", 200),
                 ("data.backtest_stride", 10), ("model.hidden_size", 8)]
    study_dir, summary = studies.run("rnn-vs-lstm-vs-gru", "quick", seeds=1, study_dir=tmp_path / "study",
                                     overrides=overrides, quiet=True)
    assert [row["arm"] for row in summary["rows"]] == [f"{task}-{cell}" for task in TASKS for cell in CELLS]
    rows = {row["arm"]: row for row in summary["rows"]}
    for row in summary["rows"]:
        metrics = rundir.read_json(study_dir / row["arm"] / "seed-0" / "metrics.json")
        assert row["task"] == row["arm"].split("-")[0]
        assert row["seconds_per_epoch"]["mean"] == pytest.approx(metrics["train_seconds"] / metrics["epochs"])
        if row["task"] == "series":
            assert row["test_accuracy"] is None and row["test_mase"]["mean"] == metrics["test_mase"]
        else:
            assert row["test_accuracy"]["mean"] == metrics["test_accuracy"]
    for cell in CELLS:
        row = rows[f"lm-{cell}"]
        assert row["test_perplexity"] == estimate([math.exp(row["test_loss"]["mean"])]).to_dict()
    for task in TASKS:  # an LSTM step has four gate blocks, a GRU three, a plain RNN one
        assert rows[f"{task}-rnn"]["params"] < rows[f"{task}-gru"]["params"] < rows[f"{task}-lstm"]["params"]
    compared = {(c["a"], c["b"], c["metric"]) for c in summary["comparisons"]}
    assert ("lm-gru", "lm-lstm", "test_perplexity") in compared and ("series-lstm", "series-rnn", "test_mase") in compared
    assert set(summary["best_by_task"]) == set(TASKS)
    assert "seconds_per_epoch" in summary["metrics"] and "epochs" not in summary["metrics"]
    for figure in ("task_metrics.png", "cost.png", "learning_curves.png"):
        assert (study_dir / "plots" / figure).is_file()
    assert "Seconds per epoch relative to the RNN" in summary["finding"]


# ---------------------------------------------------------------- the quick scale, whole (slow)


@pytest.mark.slow
def test_sentiment_quick_scale(tmp_path):
    _, summary = studies.run("sentiment", "quick", study_dir=tmp_path / "study", quiet=True)
    print(summary["data"], "\n", summary["finding"])
    rows = {row["arm"]: row for row in summary["rows"]}
    accuracy = {arm: row["test_accuracy"]["mean"] for arm, row in rows.items()}
    print({arm: round(value, 4) for arm, value in accuracy.items()})
    networks = {arm: value for arm, value in accuracy.items() if arm != "baseline:tfidf"}
    if summary["data"].startswith("IMDB"):
        # 100-word reviews, 3 epochs: read at the last token the LSTM is still at chance, pooled over
        # every step it learns; TF-IDF on 2,000 reviews stays ahead of all of them.
        assert accuracy["pool-last"] < 0.6 < accuracy["base"] - 0.05
        assert all(value > 0.65 for arm, value in networks.items() if arm != "pool-last")
        assert accuracy["baseline:tfidf"] > max(networks.values())
    else:
        # Generated reviews: negations make word order matter, and the recurrent models win.
        assert min(networks.values()) > accuracy["baseline:tfidf"] + 0.03


def unigram_perplexity(splits) -> float:
    """The test perplexity of next-word = the training frequency of the word (add-one smoothing)."""
    counts = torch.bincount(splits.train.labels, minlength=len(splits.classes)).double() + 1
    log_probability = (counts / counts.sum()).log()
    return math.exp(-log_probability[splits.test.labels].mean().item())


@pytest.mark.slow
def test_rnn_vs_lstm_vs_gru_quick_scale(tmp_path):
    from trainlab.config import TextDataConfig
    from trainlab.data.next_word import next_word_python
    from trainlab.studies.rnn_vs_lstm_vs_gru import quick_settings

    study_dir, summary = studies.run("rnn-vs-lstm-vs-gru", "quick", study_dir=tmp_path / "study", quiet=True)
    print(summary["finding"])
    rows = {row["arm"]: row for row in summary["rows"]}
    for arm, row in rows.items():
        shown = {metric: round(row[metric]["mean"], 4) for metric in summary["metrics"] if row.get(metric)}
        print(arm, row["params"], shown)
    reference = unigram_perplexity(next_word_python(TextDataConfig(**quick_settings()[0]["lm"]["data"])))
    naive = rundir.read_json(study_dir / "series-rnn" / "seed-0" / "metrics.json")["baseline_naive_mase"]
    print(f"unigram perplexity {reference:.1f}, naive MASE {naive:.3f}")
    for cell in CELLS:
        assert rows[f"text-{cell}"]["test_accuracy"]["mean"] > 0.6
        # Well below the unigram model of the same training windows (3 epochs: far from converged).
        assert rows[f"lm-{cell}"]["test_perplexity"]["mean"] < 0.7 * reference
        assert rows[f"series-{cell}"]["test_mase"]["mean"] < naive
