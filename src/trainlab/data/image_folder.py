"""Images in class subfolders (`root/<class>/*.png`), read with Pillow into uint8 tensors.

A folder either holds the class folders directly, or `train/` (and optionally `val/`, `test/`)
folders that each hold them. Every image of a dataset ends up with the same size and channels:
`data.image_size` resizes; otherwise all images must already have one size. Grayscale images are
kept with one channel unless some image has colour (or `data.color=rgb`), then all get three.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainlab.errors import TrainlabError
from trainlab.runs import say

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
T = TypeVar("T")


@dataclass
class ImageSet:
    """Decoded images of one split: uint8 arrays (H, W) for grayscale or (H, W, 3) for colour."""

    arrays: list[np.ndarray]
    labels: np.ndarray
    skipped: int  # corrupt files skipped (data.strict=false)


def class_names(root: Path) -> list[str]:
    """Sorted names of the class folders of `root` (hidden folders ignored)."""
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise TrainlabError(
            f"{root}: no class folders; an image folder holds one subfolder of images per class "
            "(e.g. cats/ and dogs/), optionally inside train/ and test/"
        )
    return names


def is_split_layout(root: Path) -> bool:
    """True when `root` holds train/ (and maybe val/, test/) rather than the class folders."""
    return (root / "train").is_dir()


def list_image_files(root: Path, classes: list[str]) -> tuple[list[Path], list[int]]:
    """Every image file under `root/<class>/` for the given classes, sorted, with its label (an
    index into `classes`); a class folder of `root` that is not among `classes` is an error."""
    unknown = sorted(set(class_names(root)) - set(classes))
    if unknown:
        raise TrainlabError(
            f"{root}: class folders {', '.join(unknown)} are not among the training classes "
            f"({', '.join(classes)})"
        )
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            continue  # a split may lack a class; only the training split must have them all
        members = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not members:
            raise TrainlabError(
                f"{folder}: class folder has no images ({', '.join(IMAGE_SUFFIXES)}); "
                "remove the folder or add images"
            )
        files += members
        labels += [label] * len(members)
    return files, labels


def read_image_split(
    root: Path,
    classes: list[str],
    image_size: tuple[int, int] | None,
    grayscale: bool,
    strict: bool,
) -> ImageSet:
    """Decode every image under `root/<class>/` for the given classes (labels index `classes`)."""
    files, labels = list_image_files(root, classes)
    decoded = in_threads(lambda path: decode_or_reason(path, image_size, grayscale), files)
    for path, reason in unreadable(files, decoded):
        refuse_or_warn(path, reason, strict)
    arrays, kept = readable(decoded)
    kept_labels = np.asarray(labels, dtype=np.int64)[kept]
    skipped = len(files) - len(arrays)
    if skipped:
        say(f"warning: skipped {skipped} unreadable image(s) under {root}")
    if not arrays:
        raise TrainlabError(f"{root}: no readable images")
    return ImageSet(arrays, kept_labels, skipped)


def in_threads(function: Callable[[Path], T], files: Sequence[Path]) -> list[T]:
    """`function` of every file, in order; Pillow releases the GIL while it reads and decodes, so
    threads use every core."""
    if len(files) < 2:
        return [function(path) for path in files]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(function, files))


def decode_or_reason(path: Path, image_size: tuple[int, int] | None, grayscale: bool) -> np.ndarray | str:
    """`decode_image`, or why the file cannot be read."""
    return _or_reason(lambda: decode_image(path, image_size, grayscale))


def _or_reason(read: Callable[[], T]) -> T | str:
    """What `read()` gives, or why Pillow could not read the file (its error as text)."""
    try:
        return read()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        return str(error) or type(error).__name__


def readable(results: Sequence[T | str]) -> tuple[list[T], np.ndarray]:
    """The results that are not reasons (text), and a boolean mask of where they were."""
    kept = np.array([not isinstance(result, str) for result in results], dtype=bool)
    return [result for result in results if not isinstance(result, str)], kept


def unreadable(files: Sequence, results: Sequence) -> list[tuple[Path, str]]:
    """(file, reason) for each result that is a reason."""
    return [(Path(path), result) for path, result in zip(files, results) if isinstance(result, str)]


def refuse_or_warn(path: Path, reason: str, strict: bool) -> None:
    """An unreadable image: an error under data.strict, otherwise a warning that it is skipped."""
    if strict:
        raise TrainlabError(f"{path}: cannot read the image ({reason}); remove it or set data.strict=false")
    say(f"warning: skipping {path}: cannot read the image ({reason})")


def decode_image(path: Path, image_size: tuple[int, int] | None, grayscale: bool) -> np.ndarray:
    """One image file as uint8 (H, W) (grayscale) or (H, W, 3), resized to `image_size` if given.

    Raises Pillow's errors (UnidentifiedImageError, OSError, ValueError) for unreadable files.
    """
    with Image.open(path) as image:
        image.load()
        if image.mode.startswith("I;16"):
            # Pillow's convert("L") clips 16-bit values at 255: scale 0..65535 to 0..255.
            eight_bit = np.round(np.asarray(image, dtype=np.float64) / 257).astype(np.uint8)
            image = Image.fromarray(eight_bit, mode="L")
        mode = "L" if grayscale or image.mode in _GRAY_MODES else "RGB"
        image = image.convert(mode)
        if image_size is not None and image.size != (image_size[1], image_size[0]):
            image = image.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8)


@dataclass
class ImageListing:
    """The readable image files of one split, found from their headers without decoding them."""

    files: list[Path]
    labels: np.ndarray
    sizes: list[tuple[int, int]]  # (height, width) of each file
    colour: bool  # some image has colour


def list_image_split(root: Path, classes: list[str], strict: bool) -> ImageListing:
    """The image files under `root/<class>/` whose headers Pillow reads (labels index `classes`);
    the others are skipped with a warning, or refused under `strict`. A file whose header reads
    but whose pixels do not (a truncated file) is only found when it is decoded."""
    files, labels = list_image_files(root, classes)
    headers = in_threads(lambda path: _or_reason(lambda: _header(path)), files)
    for path, reason in unreadable(files, headers):
        refuse_or_warn(path, reason, strict)
    found, kept = readable(headers)
    if len(found) < len(files):
        say(f"warning: skipped {len(files) - len(found)} unreadable image(s) under {root}")
    if not found:
        raise TrainlabError(f"{root}: no readable images")
    return ImageListing([path for path, own in zip(files, kept) if own], np.asarray(labels, dtype=np.int64)[kept],
                        [(height, width) for height, width, _ in found], any(colour for *_, colour in found))


def _header(path: Path) -> tuple[int, int, bool]:
    """(height, width, has colour) from the file's header, without decoding its pixels."""
    with Image.open(path) as image:
        gray = image.mode in _GRAY_MODES or image.mode.startswith("I;16")
        return image.height, image.width, not gray


def common_size(listings: Sequence[ImageListing], root: Path) -> tuple[int, int]:
    """The one (height, width) of every listed image; an error naming two sizes otherwise."""
    sizes = [size for listing in listings for size in listing.sizes]
    first = sizes[0]
    for size in sizes:
        if size != first:
            raise TrainlabError(
                f"{root}: images differ in size ({first[0]}x{first[1]} and {size[0]}x{size[1]}); "
                "set data.image_size=[H,W] to resize them"
            )
    return first


def stack_channels_first(arrays: Sequence[np.ndarray], channels: int) -> np.ndarray:
    """Decoded images, (H, W) or (H, W, 3) each, as one uint8 array (N, channels, H, W); a gray
    image is repeated into every channel of an RGB set."""
    return np.stack([channels_first(array, channels) for array in arrays])


def channels_first(array: np.ndarray, channels: int) -> np.ndarray:
    """A decoded image (H, W) or (H, W, 3) as (channels, H, W): gray repeated into RGB if asked."""
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], channels, axis=2)
    return array.transpose(2, 0, 1)
