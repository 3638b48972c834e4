"""`--data SOURCE` from the command line: real folders and files, `trainlab data show|fetch`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image


def test_training_on_an_image_folder_writes_its_data_summary(trainlab, shared_data, tmp_path):
    code, _out, err = trainlab(
        "train", "image-classification", "--data", shared_data / "mnist" / "test_png", "--out", tmp_path / "run",
        "train.epochs=2", "data.limit=1000", "optim.lr=3e-3", "model.channels=[8]", "model.hidden_size=16",
    )
    assert code == 0, err
    assert "test_png: train 1000, val 300, test 600; 10 classes; inputs 1x28x28" in err
    info = json.loads((tmp_path / "run" / "data.json").read_text())
    assert info["classes"] == [str(digit) for digit in range(10)]
    # Normalisation statistics are the training split's, of pixels scaled to [0, 1].
    assert 0.05 < info["normalize"]["mean"][0] < 0.25 and 0.2 < info["normalize"]["std"][0] < 0.45
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.5  # well above chance (0.1) after two small epochs


def test_augmentation_options_train_and_are_recorded(trainlab, tmp_path):
    code, _, err = trainlab(
        "train", "image-classification", "--data", "digits", "--out", tmp_path / "run", "--quiet",
        "train.epochs=1", "data.augment.crop_padding=1", "data.augment.flip=true",
        "data.augment.rotate_degrees=10", "data.augment.brightness=0.2",
    )
    assert code == 0, err
    assert "crop_padding: 1" in (tmp_path / "run" / "config.yaml").read_text()


def test_data_show_prints_the_summary_of_a_folder_with_train_and_test(trainlab, shared_data):
    code, out, err = trainlab("data", "show", shared_data / "cifar10_imagefolder", "data.val_fraction=0")
    assert code == 0, err
    summary, storage = out.strip().splitlines()
    assert summary == "cifar10_imagefolder: train 5000, test 2000; 10 classes; inputs 3x32x32"
    # 7,000 images of 3x32x32 bytes, and the 5,000 training images' shuffled copy while training.
    assert storage.startswith("images held in memory: 21.5 MB decoded, 36.9 MB while training, within ")


def test_a_corrupt_image_is_skipped_with_a_warning_or_refused_when_strict(trainlab, tmp_path):
    for name, shade in (("dark", 30), ("light", 220)):
        (tmp_path / "images" / name).mkdir(parents=True)
        for index in range(10):
            pixels = np.full((8, 8), shade + index, dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / name / f"{index}.png")
    broken = tmp_path / "images" / "dark" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code, out, err = trainlab("data", "show", tmp_path / "images")
    assert code == 0, err
    assert f"skipping {broken}" in err and "skipped 1 unreadable image(s)" in err
    assert out.startswith("images: train 14, val 2, test 4; 2 classes; inputs 1x8x8")
    code, out, err = trainlab("data", "show", tmp_path / "images", "data.strict=true")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        (f"trainlab: error: {broken}: cannot read the image (cannot identify image file '{broken}'); "
        "remove it or set data.strict=false")
    ]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["nosuch"], "--data nosuch: say what it is for with --task"),
        (["mnistt", "--task", "image-classification"],
         "--data mnistt: neither a builtin image-classification dataset (did you mean 'mnist'?)"),
        (["digits", "--task", "forecast"], "--data digits is a dataset for image-classification; it cannot feed task forecast"),
        (["digits", "train.epochs=3"], "'train.epochs': data show takes data options only"),
    ],
)
def test_data_show_errors_are_one_line(trainlab, arguments, message):
    code, out, err = trainlab("data", "show", *arguments)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
