"""Readers for the original file formats of the classic image benchmarks (no torchvision).

- IDX (MNIST, Fashion-MNIST): a 4-byte magic (two zero bytes, a type code, the number of
  dimensions), one big-endian uint32 per dimension, then the values, optionally gzip-compressed.
- CIFAR-10 "python version": a tar.gz of pickled dicts, one per batch of 10,000 images, each with
  `data` (uint8, 10000 x 3072, channel-major rows of 32x32) and `labels`.

Pickle can run arbitrary code, so CIFAR batches are read with an unpickler that only allows the
few numpy globals an array needs, even though the archive is sha256-verified before it is read.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from trainlab.errors import TrainlabError

# IDX type codes -> numpy dtypes (big-endian where multi-byte).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file (`.gz` is decompressed), in native byte order."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as file:
            content = file.read()
    except (OSError, EOFError) as error:  # gzip raises BadGzipFile (an OSError) or EOFError
        raise TrainlabError(f"{path}: cannot read the IDX file ({error})") from None
    if len(content) < 4 or content[0] != 0 or content[1] != 0 or content[2] not in _IDX_DTYPES:
        raise TrainlabError(f"{path}: not an IDX file (bad magic number {content[:4].hex()})")
    dtype = np.dtype(_IDX_DTYPES[content[2]])
    ndim = content[3]
    header = 4 + 4 * ndim
    if len(content) < header:
        raise TrainlabError(f"{path}: IDX file ends inside its header (truncated?)")
    shape = tuple(int(size) for size in np.frombuffer(content[4:header], dtype=">u4"))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(content) - header != expected:
        raise TrainlabError(
            f"{path}: IDX header says {'x'.join(map(str, shape))} values ({expected} bytes) "
            f"but the file has {len(content) - header} bytes after the header (truncated?)"
        )
    return np.frombuffer(content, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays; any other global is refused."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _unpickle_batch(raw: bytes, where: str) -> dict:
    try:
        return _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise TrainlabError(f"{where}: not a CIFAR-10 batch ({error})") from None


def _images_and_labels(batch: object, where: str) -> tuple[np.ndarray, np.ndarray]:
    """A batch's images (N, 3, 32, 32) and labels (N,), or one line naming what is wrong with it."""
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise TrainlabError(f"{where}: not a CIFAR-10 batch (expected a dict with b'data' and b'labels')")
    images = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64).reshape(-1)
    if images.ndim != 2 or images.shape[1] != 3 * 32 * 32 or len(images) != len(labels):
        raise TrainlabError(
            f"{where}: not a CIFAR-10 batch ({images.shape} data for {len(labels)} labels; expected "
            f"(N, 3072) rows of 32x32 RGB and N labels)"
        )
    return images.reshape(-1, 3, 32, 32), labels


def read_cifar10_archive(archive: Path) -> dict[str, tuple[np.ndarray, np.ndarray] | list[str]]:
    """`{"train": (images, labels), "test": (images, labels), "classes": names}` from the tarball.

    Images are uint8 (N, 3, 32, 32); the five training batches are concatenated in order.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            return _read_cifar10_members(tar, archive)
    except (OSError, tarfile.TarError) as error:
        raise TrainlabError(f"{archive}: cannot read the CIFAR-10 archive ({error})") from None


def _read_cifar10_members(tar: tarfile.TarFile, archive: Path) -> dict:
    """The batches of an open CIFAR-10 tarball, read from the archive without extracting it."""
    members = {Path(member.name).name: member for member in tar.getmembers() if member.isfile()}

    def batch(name: str) -> dict:
        if name not in members:
            raise TrainlabError(f"{archive}: no '{name}' inside; is this cifar-10-python.tar.gz?")
        return _unpickle_batch(tar.extractfile(members[name]).read(), f"{archive}:{name}")

    def images_and_labels(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        pairs = [_images_and_labels(batch(name), f"{archive}:{name}") for name in names]
        return np.concatenate([images for images, _ in pairs]), np.concatenate([labels for _, labels in pairs])

    meta = batch("batches.meta")
    return {
        "train": images_and_labels([f"data_batch_{index}" for index in range(1, 6)]),
        "test": images_and_labels(["test_batch"]),
        "classes": [name.decode() for name in meta[b"label_names"]],
    }
