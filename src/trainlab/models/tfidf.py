"""The classical baseline of the text reports: TF-IDF of word 1-2 grams + logistic regression (sklearn).

It reads the same token ids as the networks, so it sees the same tokenizer, vocabulary and length
cap: each sequence becomes a string of ids ("12 7 431") split on whitespace, and a bigram is a pair
of neighbouring ids. `<unk>` (1) is a token like any other, as it is for the networks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from trainlab.data.sequence_batching import PackedSequences
from trainlab.metrics.classification import classification_report
from trainlab.runs import atomic_write_text, give_default_mode

# A probability this small stands for 0 in the log loss, so one confident mistake is large, not inf.
LOG_LOSS_FLOOR = 1e-15


def as_id_strings(sequences: PackedSequences) -> list[str]:
    """Each sequence's ids as one space-separated string, the documents of the vectorizer."""
    pieces = np.split(sequences.tokens.numpy(), sequences.offsets[1:-1].numpy())
    return [" ".join(map(str, piece.tolist())) for piece in pieces]


class TfidfLogisticRegression:
    """TF-IDF (sublinear tf, 1-2 grams, ids seen in >= `min_df` training texts) + logistic regression.

    Args:
        C: inverse L2 regularisation strength of the logistic regression.
        num_classes: columns of `predict_proba`; None: the largest training label + 1. Classes
            absent from the training labels get probability 0.
    """

    def __init__(
        self,
        C: float = 1.0,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        max_iter: int = 1000,
        num_classes: int | None = None,
    ):
        # sklearn is imported when a baseline is made, not with the text task (`trainlab predict`).
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.C = C
        self.num_classes = num_classes
        self.vectorizer = TfidfVectorizer(
            ngram_range=ngram_range, token_pattern=r"\S+", sublinear_tf=True, min_df=min_df, lowercase=False
        )
        self.classifier = LogisticRegression(C=C, max_iter=max_iter)

    def fit(self, sequences: PackedSequences, labels: torch.Tensor | np.ndarray) -> TfidfLogisticRegression:
        """Learn the vocabulary of n-grams, their IDF weights and the classifier on training texts."""
        labels = np.asarray(labels)
        if len(labels) != len(sequences):
            raise ValueError(f"{len(sequences)} sequences but {len(labels)} labels")
        if len(np.unique(labels)) < 2:
            raise ValueError("the TF-IDF baseline needs training labels of two or more classes")
        if self.num_classes is None:
            self.num_classes = int(labels.max()) + 1
        features = self.vectorizer.fit_transform(as_id_strings(sequences))
        self.classifier.fit(features, labels)
        return self

    def predict_proba(self, sequences: PackedSequences) -> np.ndarray:
        """(N, num_classes) class probabilities."""
        if not hasattr(self.classifier, "classes_"):
            raise ValueError("the TF-IDF baseline is not fitted yet; call fit(train_sequences, labels) first")
        seen = self.classifier.predict_proba(self.vectorizer.transform(as_id_strings(sequences)))
        probabilities = np.zeros((len(sequences), self.num_classes))
        probabilities[:, self.classifier.classes_] = seen
        return probabilities

    def predict(self, sequences: PackedSequences) -> np.ndarray:
        """(N,) most probable class of each sequence."""
        return self.predict_proba(sequences).argmax(axis=1)

    def evaluate(self, sequences: PackedSequences, labels: torch.Tensor | np.ndarray) -> dict:
        """`classification_report` (accuracy, macro precision/recall/F1, confusion matrix) plus
        `loss`, the mean negative log-likelihood of the true classes (natural log)."""
        probabilities = self.predict_proba(sequences)
        target = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        predicted = torch.from_numpy(probabilities.argmax(axis=1))
        report = classification_report(predicted, target, self.num_classes)
        true_class = probabilities[np.arange(len(target)), target.numpy()]
        report["loss"] = float(-np.log(np.maximum(true_class, LOG_LOSS_FLOOR)).mean())
        return report

    def saved(self) -> SavedTfidf:
        """The fitted baseline as plain arrays, which score new texts without sklearn."""
        if not hasattr(self.classifier, "classes_"):
            raise ValueError("the TF-IDF baseline is not fitted yet; call fit(train_sequences, labels) first")
        vocabulary = self.vectorizer.vocabulary_
        ngrams = [""] * len(vocabulary)
        for ngram, column in vocabulary.items():
            ngrams[column] = ngram
        return SavedTfidf(ngrams, self.vectorizer.idf_.astype(np.float64), self.classifier.coef_.astype(np.float64),
                          self.classifier.intercept_.astype(np.float64),
                          self.classifier.classes_.astype(np.int64), int(self.num_classes))


class SavedTfidf:
    """A fitted `TfidfLogisticRegression` as arrays: its n-grams (ids joined by spaces, in column
    order), their IDF weights, the classifier's coefficients (1 row for two classes, else one per
    class), intercepts and the classes it saw. `predict_proba` computes what sklearn's does:
    counts of the known n-grams, 1 + log(count), times IDF, scaled to unit length, then the
    logistic (two classes) or softmax of the linear scores."""

    def __init__(self, ngrams: list[str], idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 classes: np.ndarray, num_classes: int):
        self.ngrams, self.idf, self.coef, self.intercept = ngrams, idf, coef, intercept
        self.classes, self.num_classes = classes, num_classes
        self.columns = {ngram: column for column, ngram in enumerate(ngrams)}
        self.longest = max((ngram.count(" ") + 1 for ngram in ngrams), default=1)

    def predict_proba(self, sequences: PackedSequences) -> np.ndarray:
        """(N, num_classes) class probabilities."""
        probabilities = np.zeros((len(sequences), self.num_classes))
        for row, text in enumerate(as_id_strings(sequences)):
            scores = self.intercept.copy()
            features = self._features(text.split())
            if features is not None:
                columns, values = features
                scores += self.coef[:, columns] @ values
            if len(scores) == 1:  # two classes: the logistic of the second class's score
                seen = np.array([1 / (1 + np.exp(scores[0])), 1 / (1 + np.exp(-scores[0]))])
            else:
                exponentials = np.exp(scores - scores.max())
                seen = exponentials / exponentials.sum()
            probabilities[row, self.classes] = seen
        return probabilities

    def _features(self, ids: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """The columns and values of one text's TF-IDF row (None when it has no known n-gram)."""
        found = [self.columns.get(" ".join(ids[start : start + size]))
                 for size in range(1, self.longest + 1) for start in range(len(ids) - size + 1)]
        known = np.array([column for column in found if column is not None], dtype=np.int64)
        if not len(known):
            return None
        columns, counts = np.unique(known, return_counts=True)
        values = (1 + np.log(counts)) * self.idf[columns]
        return columns, values / np.linalg.norm(values)

    def save(self, arrays_path: Path, ngrams_path: Path) -> None:
        """The arrays as safetensors at `arrays_path`, the n-grams as JSON at `ngrams_path`."""
        from safetensors.torch import save_file

        tensors = {"idf": self.idf, "coef": self.coef, "intercept": self.intercept, "classes": self.classes}
        atomic_write_text(ngrams_path, json.dumps({"num_classes": self.num_classes, "ngrams": self.ngrams}))
        temporary = arrays_path.with_name(arrays_path.name + ".tmp")
        save_file({name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in tensors.items()},
                  str(temporary))
        give_default_mode(temporary)
        temporary.replace(arrays_path)

    @classmethod
    def load(cls, arrays_path: Path, ngrams_path: Path) -> SavedTfidf:
        from safetensors.torch import load_file

        tensors = {name: tensor.numpy() for name, tensor in load_file(str(arrays_path)).items()}
        listed = json.loads(ngrams_path.read_text())
        return cls(listed["ngrams"], tensors["idf"], tensors["coef"], tensors["intercept"], tensors["classes"],
                   listed["num_classes"])
