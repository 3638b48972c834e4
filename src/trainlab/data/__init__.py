"""Datasets: load, validate, split and batch. Importing this package registers the builtin datasets."""

from trainlab.data import corpus, images, series_sources, synthetic, text  # noqa: F401  (register builtins)
from trainlab.data.batching import TensorBatches, TransformedBatches
from trainlab.data.splits import ClassificationSplits, stratified_split

__all__ = ["ClassificationSplits", "TensorBatches", "TransformedBatches", "stratified_split"]
