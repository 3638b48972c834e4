"""The TF-IDF + logistic regression baseline on token ids: near-perfect where words give the class
away, identical to an sklearn pipeline on the words themselves, metrics equal to sklearn's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
)
from sklearn.pipeline import make_pipeline

from trainlab.config import TextDataConfig
from trainlab.data.sequence_batching import PackedSequences
from trainlab.data.text import TextSplits, load_text_source
from trainlab.metrics.classification import classification_report
from trainlab.models.tfidf import TfidfLogisticRegression, as_id_strings

CLASS_WORDS = {
    "sport": ["goal", "match", "team", "coach", "league"],
    "food": ["pasta", "bread", "cheese", "soup", "spicy"],
    "tech": ["laptop", "code", "chip", "server", "kernel"],
}
NEUTRAL_WORDS = [
    "the", "a", "was", "very", "today", "really", "quite", "some", "new", "old", "big", "small", "it", "and",
    "then",
]


def word_signal_texts(tmp_path, count: int = 300) -> TextSplits:
    """Texts of 4-12 neutral words with one or two words of their class's list among them."""
    generator = np.random.default_rng(0)
    rows = ["text,label"]
    classes = list(CLASS_WORDS)
    for index in range(count):
        label = classes[index % 3]
        words = list(generator.choice(NEUTRAL_WORDS, size=generator.integers(4, 13)))
        for _ in range(generator.integers(1, 3)):
            words.insert(generator.integers(len(words) + 1), generator.choice(CLASS_WORDS[label]))
        rows.append(f"{' '.join(words)},{label}")
    path = tmp_path / "topics.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    # No vocabulary cap: every training word keeps its own id, so ids and words are interchangeable.
    return load_text_source(TextDataConfig(source=str(path), val_fraction=0.0, test_fraction=0.3, max_vocab=None))


def as_word_strings(splits: TextSplits, sequences: PackedSequences) -> list[str]:
    return [" ".join(splits.vocab.decode(sequences[index].tolist())) for index in range(len(sequences))]


def test_near_perfect_and_equal_to_sklearn_on_the_words(tmp_path):
    splits = word_signal_texts(tmp_path)
    train, test = splits.train, splits.test
    baseline = TfidfLogisticRegression(C=10.0).fit(train.sequences, train.labels)
    report = baseline.evaluate(test.sequences, test.labels)
    assert report["accuracy"] >= 0.95

    reference = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+", sublinear_tf=True, min_df=2),
        LogisticRegression(C=10.0, max_iter=1000),
    ).fit(as_word_strings(splits, train.sequences), train.labels.numpy())
    test_words = as_word_strings(splits, test.sequences)
    assert np.array_equal(baseline.predict(test.sequences), reference.predict(test_words))
    # The same problem up to the order of the features; the solver stops within its tolerance.
    np.testing.assert_allclose(baseline.predict_proba(test.sequences), reference.predict_proba(test_words),
                               atol=1e-4)
    assert len(baseline.vectorizer.vocabulary_) == len(reference[0].vocabulary_)


def test_evaluate_matches_sklearn_metrics(tmp_path):
    splits = word_signal_texts(tmp_path, count=120)
    train, test = splits.train, splits.test
    baseline = TfidfLogisticRegression(C=0.05).fit(train.sequences, train.labels)  # weak: some mistakes
    report = baseline.evaluate(test.sequences, test.labels)
    target = test.labels.numpy()
    probabilities = baseline.predict_proba(test.sequences)
    predicted = probabilities.argmax(axis=1)
    assert set(report) == set(classification_report(torch.tensor([0]), torch.tensor([0]), 3)) | {"loss"}
    precision, recall, f1, _ = precision_recall_fscore_support(target, predicted, average="macro",
                                                               zero_division=0)
    assert report["accuracy"] == pytest.approx(accuracy_score(target, predicted))
    assert (report["macro_precision"], report["macro_recall"], report["macro_f1"]) == pytest.approx(
        (precision, recall, f1))
    assert report["confusion_matrix"] == confusion_matrix(target, predicted, labels=[0, 1, 2]).tolist()
    assert report["loss"] == pytest.approx(log_loss(target, probabilities, labels=[0, 1, 2]))
    assert report["accuracy"] < 1.0 and report["loss"] > 0.1  # the comparison above was not trivial


def test_id_strings_and_classes_missing_from_training():
    sequences = PackedSequences.from_sequences([[2, 3, 4], [5], [2, 3, 7, 7]])
    assert as_id_strings(sequences) == ["2 3 4", "5", "2 3 7 7"]
    with pytest.raises(ValueError, match="^the TF-IDF baseline is not fitted yet; call fit"):
        TfidfLogisticRegression().predict_proba(sequences)
    train = PackedSequences.from_sequences([[2, 3], [2, 3, 2], [4, 5], [5, 4, 4]])
    baseline = TfidfLogisticRegression(min_df=1, num_classes=4).fit(train, np.array([0, 0, 2, 2]))
    probabilities = baseline.predict_proba(sequences)
    assert probabilities.shape == (3, 4)
    assert np.all(probabilities[:, [1, 3]] == 0) and np.allclose(probabilities.sum(axis=1), 1)
    assert baseline.predict(PackedSequences.from_sequences([[2, 3], [4, 5]])).tolist() == [0, 2]


def test_scores_are_remembered_inside_a_study_only(tmp_path, monkeypatch):
    # A process-wide cache would leave state behind every run (issue 23); the study runner opens
    # the memory, and a run outside it fits the baseline every time.
    from trainlab.pipelines import text_classification

    splits = word_signal_texts(tmp_path)
    fits = []
    original_fit = TfidfLogisticRegression.fit
    monkeypatch.setattr(TfidfLogisticRegression, "fit",
                        lambda self, *args: fits.append(1) or original_fit(self, *args))
    first = text_classification.tfidf_baseline_scores(splits.train, splits.test)
    text_classification.tfidf_baseline_scores(splits.train, splits.test)
    assert len(fits) == 2
    with text_classification.remembered_tfidf_scores():
        inside = [text_classification.tfidf_baseline_scores(splits.train, splits.test) for _ in range(3)]
        text_classification.tfidf_baseline_scores(splits.test, splits.train)  # other splits: fitted again
    assert len(fits) == 4 and all(scores == first for scores in inside)
    text_classification.tfidf_baseline_scores(splits.train, splits.test)
    assert len(fits) == 5
