"""Datasets: load, validate, split and batch. `trainlab.data.builtins` registers the builtin datasets."""

from trainlab.data.batching import TensorBatches, TransformedBatches
from trainlab.data.splits import ClassificationSplits, stratified_split

__all__ = ["ClassificationSplits", "TensorBatches", "TransformedBatches", "stratified_split"]
