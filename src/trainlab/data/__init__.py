"""Datasets: load, validate, split and batch. Importing this package registers the builtin datasets."""

from trainlab.data import (  # noqa: F401  (register builtins)
    corpus,
    images,
    next_word,
    series_sources,
    synthetic,
    synthetic_reviews,
    text,
)
from trainlab.data.batching import TensorBatches, TransformedBatches
from trainlab.data.splits import ClassificationSplits, stratified_split

__all__ = ["ClassificationSplits", "TensorBatches", "TransformedBatches", "stratified_split"]
