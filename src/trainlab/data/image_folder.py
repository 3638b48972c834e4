"""Images in class subfolders (`root/<class>/*.png`), read with Pillow into uint8 tensors.

A folder either holds the class folders directly, or `train/` (and optionally `val/`, `test/`)
folders that each hold them. Every image of a dataset ends up with the same size and channels:
`data.image_size` resizes; otherwise all images must already have one size. Grayscale images are
kept with one channel unless some image has colour (or `data.color=rgb`), then all get three.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainlab.errors import TrainlabError
from trainlab.runs import say

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


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


def read_image_split(
    root: Path,
    classes: list[str],
    image_size: tuple[int, int] | None,
    grayscale: bool,
    strict: bool,
) -> ImageSet:
    """Decode every image under `root/<class>/` for the given classes (labels index `classes`)."""
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

    def decode(path: Path) -> np.ndarray | str:
        try:
            return decode_image(path, image_size, grayscale)
        except (UnidentifiedImageError, OSError, ValueError) as error:
            return str(error) or type(error).__name__

    # Pillow releases the GIL while decoding, so threads use every core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        decoded = list(pool.map(decode, files))
    arrays, kept_labels, skipped = [], [], 0
    for path, label, result in zip(files, labels, decoded):
        if isinstance(result, str):
            if strict:
                raise TrainlabError(f"{path}: cannot read the image ({result}); remove it or set data.strict=false")
            say(f"warning: skipping {path}: cannot read the image ({result})")
            skipped += 1
            continue
        arrays.append(result)
        kept_labels.append(label)
    if skipped:
        say(f"warning: skipped {skipped} unreadable image(s) under {root}")
    if not arrays:
        raise TrainlabError(f"{root}: no readable images")
    return ImageSet(arrays, np.asarray(kept_labels, dtype=np.int64), skipped)


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


def stack_images(sets: dict[str, ImageSet], color: str, root: Path) -> dict[str, np.ndarray]:
    """One uint8 array (N, C, H, W) per split, with the same size and channels for all splits."""
    everything = [array for image_set in sets.values() for array in image_set.arrays]
    first = everything[0]
    for array in everything:
        if array.shape[:2] != first.shape[:2]:
            raise TrainlabError(
                f"{root}: images differ in size ({first.shape[0]}x{first.shape[1]} and "
                f"{array.shape[0]}x{array.shape[1]}); set data.image_size=[H,W] to resize them"
            )
    rgb = color == "rgb" or (color == "auto" and any(array.ndim == 3 for array in everything))

    def channels_first(array: np.ndarray) -> np.ndarray:
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3 if rgb else 1, axis=2)
        return array.transpose(2, 0, 1)

    return {split: np.stack([channels_first(a) for a in s.arrays]) for split, s in sets.items()}
