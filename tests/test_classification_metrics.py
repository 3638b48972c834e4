"""Classification metrics against scikit-learn, with an odd class count and empty classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from trainlab.metrics.classification import (
    classification_report,
    confusion_matrix,
    per_class_precision_recall_f1,
)

NUM_CLASSES = 7


def predictions(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    target = torch.randint(0, NUM_CLASSES - 1, (200,), generator=generator)  # class 6 never true
    predicted = torch.randint(0, NUM_CLASSES, (200,), generator=generator)
    predicted[predicted == 3] = 4  # class 3 never predicted
    return predicted, target


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_report_matches_sklearn(seed):
    predicted, target = predictions(seed)
    report = classification_report(predicted, target, NUM_CLASSES)
    labels = list(range(NUM_CLASSES))
    precision, recall, f1, _ = sk.precision_recall_fscore_support(
        target.numpy(), predicted.numpy(), labels=labels, average="macro", zero_division=0
    )
    assert report["accuracy"] == pytest.approx(sk.accuracy_score(target, predicted), abs=1e-12)
    assert report["macro_precision"] == pytest.approx(precision, abs=1e-12)
    assert report["macro_recall"] == pytest.approx(recall, abs=1e-12)
    assert report["macro_f1"] == pytest.approx(f1, abs=1e-12)
    np.testing.assert_array_equal(
        np.array(report["confusion_matrix"]), sk.confusion_matrix(target, predicted, labels=labels)
    )


def test_confusion_matrix_rows_are_true_classes():
    matrix = confusion_matrix(torch.tensor([1, 1, 0]), torch.tensor([0, 1, 0]), num_classes=2)
    assert matrix.tolist() == [[1, 1], [0, 1]]


@pytest.mark.parametrize("seed", [0, 1])
def test_per_class_scores_match_sklearn(seed):
    predicted, target = predictions(seed)  # class 3 never predicted, class 6 never true: both score 0
    ours = per_class_precision_recall_f1(confusion_matrix(predicted, target, NUM_CLASSES).tolist())
    expected = sk.precision_recall_fscore_support(target.numpy(), predicted.numpy(), labels=list(range(NUM_CLASSES)),
                                                  zero_division=0)[:3]
    for mine, theirs in zip(ours, expected):
        np.testing.assert_allclose(mine.numpy(), theirs, atol=1e-12)
