"""Classification metrics from predicted and true class indices.

Macro averages follow scikit-learn's conventions: every class in `num_classes` counts, and a class
with no predicted (or no true) examples contributes a precision (or recall) of 0.
"""

from __future__ import annotations

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
