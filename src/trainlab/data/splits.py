"""Train/validation/test splits without leakage."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from trainlab.errors import TrainlabError

Pair = tuple[torch.Tensor, torch.Tensor]


@dataclass
class ClassificationSplits:
    """Inputs and integer targets per split; `val` is None when no validation split was asked for."""

    name: str
    train: Pair
    val: Pair | None
    test: Pair
    classes: list[str]
    storage: str | None = None  # how the images are kept (image folders: held in memory or streamed)

    def limited(self, limit: int | None) -> ClassificationSplits:
        """The first `limit` examples of each split (quick trials)."""
        if limit is None:
            return self

        def head(pair: Pair | None) -> Pair | None:
            return None if pair is None else (pair[0][:limit], pair[1][:limit])

        return replace(self, train=head(self.train), val=head(self.val), test=head(self.test))

    def with_classes(self, names: list[str] | None) -> ClassificationSplits:
        """Only the examples of the classes `names`, relabelled 0..k-1 in that order (transfer
        learning: pretrain on some classes, fine-tune on the others)."""
        if names is None:
            return self
        unknown = [name for name in names if name not in self.classes]
        if unknown or len(set(names)) != len(names) or len(names) < 2:
            raise TrainlabError(
                f"data.classes=[{', '.join(names)}]: give two or more distinct classes of {self.name} "
                f"({', '.join(self.classes)})" + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        relabel = torch.full((len(self.classes),), -1, dtype=torch.int64)
        for new, name in enumerate(names):
            relabel[self.classes.index(name)] = new

        def keep(pair: Pair | None) -> Pair | None:
            if pair is None:
                return None
            labels = relabel[pair[1]]
            kept = labels >= 0
            return pair[0][kept], labels[kept]

        return replace(self, train=keep(self.train), val=keep(self.val), test=keep(self.test), classes=list(names))

    def with_train_examples(self, count: int | None) -> ClassificationSplits:
        """The first `count` training examples; validation and test stay whole (learning curves)."""
        if count is None:
            return self
        train = (self.train[0][:count], self.train[1][:count])
        return replace(self, train=train)

    def summary(self) -> str:
        sizes = [f"train {len(self.train[1])}"]
        if self.val is not None:
            sizes.append(f"val {len(self.val[1])}")
        sizes.append(f"test {len(self.test[1])}")
        shape = "x".join(str(size) for size in self.train[0].shape[1:])
        line = f"{self.name}: {', '.join(sizes)}; {len(self.classes)} classes; inputs {shape}"
        return line if self.storage is None else f"{line}\n{self.storage}"


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted indices of train, validation and test examples; each class is split by the fractions.

    Per class, round(n * test_fraction) examples go to test and round(n * val_fraction) to
    validation, chosen at random by `seed`; the rest train. (scikit-learn's train_test_split does
    the same job but costs two seconds of import on every command.)
    """
    generator = np.random.default_rng(seed)
    parts: tuple[list, list, list] = ([], [], [])
    for label in np.unique(labels):
        members = generator.permutation(np.flatnonzero(labels == label))
        n_test = round(len(members) * test_fraction)
        n_val = round(len(members) * val_fraction)
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    train, val, test = (np.sort(np.concatenate(part)).astype(np.int64) for part in parts)
    return train, val, test
