"""Datasets: load, validate, split and batch. Importing this package registers the builtin datasets."""

from trainlab.data.batching import TensorBatches
from trainlab.data.images import load_digits
from trainlab.data.splits import ClassificationSplits, stratified_split

__all__ = ["ClassificationSplits", "TensorBatches", "load_digits", "stratified_split"]
