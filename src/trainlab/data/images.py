"""Image datasets. For now the offline builtin: scikit-learn's 8x8 handwritten digits."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.errors import TrainlabError
from trainlab.data.splits import ClassificationSplits, stratified_split


def _sklearn_data_file(name: str) -> Path:
    """A data file bundled with scikit-learn, found without importing sklearn.datasets (~2 s)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise TrainlabError("the digits dataset comes with scikit-learn: pip install scikit-learn")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name


@registry.datasets.register(
    "digits", "scikit-learn's 1,797 8x8 handwritten digits (offline)", task="image-classification"
)
def digits(data: DataConfig) -> ClassificationSplits:
    return load_digits(data.val_fraction, data.test_fraction, data.split_seed)


def load_digits(
    val_fraction: float = 0.1, test_fraction: float = 0.2, split_seed: int = 0
) -> ClassificationSplits:
    """The digits as (N, 1, 8, 8) float images standardised with training-split statistics."""
    table = np.loadtxt(_sklearn_data_file("digits.csv.gz"), delimiter=",", dtype=np.float32)
    images = table[:, :64].reshape(-1, 1, 8, 8)  # (N, 1, 8, 8), values 0..16
    labels = table[:, 64].astype(np.int64)
    train, val, test = stratified_split(labels, val_fraction, test_fraction, split_seed)
    mean, std = images[train].mean(), images[train].std()

    def pair(indices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy((images[indices] - mean) / std), torch.from_numpy(labels[indices])

    return ClassificationSplits(
        name="digits",
        train=pair(train),
        val=pair(val) if len(val) else None,
        test=pair(test),
        classes=[str(digit) for digit in range(10)],
    )
