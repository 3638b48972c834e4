"""Image folders (class subfolders read with Pillow) and the image source dispatch."""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainlab.config import ImageDataConfig
from trainlab.data import ClassificationSplits
from trainlab.data.image_folder import read_image_split
from trainlab.data.images import load_image_folder, load_image_source
from trainlab.errors import TrainlabError


def write_image(path: Path, pixels: np.ndarray) -> Path:
    """Save pixels, (H, W) gray or (H, W, 3) colour, as a PNG with Pillow."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, "PNG")
    return path


def noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def make_folder(root: Path, counts: dict[str, int], shape: tuple[int, ...] = (6, 5), seed: int = 0) -> Path:
    """`root/<class>/<i>.png` of random pixels, `counts[class]` images per class."""
    for offset, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            write_image(root / name / f"{index:03d}.png", noise(shape, seed * 10_000 + offset * 1000 + index))
    return root


def fingerprint(image: np.ndarray | torch.Tensor) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(image)).tobytes()).hexdigest()


def gray_chw(pixels: np.ndarray) -> np.ndarray:
    return pixels[None]


def rgb_chw(pixels: np.ndarray) -> np.ndarray:
    return pixels.transpose(2, 0, 1)


def split_fingerprints(pair: tuple[torch.Tensor, torch.Tensor]) -> Counter:
    """(image hash, label) of every example of a split, counted."""
    images, labels = pair
    return Counter(zip(map(fingerprint, images), labels.tolist()))


def folder_fingerprints(root: Path, classes: list[str], to_chw, labels: list[int] | None = None) -> Counter:
    """The same, decoded independently from the files with Pillow (`labels`: those of `classes`)."""
    found = Counter()
    for label, name in zip(labels or range(len(classes)), classes):
        for path in sorted((root / name).iterdir()):
            with Image.open(path) as image:
                found[(fingerprint(to_chw(np.asarray(image))), label)] += 1
    return found


def all_images(splits: ClassificationSplits) -> torch.Tensor:
    return torch.cat([pair[0] for pair in (splits.train, splits.val, splits.test) if pair is not None])


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes: to show that loading changed nothing."""
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def error_line(path: Path, rest: str) -> str:
    """A regex for a whole one-line error that starts with `path` (escaped) and goes on with `rest`."""
    return rf"^{re.escape(str(path))}{rest}$"


# The real MNIST PNGs (a folder of class folders: validation and test are split off)


@functools.cache
def load_mnist_png(shared_data: Path) -> ClassificationSplits:
    """test_png with the default options, loaded once for the tests that only read it."""
    return load_image_folder(ImageDataConfig(source=str(shared_data / "mnist" / "test_png")))


def test_mnist_pngs_load_as_one_channel_28x28_in_stratified_splits(shared_data):
    splits = load_mnist_png(shared_data)
    assert splits.classes == [str(digit) for digit in range(10)]
    assert splits.train[0].dtype == torch.uint8
    assert splits.train[0].shape[1:] == (1, 28, 28)
    # 300 PNGs per digit: round(300 * 0.2) = 60 test, round(300 * 0.1) = 30 val, 210 train.
    for pair, per_class in [(splits.train, 210), (splits.val, 30), (splits.test, 60)]:
        assert torch.bincount(pair[1], minlength=10).tolist() == [per_class] * 10
    first, storage = splits.summary().split("\n")
    assert first == "test_png: train 2100, val 300, test 600; 10 classes; inputs 1x28x28"
    # 3000 images of 28x28 bytes, and the 2100 training images' shuffled copy.
    assert storage.startswith("images held in memory: 2.4 MB decoded, 4.0 MB while training, within")


def test_mnist_pngs_each_appear_in_exactly_one_split_with_their_folders_label(shared_data):
    splits = load_mnist_png(shared_data)
    on_disk = folder_fingerprints(shared_data / "mnist" / "test_png", splits.classes, gray_chw)
    assert len(on_disk) == 3000  # no two PNGs are the same image, so a hash names one example
    parts = [split_fingerprints(pair) for pair in (splits.train, splits.val, splits.test)]
    assert parts[0] + parts[1] + parts[2] == on_disk
    hashes = [{image for image, _ in part} for part in parts]
    assert not (hashes[0] & hashes[1]) and not (hashes[0] & hashes[2]) and not (hashes[1] & hashes[2])


def test_mnist_png_splits_are_the_same_for_the_same_split_seed(shared_data):
    first = load_mnist_png(shared_data)
    again = load_image_folder(ImageDataConfig(source=str(shared_data / "mnist" / "test_png"), split_seed=0))
    for ours, theirs in zip((first.train, first.val, first.test), (again.train, again.val, again.test)):
        assert torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1])


def test_split_seed_and_fractions_choose_other_stratified_splits(tmp_path):
    root = make_folder(tmp_path / "digits", {"a": 20, "b": 30, "c": 10})
    first = load_image_folder(ImageDataConfig(source=str(root)))
    other = load_image_folder(ImageDataConfig(source=str(root), split_seed=1, val_fraction=0.2, test_fraction=0.3))
    assert split_fingerprints(other.test) != split_fingerprints(first.test)
    # Per class: round(n * 0.3) test and round(n * 0.2) val.
    assert torch.bincount(other.test[1]).tolist() == [6, 9, 3]
    assert torch.bincount(other.val[1]).tolist() == [4, 6, 2]
    assert torch.bincount(other.train[1]).tolist() == [10, 15, 5]


# The real CIFAR-10 JPEGs (train/ and test/ folders)


@pytest.mark.slow  # decodes 7,000 JPEGs, then 2,000 again: about 3.5 s on two cores
def test_cifar_folder_with_train_and_test_takes_test_from_its_folder(shared_data):
    root = shared_data / "cifar10_imagefolder"
    splits = load_image_folder(ImageDataConfig(source=str(root)))
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert splits.classes == classes
    assert splits.train[0].shape[1:] == (3, 32, 32) and splits.train[0].dtype == torch.uint8
    # test/ as it is (200 per class); val is 10% of the 500 training images per class.
    assert torch.bincount(splits.test[1]).tolist() == [200] * 10
    assert torch.bincount(splits.val[1]).tolist() == [50] * 10
    assert torch.bincount(splits.train[1]).tolist() == [450] * 10
    assert split_fingerprints(splits.test) == folder_fingerprints(root / "test", classes, rgb_chw)


def test_train_and_test_folders_keep_test_as_it_is_and_split_val_off_train(tmp_path):
    root = tmp_path / "pets"
    make_folder(root / "train", {"cat": 10, "dog": 20}, seed=1)
    make_folder(root / "test", {"cat": 3, "dog": 2}, seed=2)
    splits = load_image_folder(ImageDataConfig(source=str(root), val_fraction=0.2, test_fraction=0.5))
    assert split_fingerprints(splits.test) == folder_fingerprints(root / "test", ["cat", "dog"], gray_chw)
    # test_fraction does not apply; val_fraction is a share of the training images.
    assert torch.bincount(splits.val[1]).tolist() == [2, 4]
    assert torch.bincount(splits.train[1]).tolist() == [8, 16]
    assert splits.name == "pets"


def test_val_and_test_folders_are_used_as_they_are(tmp_path):
    root = tmp_path / "pets"
    make_folder(root / "train", {"cat": 5, "dog": 5}, seed=1)
    make_folder(root / "val", {"cat": 2, "dog": 1}, seed=2)
    elsewhere = make_folder(tmp_path / "holdout", {"dog": 3}, seed=3)  # a split may lack a class
    splits = load_image_folder(ImageDataConfig(source=str(root), test=str(elsewhere)))
    assert len(splits.train[1]) == 10
    assert split_fingerprints(splits.val) == folder_fingerprints(root / "val", ["cat", "dog"], gray_chw)
    assert split_fingerprints(splits.test) == folder_fingerprints(elsewhere, ["dog"], gray_chw, labels=[1])


# Options: limit, image_size, color


def test_limit_keeps_that_many_examples_of_each_split_in_random_order(tmp_path):
    root = make_folder(tmp_path / "shapes", {"a": 20, "b": 20})
    full = load_image_folder(ImageDataConfig(source=str(root)))
    limited = load_image_folder(ImageDataConfig(source=str(root), limit=6))
    # 20 per class: 28 train, 4 val (fewer than the limit: all kept), 8 test.
    pairs = zip((full.train, full.val, full.test), (limited.train, limited.val, limited.test), (6, 4, 6))
    for whole, part, size in pairs:
        assert len(part[0]) == len(part[1]) == size
        assert torch.equal(part[0], whole[0][:size]) and torch.equal(part[1], whole[1][:size])
    # The folder is read class by class; the kept examples are not all of the first class.
    assert set(limited.train[1].tolist()) == {0, 1}


def test_image_size_resizes_every_image_to_height_by_width(tmp_path):
    root = tmp_path / "sizes"
    originals = {"a/0.png": noise((20, 30), 1), "a/1.png": noise((12, 10), 2), "b/0.png": noise((40, 8), 3)}
    for name, pixels in originals.items():
        write_image(root / name, pixels)
    splits = load_image_folder(ImageDataConfig(source=str(root), image_size=(12, 10), test_fraction=0.5))
    images = all_images(splits)
    assert images.shape == (3, 1, 12, 10)
    # Pillow sizes are (width, height); the image already 12x10 is kept as it is.
    expected = {
        fingerprint(np.asarray(Image.fromarray(pixels).resize((10, 12), Image.Resampling.BILINEAR))[None])
        for pixels in originals.values()
    }
    assert fingerprint(originals["a/1.png"][None]) in expected
    assert {fingerprint(image) for image in images} == expected


def test_color_grayscale_turns_rgb_images_into_their_luminance(tmp_path):
    root = make_folder(tmp_path / "colour", {"a": 4, "b": 4}, shape=(5, 5, 3))
    options = {"color": "grayscale", "val_fraction": 0, "test_fraction": 0.25}
    splits = load_image_folder(ImageDataConfig(source=str(root), **options))
    assert splits.train[0].shape[1:] == (1, 5, 5)
    # ITU-R 601 luma (299 R + 587 G + 114 B) / 1000; Pillow's integer arithmetic may round 1 apart.
    references = []
    for path in sorted(root.rglob("*.png")):
        rgb = np.asarray(Image.open(path)).astype(np.float64)
        references.append(np.round(rgb @ np.array([0.299, 0.587, 0.114])))
    for image in all_images(splits):
        assert min(np.abs(image[0].numpy() - reference).max() for reference in references) <= 1


def test_gray_and_colour_images_together_become_rgb_with_gray_repeated(tmp_path):
    root = tmp_path / "mixed"
    gray = {f"a/{i}.png": noise((4, 4), i) for i in range(3)}
    colour = {f"b/{i}.png": noise((4, 4, 3), 10 + i) for i in range(3)}
    for name, pixels in {**gray, **colour}.items():
        write_image(root / name, pixels)
    splits = load_image_folder(ImageDataConfig(source=str(root), val_fraction=0, test_fraction=0.34))
    images = all_images(splits)
    assert images.shape == (6, 3, 4, 4)
    expected = {fingerprint(np.repeat(pixels[None], 3, axis=0)) for pixels in gray.values()}
    expected |= {fingerprint(rgb_chw(pixels)) for pixels in colour.values()}
    assert {fingerprint(image) for image in images} == expected


@pytest.mark.parametrize(("color", "channels"), [("auto", 1), ("rgb", 3)])
def test_all_gray_folder_keeps_one_channel_unless_rgb_is_asked_for(tmp_path, color, channels):
    root = make_folder(tmp_path / "gray", {"a": 5, "b": 5})
    splits = load_image_folder(ImageDataConfig(source=str(root), color=color))
    assert splits.train[0].shape[1] == channels
    assert all(torch.equal(image[0], image[-1]) for image in splits.train[0])


def test_sixteen_bit_grayscale_pngs_are_scaled_to_eight_bits(tmp_path):
    root = tmp_path / "deep"
    names = [f"{name}/{i}.png" for name in ("a", "b") for i in range(3)]
    eight_bit = {name: noise((4, 4), seed) for seed, name in enumerate(names)}
    for name, pixels in eight_bit.items():
        # 0..255 spread over 0..65535; Pillow's own convert("L") would clip all but 0 to 255.
        write_image(root / name, pixels.astype(np.uint16) * 257)
    assert Image.open(root / "a" / "0.png").mode == "I;16"
    splits = load_image_folder(ImageDataConfig(source=str(root), val_fraction=0, test_fraction=0.34))
    expected = {fingerprint(gray_chw(pixels)) for pixels in eight_bit.values()}
    assert {fingerprint(image) for image in all_images(splits)} == expected


# Bad input: one clear line that names the path


def truncated_png(path: Path) -> Path:
    """The first half of a real PNG: a valid header, then the pixel data stops."""
    whole = write_image(path, noise((16, 16), 99)).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


def not_an_image(path: Path) -> Path:
    path.write_bytes(b"these bytes are not an image")
    return path


def test_corrupt_images_are_skipped_with_a_warning_and_counted(tmp_path, capsys):
    root = make_folder(tmp_path / "pets", {"cat": 4, "dog": 4}, shape=(16, 16))
    junk = not_an_image(root / "cat" / "notes.png")
    cut = truncated_png(root / "dog" / "cut.png")
    before = snapshot(root)
    image_set = read_image_split(root, ["cat", "dog"], None, grayscale=False, strict=False)
    assert image_set.skipped == 2 and len(image_set.arrays) == 8
    assert image_set.labels.tolist() == [0] * 4 + [1] * 4
    errors = capsys.readouterr().err
    assert f"warning: skipping {junk}: cannot read the image" in errors
    assert f"warning: skipping {cut}: cannot read the image" in errors
    assert f"warning: skipped 2 unreadable image(s) under {root}" in errors
    splits = load_image_folder(ImageDataConfig(source=str(root), val_fraction=0, test_fraction=0.25))
    assert len(splits.train[1]) + len(splits.test[1]) == 8
    assert snapshot(root) == before  # the user's files are left as they were


@pytest.mark.parametrize("corrupt", [not_an_image, truncated_png], ids=["not-an-image", "truncated-png"])
def test_corrupt_image_under_strict_is_an_error_naming_it(tmp_path, corrupt):
    root = make_folder(tmp_path / "pets", {"cat": 4, "dog": 4}, shape=(16, 16))
    bad = corrupt(root / "dog" / "bad.png")
    expected = error_line(bad, r": cannot read the image \(.+\); remove it or set data\.strict=false")
    with pytest.raises(TrainlabError, match=expected):
        load_image_folder(ImageDataConfig(source=str(root), strict=True))
    assert bad.exists()


def test_class_with_only_corrupt_images_is_an_error_naming_it(tmp_path):
    root = make_folder(tmp_path / "pets", {"cat": 4, "dog": 0})
    not_an_image(root / "dog" / "a.png")
    with pytest.raises(TrainlabError, match=error_line(root, ": no readable images for class dog")):
        load_image_folder(ImageDataConfig(source=str(root)))


def test_class_folder_without_images_is_an_error_naming_it(tmp_path):
    root = make_folder(tmp_path / "pets", {"cat": 4, "dog": 4})
    (root / "bird").mkdir()
    (root / "bird" / "README.txt").write_text("to do")
    rest = r": class folder has no images \(.*\); remove the folder or add images"
    expected = error_line(root / "bird", rest)
    with pytest.raises(TrainlabError, match=expected):
        load_image_folder(ImageDataConfig(source=str(root)))


def test_images_of_different_sizes_without_image_size_is_an_error(tmp_path):
    root = make_folder(tmp_path / "sizes", {"a": 3, "b": 3}, shape=(6, 5))
    write_image(root / "b" / "big.png", noise((7, 5), 1))
    rest = r": images differ in size \(6x5 and 7x5\); set data\.image_size=\[H,W\] to resize them"
    with pytest.raises(TrainlabError, match=error_line(root, rest)):
        load_image_folder(ImageDataConfig(source=str(root)))


def test_test_folder_with_a_class_unknown_to_training_is_an_error(tmp_path):
    root = tmp_path / "pets"
    make_folder(root / "train", {"cat": 3, "dog": 3})
    make_folder(root / "test", {"cat": 2, "dog": 2, "emu": 2})
    rest = r": class folders emu are not among the training classes \(cat, dog\)"
    with pytest.raises(TrainlabError, match=error_line(root / "test", rest)):
        load_image_folder(ImageDataConfig(source=str(root)))


def test_folder_without_class_folders_is_an_error_naming_it(tmp_path):
    root = tmp_path / "loose"
    write_image(root / "a.png", noise((4, 4), 0))
    write_image(root / "b.png", noise((4, 4), 1))
    rest = r": no class folders; an image folder holds one subfolder of images per class .*"
    with pytest.raises(TrainlabError, match=error_line(root, rest)):
        load_image_folder(ImageDataConfig(source=str(root)))


def test_folder_with_one_class_is_an_error(tmp_path):
    root = make_folder(tmp_path / "solo", {"cat": 6})
    with pytest.raises(TrainlabError, match=r"^solo: the training split has only one class \(cat\)$"):
        load_image_folder(ImageDataConfig(source=str(root)))


def test_missing_test_folder_is_an_error_naming_the_option(tmp_path):
    root = make_folder(tmp_path / "pets", {"cat": 3, "dog": 3})
    missing = tmp_path / "nowhere"
    expected = rf"^data\.test={re.escape(str(missing))}: no such folder; give a folder of class subfolders$"
    with pytest.raises(TrainlabError, match=expected):
        load_image_folder(ImageDataConfig(source=str(root), test=str(missing)))


# Dispatch by source


def test_image_source_is_a_builtin_name_or_a_folder(tmp_path):
    root = make_folder(tmp_path / "pets", {"cat": 5, "dog": 5})
    assert load_image_source(ImageDataConfig(source=str(root))).classes == ["cat", "dog"]
    assert load_image_source(ImageDataConfig(source="digits")).train[0].shape[1:] == (1, 8, 8)
    expected = r"^--data no-such-thing: neither a builtin image dataset \(.*digits.*\) nor a folder"
    with pytest.raises(TrainlabError, match=expected):
        load_image_source(ImageDataConfig(source="no-such-thing"))


def test_current_folder_as_source_is_named_after_the_folder(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "pets", {"cat": 5, "dog": 5})
    monkeypatch.chdir(root)
    splits = load_image_folder(ImageDataConfig(source="."))
    assert splits.name == "pets"
    assert splits.summary().startswith("pets: ")


def test_file_as_source_is_an_error_saying_a_folder_is_needed(tmp_path):
    image = write_image(tmp_path / "one.png", noise((4, 4), 0))
    expected = rf"^--data {re.escape(str(image))}: images come from a folder of class subfolders, not a file$"
    with pytest.raises(TrainlabError, match=expected):
        load_image_source(ImageDataConfig(source=str(image)))
