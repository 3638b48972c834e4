"""Classification metrics from predicted and true class indices.

Macro averages follow scikit-learn's conventions: every class in `num_classes` counts, and a class
with no predicted (or no true) examples contributes a precision (or recall) of 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def confusion_matrix(predicted: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(num_classes, num_classes) counts; row = true class, column = predicted class."""
    flat = target.long() * num_classes + predicted.long()
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def accuracy(predicted: torch.Tensor, target: torch.Tensor) -> float:
    return (predicted == target).double().mean().item()


def per_class_precision_recall_f1(confusion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Precision, recall and F1 of each class (num_classes,) from a confusion matrix (row = true
    class), as sklearn's `precision_recall_fscore_support(..., zero_division=0)`."""
    confusion = torch.as_tensor(confusion).double()
    true_positives = confusion.diagonal()
    precision = _safe_divide(true_positives, confusion.sum(dim=0))
    recall = _safe_divide(true_positives, confusion.sum(dim=1))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return precision, recall, f1


def macro_precision_recall_f1(confusion: torch.Tensor) -> tuple[float, float, float]:
    """Unweighted means over classes of precision, recall and F1 (sklearn `average='macro'`)."""
    precision, recall, f1 = per_class_precision_recall_f1(confusion)
    return precision.mean().item(), recall.mean().item(), f1.mean().item()


def _safe_divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    return torch.where(denominator > 0, numerator / denominator.clamp(min=1e-300), 0.0)


def classification_report(
    predicted: torch.Tensor, target: torch.Tensor, num_classes: int
) -> dict[str, float | list[list[int]]]:
    """accuracy, macro precision/recall/F1 and the confusion matrix (as nested lists)."""
    confusion = confusion_matrix(predicted, target, num_classes)
    precision, recall, f1 = macro_precision_recall_f1(confusion)
    return {
        "accuracy": accuracy(predicted, target),
        "macro_precision": precision,
        "macro_recall": recall,
        "macro_f1": f1,
        "confusion_matrix": confusion.tolist(),
    }


def binary_curves(scores: Any, labels: Any) -> dict[str, Any] | None:
    """The ROC curve with its area and the precision-recall curve with its average precision, for
    `labels` (1: the positive class) ranked by `scores` (the positive class's probability), as
    scikit-learn computes them; None when the labels hold one class only (both are undefined)."""
    from sklearn import metrics  # slow import: only two-class runs need it

    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        return None
    false_positive_rate, true_positive_rate, _ = metrics.roc_curve(labels, scores)
    precision, recall, _ = metrics.precision_recall_curve(labels, scores)
    return {
        "roc": {"false_positive_rate": false_positive_rate.tolist(), "true_positive_rate": true_positive_rate.tolist(),
                "auc": float(metrics.roc_auc_score(labels, scores))},
        "precision_recall": {"precision": precision.tolist(), "recall": recall.tolist(),
                             "average_precision": float(metrics.average_precision_score(labels, scores)),
                             "positive_share": float(labels.mean())},
    }
