"""Readers of the benchmarks' original formats (IDX, the CIFAR-10 python tarball) and the builtins."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import struct
import tarfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from trainlab import registry
from trainlab.config import ImageDataConfig
from trainlab.data import images as image_datasets
from trainlab.data.image_formats import read_cifar10_archive, read_idx
from trainlab.errors import TrainlabError

# Published per-digit counts of the official MNIST files (e.g. the MNIST page, tf.keras docs).
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def write_idx(path: Path, type_code: int, shape: tuple[int, ...], payload: bytes, compress=False) -> Path:
    """An IDX file written by hand from the format's description (magic, big-endian sizes, values)."""
    header = bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    content = header + payload
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


# MNIST's real files


def test_mnist_test_images_and_labels_have_the_official_shapes_and_class_counts(shared_data):
    raw = shared_data / "mnist" / "raw"
    images = read_idx(raw / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(raw / "t10k-labels-idx1-ubyte.gz")
    train_labels = read_idx(raw / "train-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.min() == 0 and labels.max() == 9
    assert np.bincount(labels).tolist() == MNIST_TEST_COUNTS
    assert np.bincount(train_labels).tolist() == MNIST_TRAIN_COUNTS
    # The raw bytes after the 16-byte header, read independently, are the pixels in row-major order.
    with gzip.open(raw / "t10k-images-idx3-ubyte.gz", "rb") as file:
        content = file.read()
    assert struct.unpack(">IIII", content[:16]) == (2051, 10000, 28, 28)
    assert np.array_equal(images.reshape(-1), np.frombuffer(content, dtype=np.uint8, offset=16))


def test_mnist_images_equal_the_png_copies_pixel_for_pixel(shared_data):
    raw = shared_data / "mnist" / "raw"
    images = read_idx(raw / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(raw / "t10k-labels-idx1-ubyte.gz")
    # PROVENANCE.md: the PNGs are test_png/<digit>/<t10k index:05d>.png, pixels unchanged.
    manifest = (shared_data / "mnist" / "MANIFEST_test_png.tsv").read_text().splitlines()
    checked = 0
    for line in manifest[::150]:  # 20 PNGs spread over all ten digits
        relative = line.split("\t")[0]
        png = shared_data / "mnist" / relative
        index = int(png.stem)
        with Image.open(png) as image:
            assert image.mode == "L" and image.size == (28, 28)
            pixels = np.asarray(image)
        assert np.array_equal(pixels, images[index]), relative
        assert labels[index] == int(png.parent.name), relative
        checked += 1
    assert checked == 20


# Hand-written IDX files


@pytest.mark.parametrize(
    ("type_code", "struct_code", "dtype", "values"),
    [
        (0x08, "B", np.uint8, [0, 1, 127, 128, 255, 7]),
        (0x09, "b", np.int8, [-128, -1, 0, 1, 100, 127]),
        (0x0B, "h", np.int16, [-32768, -2, 0, 258, 1000, 32767]),
        (0x0C, "i", np.int32, [-(2**31), -70000, 0, 1, 65536, 2**31 - 1]),
        (0x0D, "f", np.float32, [-1.5, 0.0, 0.25, 3.0e10, 1e-20, 7.75]),
        (0x0E, "d", np.float64, [-1.5, 0.0, 0.1, 3.0e200, 1e-300, 7.75]),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_idx_of_every_type_reads_big_endian_values_into_native_order(
    tmp_path, type_code, struct_code, dtype, values, compress
):
    payload = struct.pack(f">{len(values)}{struct_code}", *values)
    name = "values.idx.gz" if compress else "values.idx"
    path = write_idx(tmp_path / name, type_code, (2, 3), payload, compress)
    array = read_idx(path)
    assert array.shape == (2, 3)
    assert array.dtype == np.dtype(dtype) and array.dtype.isnative
    expected = np.array(values, dtype=dtype).reshape(2, 3)
    assert np.array_equal(array, expected)


def test_idx_with_three_dimensions_keeps_row_major_order(tmp_path):
    values = list(range(2 * 3 * 4))
    path = write_idx(tmp_path / "cube.idx", 0x0B, (2, 3, 4), struct.pack(">24h", *values))
    array = read_idx(path)
    for i, j, k in [(0, 0, 0), (0, 2, 3), (1, 0, 1), (1, 2, 3)]:
        assert array[i, j, k] == i * 12 + j * 4 + k


def test_truncated_idx_is_an_error_naming_the_file(tmp_path):
    path = write_idx(tmp_path / "short.idx", 0x08, (2, 3), bytes(5))  # 6 values announced
    expected = r"short\.idx: IDX header says 2x3 values \(6 bytes\) but the file has 5 bytes"
    with pytest.raises(TrainlabError, match=expected):
        read_idx(path)


def test_truncated_gzip_is_an_error_naming_the_file(tmp_path):
    whole = write_idx(tmp_path / "whole.idx.gz", 0x08, (100,), bytes(range(100)), compress=True)
    cut = tmp_path / "cut.idx.gz"
    cut.write_bytes(whole.read_bytes()[:-12])
    with pytest.raises(TrainlabError, match=r"cut\.idx\.gz: cannot read the IDX file"):
        read_idx(cut)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(20),
        bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]),
        bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]),
        b"",
    ],
    ids=["png", "unknown-type", "nonzero-first-byte", "empty"],
)
def test_bad_magic_is_an_error_naming_the_file(tmp_path, content):
    path = tmp_path / "notidx.bin"
    path.write_bytes(content)
    with pytest.raises(TrainlabError, match=r"notidx\.bin: not an IDX file \(bad magic number"):
        read_idx(path)


@pytest.mark.parametrize("sizes", [bytes([0, 0, 0, 1, 0, 0]), b""], ids=["half-a-size", "no-sizes"])
def test_idx_truncated_inside_its_header_is_an_error_naming_the_file(tmp_path, sizes):
    path = tmp_path / "header.idx"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + sizes)  # three dimension sizes announced
    expected = rf"^{re.escape(str(path))}: IDX file ends inside its header \(truncated\?\)$"
    with pytest.raises(TrainlabError, match=expected):
        read_idx(path)


# CIFAR-10 python tarball


def cifar_pickle(content: dict) -> bytes:
    """A batch pickled the way the real archive's batches load: bytes keys and values, numpy arrays.

    Protocol 3 stores bytes natively (protocol 2 from Python 3 would go through `_codecs.encode`,
    which the real, Python 2 written archive does not contain).
    """
    return pickle.dumps(content, protocol=3)


def write_cifar_archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def fake_cifar_batches(seed: int = 0, per_batch: int = 3) -> dict[str, dict]:
    generator = np.random.default_rng(seed)
    batches = {}
    for index, name in enumerate([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]):
        batches[name] = {
            b"batch_label": f"batch {index}".encode(),
            b"data": generator.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": [int(label) for label in generator.integers(0, 10, per_batch)],
        }
    return batches


def cifar_members(batches: dict[str, dict]) -> dict[str, bytes]:
    meta = {b"label_names": [name.encode() for name in CLASS_NAMES], b"num_vis": 3072}
    pickled = {name: cifar_pickle(batch) for name, batch in batches.items()}
    return {"batches.meta": cifar_pickle(meta), **pickled}


def channel_major(rows: np.ndarray) -> np.ndarray:
    """(N, 3, 32, 32) with pixel (c, y, x) = row[c*1024 + y*32 + x], by explicit index arithmetic."""
    n, c, y, x = np.indices((len(rows), 3, 32, 32))
    return rows[n, c * 1024 + y * 32 + x]


def test_cifar_archive_gives_channel_major_images_in_batch_order(tmp_path):
    batches = fake_cifar_batches()
    archive = write_cifar_archive(tmp_path / "cifar-10-python.tar.gz", cifar_members(batches))
    content = read_cifar10_archive(archive)
    train_images, train_labels = content["train"]
    test_images, test_labels = content["test"]
    assert content["classes"] == CLASS_NAMES
    assert train_images.shape == (15, 3, 32, 32) and train_images.dtype == np.uint8
    assert test_images.shape == (3, 3, 32, 32)
    train_rows = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    assert np.array_equal(train_images, channel_major(train_rows))
    assert np.array_equal(test_images, channel_major(batches["test_batch"][b"data"]))
    expected_labels = [label for i in range(1, 6) for label in batches[f"data_batch_{i}"][b"labels"]]
    assert train_labels.tolist() == expected_labels
    assert test_labels.tolist() == batches["test_batch"][b"labels"]
    # Spot checks of the layout, written out: red, green, blue planes of 1024 values each.
    row = batches["data_batch_1"][b"data"][0]
    assert train_images[0, 0, 0, 0] == row[0]
    assert train_images[0, 1, 0, 0] == row[1024]
    assert train_images[0, 2, 31, 31] == row[3071]
    assert train_images[0, 0, 1, 2] == row[34]


def test_cifar_archive_written_by_python2_numpy_names_is_read(tmp_path):
    """The real archive's pickles name `numpy.core.multiarray._reconstruct` (NumPy 1, Python 2)."""
    batches = fake_cifar_batches(seed=1, per_batch=2)
    members = cifar_members(batches)
    old_names = {}
    for name, raw in members.items():
        renamed = raw.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
        assert name == "batches.meta" or renamed != raw  # the array pickles did name the new module
        old_names[name] = renamed
    content = read_cifar10_archive(write_cifar_archive(tmp_path / "old.tar.gz", old_names))
    assert np.array_equal(content["test"][0], channel_major(batches["test_batch"][b"data"]))


class _Payload:
    """Unpickling this calls `function(argument)`: what a hostile pickle does."""

    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


def hostile(attack: str, marker: Path) -> _Payload:
    """A pickled call that would create `marker`."""
    code = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": _Payload(os.system, f"touch {marker}"),
        "builtins.eval": _Payload(eval, code),
        "builtins.exec": _Payload(exec, code),
    }[attack]


@pytest.mark.parametrize("where", ["batches.meta", "data_batch_1", "test_batch"])
@pytest.mark.parametrize("attack", ["os.system", "builtins.eval", "builtins.exec"])
def test_cifar_pickle_calling_a_function_is_refused_without_running_it(tmp_path, where, attack):
    # Control: a plain unpickler does run the payload.
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(hostile(attack, control)))
    assert control.exists()

    marker = tmp_path / "pwned"
    members = cifar_members(fake_cifar_batches(per_batch=1))
    # The hostile call hides inside an otherwise well-formed batch.
    batch = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"more": hostile(attack, marker)}
    members[where] = pickle.dumps(batch)
    archive = write_cifar_archive(tmp_path / "evil.tar.gz", members)
    refused = f"{os.system.__module__}.system" if attack == "os.system" else attack  # posix on Linux
    expected = rf"evil\.tar\.gz:{where}: not a CIFAR-10 batch \(refusing to load {refused}\)"
    with pytest.raises(TrainlabError, match=expected):
        read_cifar10_archive(archive)
    assert not marker.exists()


def test_cifar_archive_without_a_batch_says_which(tmp_path):
    members = cifar_members(fake_cifar_batches(per_batch=1))
    del members["test_batch"]
    archive = write_cifar_archive(tmp_path / "partial.tar.gz", members)
    with pytest.raises(TrainlabError, match=r"partial\.tar\.gz: no 'test_batch' inside"):
        read_cifar10_archive(archive)


@pytest.mark.parametrize(
    "batch",
    [
        {b"data": np.zeros((1, 3072), np.uint8)},
        [b"data", b"labels"],
        {b"data": np.zeros((1, 3000), np.uint8), b"labels": [0]},
    ],
    ids=["no-labels", "a-list", "rows-too-short"],
)
def test_cifar_batch_of_the_wrong_shape_is_an_error_naming_it(tmp_path, batch):
    members = cifar_members(fake_cifar_batches(per_batch=1))
    members["data_batch_2"] = cifar_pickle(batch)
    archive = write_cifar_archive(tmp_path / "odd.tar.gz", members)
    with pytest.raises(TrainlabError, match=r"odd\.tar\.gz:data_batch_2"):
        read_cifar10_archive(archive)


def test_file_that_is_not_a_tarball_is_an_error_naming_it(tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    path.write_bytes(b"<html>404 not found</html>")
    expected = r"cifar-10-python\.tar\.gz: cannot read the CIFAR-10 archive"
    with pytest.raises(TrainlabError, match=expected):
        read_cifar10_archive(path)
    assert path.read_bytes() == b"<html>404 not found</html>"  # the user's file is left alone


# Builtin datasets assembled from these files (the download itself is replaced by local files)


def serve_locally(monkeypatch, files: dict[str, Path], cache: Path) -> None:
    """Make the builtins find their resources at `files` (filename -> path) instead of downloading."""
    monkeypatch.setenv("TRAINLAB_CACHE", str(cache))  # whatever happens, never ~/.cache
    resources = [SimpleNamespace(filename=name) for name in files]
    monkeypatch.setattr(image_datasets, "resources_of", lambda dataset: resources)
    monkeypatch.setattr(image_datasets, "fetch", lambda resource: files[resource.filename])


def fake_idx_dataset(folder: Path, train_labels: list[int], test_labels: list[int]) -> dict[str, Path]:
    """The four MNIST-layout files, random 28x28 images, gzip-compressed like the real ones."""
    generator = np.random.default_rng(5)
    files = {}
    for prefix, labels in (("train", train_labels), ("t10k", test_labels)):
        pixels = generator.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
        files[f"{prefix}-images-idx3-ubyte.gz"] = write_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz", 0x08, pixels.shape, pixels.tobytes(), compress=True
        )
        files[f"{prefix}-labels-idx1-ubyte.gz"] = write_idx(
            folder / f"{prefix}-labels-idx1-ubyte.gz", 0x08, (len(labels),), bytes(labels), compress=True
        )
    return files


def examples(pixels: np.ndarray | torch.Tensor, labels) -> Counter:
    """(pixels, label) pairs, counted: the content of a split whatever its order."""
    return Counter(zip((np.asarray(image).tobytes() for image in pixels), np.asarray(labels).tolist()))


FASHION_MNIST_LABELS = [  # Zalando's README
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


@pytest.mark.parametrize(
    ("dataset", "classes"), [("mnist", list("0123456789")), ("fashion-mnist", FASHION_MNIST_LABELS)]
)
def test_idx_builtins_take_test_from_t10k_and_split_validation_off_train(
    tmp_path, monkeypatch, dataset, classes
):
    train_labels = [0] * 20 + [1] * 30 + [9] * 10
    files = fake_idx_dataset(tmp_path, train_labels, [3, 1, 4, 1, 5, 9, 2, 6])
    serve_locally(monkeypatch, files, tmp_path / "cache")
    splits = registry.datasets.entry(dataset).builder(ImageDataConfig(source=dataset, val_fraction=0.2))
    assert splits.classes == classes
    assert splits.train[0].shape[1:] == (1, 28, 28) and splits.train[0].dtype == torch.uint8
    assert splits.train[1].dtype == torch.int64
    train_images = read_idx(files["train-images-idx3-ubyte.gz"])[:, None]
    test_images = read_idx(files["t10k-images-idx3-ubyte.gz"])[:, None]
    assert examples(*splits.test) == examples(test_images, [3, 1, 4, 1, 5, 9, 2, 6])
    assert examples(*splits.train) + examples(*splits.val) == examples(train_images, train_labels)
    assert torch.bincount(splits.val[1], minlength=10)[[0, 1, 9]].tolist() == [4, 6, 2]  # 20% per class


def test_cifar10_builtin_takes_test_from_test_batch_with_the_archives_class_names(tmp_path, monkeypatch):
    batches = fake_cifar_batches(seed=2, per_batch=4)
    archive = write_cifar_archive(tmp_path / "cifar-10-python.tar.gz", cifar_members(batches))
    serve_locally(monkeypatch, {"cifar-10-python.tar.gz": archive}, tmp_path / "cache")
    splits = registry.datasets.entry("cifar10").builder(ImageDataConfig(source="cifar10", val_fraction=0.0))
    assert splits.classes == CLASS_NAMES and splits.val is None
    test = batches["test_batch"]
    assert examples(*splits.test) == examples(channel_major(test[b"data"]), test[b"labels"])
    train_rows = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    train_labels = [label for i in range(1, 6) for label in batches[f"data_batch_{i}"][b"labels"]]
    assert examples(*splits.train) == examples(channel_major(train_rows), train_labels)
