"""Image classification data: the builtin benchmarks and the user's own image folders.

Every source gives `ClassificationSplits` whose images are uint8 (N, C, H, W) tensors (or float
tensors in [0, 1]); conversion to float, augmentation and normalisation happen per batch in
`trainlab.data.transforms`, with statistics from the training split only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.data.download import fetch, resources_of
from trainlab.data.image_folder import (
    ImageListing,
    class_names,
    common_size,
    is_split_layout,
    list_image_split,
)
from trainlab.data.image_formats import read_cifar10_archive, read_idx
from trainlab.data.image_stream import FileImages, held_or_streamed
from trainlab.data.splits import ClassificationSplits, stratified_split
from trainlab.errors import TrainlabError

Arrays = tuple[np.ndarray | FileImages, np.ndarray]  # images (N, C, H, W), labels (N,)


def assemble_splits(
    name: str,
    classes: list[str],
    train: Arrays,
    data: DataConfig,
    val: Arrays | None = None,
    test: Arrays | None = None,
) -> ClassificationSplits:
    """Split off whatever was not given separately, stratified by class, then shuffle each split.

    Without a separate test set, `data.test_fraction` and `data.val_fraction` are shares of all the
    examples; with one, `data.val_fraction` is a share of the training examples. Each split is put
    in a fixed random order (by `data.split_seed`) so that `data.limit=N` keeps a random N, not
    the first classes of a folder sorted by class.
    """
    images, labels = train
    val_share = 0.0 if val is not None else data.val_fraction
    test_share = 0.0 if test is not None else data.test_fraction
    train_index, val_index, test_index = stratified_split(labels, val_share, test_share, data.split_seed)
    if val is None and len(val_index):
        val = (images[val_index], labels[val_index])
    if test is None:
        test = (images[test_index], labels[test_index])
    train = (images[train_index], labels[train_index])
    if len(np.unique(train[1])) < 2:
        raise TrainlabError(f"{name}: the training split has only one class ({classes[train[1][0]]})")
    generator = np.random.default_rng(data.split_seed)

    def shuffled(pair: Arrays | None) -> tuple[torch.Tensor, torch.Tensor] | None:
        if pair is None:
            return None
        order = generator.permutation(len(pair[1]))
        images = pair[0][order]
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(np.ascontiguousarray(images))
        return images, torch.from_numpy(pair[1][order])

    splits = ClassificationSplits(name, shuffled(train), shuffled(val), shuffled(test), classes)
    return splits.with_classes(data.classes).with_train_examples(data.train_examples).limited(data.limit)


def _sklearn_data_file(name: str) -> Path:
    """A data file bundled with scikit-learn, found without importing sklearn.datasets (~2 s)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise TrainlabError("the digits dataset comes with scikit-learn: pip install scikit-learn")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name


def load_digits() -> Arrays:
    """scikit-learn's digits: float32 images (1797, 1, 8, 8) scaled to [0, 1] and int64 labels."""
    table = np.loadtxt(_sklearn_data_file("digits.csv.gz"), delimiter=",", dtype=np.float32)
    images = table[:, :64].reshape(-1, 1, 8, 8) / 16.0  # stored as 0..16
    return images, table[:, 64].astype(np.int64)


@registry.datasets.register(
    "digits", "scikit-learn's 1,797 8x8 handwritten digits (offline)", task="image-classification"
)
def digits(data: DataConfig) -> ClassificationSplits:
    return assemble_splits("digits", [str(digit) for digit in range(10)], load_digits(), data)


def _idx_builtin(dataset: str, classes: list[str], data: DataConfig) -> ClassificationSplits:
    paths = {resource.filename: fetch(resource) for resource in resources_of(dataset)}

    def read(prefix: str) -> np.ndarray:
        return read_idx(next(path for filename, path in paths.items() if filename.startswith(prefix)))

    train = (read("train-images")[:, None], read("train-labels").astype(np.int64))
    test = (read("t10k-images")[:, None], read("t10k-labels").astype(np.int64))
    return assemble_splits(dataset, classes, train, data, test=test)


@registry.datasets.register(
    "mnist", "MNIST handwritten digits, 60k+10k 28x28 (downloaded once)", task="image-classification"
)
def mnist(data: DataConfig) -> ClassificationSplits:
    return _idx_builtin("mnist", [str(digit) for digit in range(10)], data)


FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


@registry.datasets.register(
    "fashion-mnist", "Zalando's clothing images, 60k+10k 28x28 (downloaded once)", task="image-classification"
)
def fashion_mnist(data: DataConfig) -> ClassificationSplits:
    return _idx_builtin("fashion-mnist", FASHION_MNIST_CLASSES, data)


@registry.datasets.register(
    "cifar10", "CIFAR-10, 50k+10k 32x32 colour images (downloaded once)", task="image-classification"
)
def cifar10(data: DataConfig) -> ClassificationSplits:
    content = read_cifar10_archive(fetch(resources_of("cifar10")[0]))
    return assemble_splits("cifar10", content["classes"], content["train"], data, test=content["test"])


def load_image_folder(data: DataConfig) -> ClassificationSplits:
    """`data.source` as a folder of class folders, or of train/ (val/, test/) folders of them.

    `data.val` / `data.test` name separate folders for those splits; otherwise they are taken from
    `root/val`, `root/test`, or split off the training images.
    """
    root = Path(data.source)
    if root.is_file():
        raise TrainlabError(f"--data {root}: images come from a folder of class subfolders, not a file")
    if not root.is_dir():
        builtin = [entry.name for entry in registry.datasets.entries() if entry.task == "image-classification"]
        raise TrainlabError(
            f"--data {root}: neither a builtin image dataset ({', '.join(builtin)}) nor a folder"
        )
    train_root = root / "train" if is_split_layout(root) else root
    paths = {"train": train_root}
    for split in ("val", "test"):
        given = getattr(data, split)
        if given is not None:
            paths[split] = _existing_folder(given, f"data.{split}")
        elif train_root != root and (root / split).is_dir():
            paths[split] = root / split
    classes = class_names(train_root)
    listings: dict[str, ImageListing] = {
        split: list_image_split(path, classes, data.strict) for split, path in paths.items()
    }
    missing = sorted(set(range(len(classes))) - set(listings["train"].labels.tolist()))
    if missing:
        raise TrainlabError(f"{train_root}: no readable images for class {classes[missing[0]]}")
    size = data.image_size or common_size(list(listings.values()), root)
    rgb = data.color == "rgb" or (data.color == "auto" and any(listing.colour for listing in listings.values()))
    pairs = {split: (FileImages.of(listing.files, size, 3 if rgb else 1), listing.labels)
             for split, listing in listings.items()}
    splits = assemble_splits(root.resolve().name, classes, pairs["train"], data, pairs.get("val"), pairs.get("test"))
    return held_or_streamed(splits, data)


def _existing_folder(path: str, option: str) -> Path:
    folder = Path(path)
    if not folder.is_dir():
        raise TrainlabError(f"{option}={path}: no such folder; give a folder of class subfolders")
    return folder


def load_image_source(data: DataConfig) -> ClassificationSplits:
    """A builtin image dataset by name, or a folder path (`trainlab.data.sources` checked which)."""
    if data.source in registry.datasets:
        if data.in_memory is False:
            raise TrainlabError(
                f"data.in_memory=false: {data.source} is a builtin dataset, read whole from its archive; "
                "streaming is for image folders (leave data.in_memory=auto)"
            )
        return registry.datasets.get(data.source)(data)
    return load_image_folder(data)
