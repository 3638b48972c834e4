"""Batch image transforms: normalisation, augmentations, train/eval transforms, augmented batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainlab.config import AugmentConfig
from trainlab.data import TensorBatches, TransformedBatches
from trainlab.data.transforms import (
    EvalTransform,
    Normalize,
    TrainTransform,
    color_jitter,
    image_transforms,
    random_affine,
    random_crop,
    random_flip,
)


def random_uint8(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8))


def random_unit(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).random(shape, dtype=np.float32))


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def rand_returns(monkeypatch):
    """Make every `torch.rand` draw return `value`: puts a random transform at the end of its range."""

    def force(value: float) -> None:
        def fixed(*size, generator=None, **kwargs):
            return torch.full(size[0] if isinstance(size[0], tuple) else size, value)

        monkeypatch.setattr(torch, "rand", fixed)

    return force


# Normalize


@pytest.mark.parametrize("chunk_values", [1 << 24, 7 * 90, 1])  # whole, chunks of 7 images, one by one
def test_normalize_fit_equals_numpy_per_channel_statistics_of_unit_range_images(chunk_values):
    images = random_uint8((30, 3, 5, 6))
    reference = images.numpy().astype(np.float64) / 255
    normalize = Normalize.fit(images, chunk_values=chunk_values)
    # Pixels become float32 in [0, 1] before the float64 sums: agreement to float32 precision.
    np.testing.assert_allclose(normalize.mean, reference.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(normalize.std, reference.std(axis=(0, 2, 3)), rtol=1e-6)
    normalized = normalize(images.float() / 255).double().numpy()
    np.testing.assert_allclose(normalized.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(normalized.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_normalize_fit_takes_float_images_as_unit_range_and_survives_a_constant_channel():
    images = random_unit((10, 2, 4, 4))
    images[:, 1] = 0.5
    normalize = Normalize.fit(images)
    np.testing.assert_allclose(normalize.mean[0], images[:, 0].double().mean().item(), rtol=1e-6)
    assert normalize.mean[1] == pytest.approx(0.5)
    assert torch.isfinite(normalize(images)).all()
    assert torch.equal(normalize(images)[:, 1], torch.zeros(10, 4, 4))


# random_crop


def test_random_crop_without_padding_is_the_identity():
    images = random_unit((6, 3, 7, 5))
    assert torch.equal(random_crop(images, 0, generator(0)), images)


def test_random_crop_output_is_a_window_of_the_zero_padded_image():
    padding = 2
    images = random_unit((40, 3, 6, 5))
    cropped = random_crop(images, padding, generator(1))
    assert cropped.shape == images.shape
    offsets = set()
    for image, crop in zip(images.numpy(), cropped.numpy()):
        padded = np.pad(image, ((0, 0), (padding, padding), (padding, padding)))
        windows = [
            (top, left)
            for top in range(2 * padding + 1)
            for left in range(2 * padding + 1)
            if np.array_equal(padded[:, top : top + 6, left : left + 5], crop)
        ]
        assert len(windows) == 1  # random pixels make every window different
        offsets.add(windows[0])
    assert len(offsets) > 10  # of the 25 possible offsets: the draws are spread, not stuck


# random_flip


def test_random_flip_mirrors_about_half_of_the_images_whole():
    images = random_unit((2000, 2, 3, 4))
    flipped = random_flip(images, generator(2))
    same = (flipped == images).flatten(1).all(dim=1)
    mirrored = (flipped == images.numpy()[..., ::-1].copy()).flatten(1).all(dim=1)
    assert (same ^ mirrored).all()  # each image is either untouched or mirrored, every channel alike
    assert 0.44 < mirrored.float().mean().item() < 0.56  # 5 standard deviations of a fair coin


# random_affine


def test_random_affine_with_nothing_to_do_is_the_identity():
    images = random_unit((5, 3, 9, 7))
    out = random_affine(images, degrees=0, translate=0, scale=0, generator=generator(3))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("draw", "quarter_turns"), [(1.0, -1), (0.0, 1)])
def test_random_affine_by_plus_90_degrees_turns_clockwise_on_screen(rand_returns, draw, quarter_turns):
    # A draw of 1 (0) gives the angle +degrees (-degrees). With rows going down the screen, +90
    # equals torch.rot90(k=-1): clockwise, the opposite of torchvision's counter-clockwise angles.
    rand_returns(draw)
    images = random_unit((2, 3, 8, 8))
    out = random_affine(images, degrees=90, translate=0, scale=0, generator=generator(0))
    expected = torch.rot90(images, k=quarter_turns, dims=(-2, -1))
    torch.testing.assert_close(out[..., 1:-1, 1:-1], expected[..., 1:-1, 1:-1], atol=1e-5, rtol=0)


def test_random_affine_translate_moves_the_image_by_that_share_of_its_size(rand_returns):
    rand_returns(1.0)  # the largest shift: +translate of the width and height
    images = random_unit((2, 1, 8, 8))
    out = random_affine(images, degrees=0, translate=0.25, scale=0, generator=generator(0))
    expected = torch.zeros_like(images)
    expected[..., 2:, 2:] = images[..., :-2, :-2]  # right and down by 0.25 * 8 pixels, zeros come in
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


# color_jitter


def test_color_jitter_with_no_amounts_is_the_identity():
    images = random_unit((4, 3, 5, 5))
    assert torch.equal(color_jitter(images, 0, 0, 0, generator(0)), images)


@pytest.mark.parametrize("channels", [1, 3])
def test_color_jitter_output_stays_in_the_unit_range(channels):
    images = random_unit((64, channels, 6, 6))
    images[:, :, 0, 0], images[:, :, 0, 1] = 0.0, 1.0
    out = color_jitter(images, 0.9, 0.9, 0.9, generator(4))
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, images)


def test_brightness_scales_each_image_by_one_factor_within_the_amount():
    images = random_unit((50, 3, 4, 4)) * 0.5 + 0.1  # room above, so 1.4x is never clipped
    out = color_jitter(images, 0.4, 0, 0, generator(5))
    ratios = (out / images).flatten(1)
    torch.testing.assert_close(ratios, ratios[:, :1].expand_as(ratios), atol=1e-5, rtol=0)
    assert ratios.min() >= 0.6 - 1e-6 and ratios.max() <= 1.4 + 1e-6
    assert ratios[:, 0].std() > 0.1  # factors differ between images


def test_contrast_scales_the_distance_to_the_image_mean():
    images = random_unit((50, 1, 4, 4)) * 0.4 + 0.3  # room on both sides: no clipping
    out = color_jitter(images, 0, 0.5, 0, generator(6))
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    factors = ((out - mean) / (images - mean)).flatten(1)
    torch.testing.assert_close(factors, factors[:, :1].expand_as(factors), atol=1e-3, rtol=0)
    assert factors.min() >= 0.5 - 1e-3 and factors.max() <= 1.5 + 1e-3


def test_saturation_keeps_the_luminance_and_leaves_gray_pixels_alone():
    images = random_unit((20, 3, 4, 4)) * 0.4 + 0.3
    images[:, :, 0, 0] = images[:, :1, 0, 0]  # one gray pixel per image (R = G = B)
    out = color_jitter(images, 0, 0, 0.5, generator(7))
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)  # ITU-R 601, as Pillow's "L"
    torch.testing.assert_close((out * weights).sum(1), (images * weights).sum(1), atol=1e-6, rtol=0)
    torch.testing.assert_close(out[:, :, 0, 0], images[:, :, 0, 0], atol=1e-6, rtol=0)
    assert not torch.allclose(out, images, atol=1e-3)


# TrainTransform and EvalTransform

AUGMENT = AugmentConfig(crop_padding=2, flip=True, rotate_degrees=10, brightness=0.2)


def test_eval_transform_only_normalises_with_training_statistics():
    train_images = random_uint8((40, 3, 8, 8), seed=1)
    eval_images = random_uint8((6, 3, 8, 8), seed=2)
    train_transform, eval_transform = image_transforms(train_images, AUGMENT)
    assert isinstance(train_transform, TrainTransform) and isinstance(eval_transform, EvalTransform)
    reference = train_images.numpy() / 255
    mean = reference.mean(axis=(0, 2, 3)).reshape(1, 3, 1, 1)
    std = reference.std(axis=(0, 2, 3)).reshape(1, 3, 1, 1)
    expected = torch.from_numpy((eval_images.numpy() / 255 - mean) / std).float()
    model = torch.nn.Sequential(torch.nn.Dropout(0.5)).train()  # a model in train mode changes nothing
    outputs = [eval_transform(eval_images), eval_transform(eval_images, generator(1))]
    outputs.append(eval_transform(eval_images))
    assert model.training
    for out in outputs:
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[0], outputs[2])


def test_train_transform_augments_by_its_generator():
    images = random_uint8((16, 3, 8, 8), seed=3)
    train_transform, eval_transform = image_transforms(images, AUGMENT)
    first = train_transform(images, generator(10))
    assert torch.equal(first, train_transform(images, generator(10)))
    assert not torch.equal(first, train_transform(images, generator(11)))
    assert not torch.equal(first, eval_transform(images))


def test_train_transform_without_augmentation_equals_eval_transform():
    images = random_uint8((8, 1, 6, 6), seed=4)
    train_transform, eval_transform = image_transforms(images, AugmentConfig())
    assert torch.equal(train_transform(images, generator(0)), eval_transform(images))


# TransformedBatches


def augmented_batches(images, labels, transform, shuffle: bool) -> TransformedBatches:
    batches = TensorBatches(images, labels, batch_size=8, shuffle=shuffle, seed=5)
    return TransformedBatches(batches, transform, seed=5)


def augmented_epoch(images, labels, transform, epoch: int, shuffle: bool) -> list[tuple[torch.Tensor, ...]]:
    """All batches of one epoch from freshly built batches, as a resumed run would build them."""
    batches = augmented_batches(images, labels, transform, shuffle)
    batches.set_epoch(epoch)
    return list(batches)


def same_batches(left, right) -> bool:
    return len(left) == len(right) and all(
        all(torch.equal(a, b) for a, b in zip(one, other)) for one, other in zip(left, right)
    )


@pytest.mark.parametrize("shuffle", [True, False])
def test_transformed_batches_repeat_exactly_for_an_epoch_and_change_with_it(shuffle):
    images = random_uint8((20, 3, 8, 8), seed=6)
    labels = torch.arange(20)
    train_transform, _ = image_transforms(images, AugmentConfig(crop_padding=2, flip=True))
    epoch_3 = augmented_epoch(images, labels, train_transform, 3, shuffle)
    assert same_batches(epoch_3, augmented_epoch(images, labels, train_transform, 3, shuffle))
    epoch_4 = augmented_epoch(images, labels, train_transform, 4, shuffle)
    assert not same_batches(epoch_3, epoch_4)
    # Iterating the same object twice within an epoch gives the same batches too.
    batches = augmented_batches(images, labels, train_transform, shuffle)
    batches.set_epoch(3)
    assert same_batches(list(batches), epoch_3)
    assert [len(batch[1]) for batch in epoch_3] == [8, 8, 4]


def test_transformed_batches_keep_each_label_with_its_image():
    images = random_uint8((24, 1, 5, 5), seed=7)
    labels = torch.arange(24)
    flip_only = TrainTransform(Normalize((0.0,), (1.0,)), AugmentConfig(flip=True))
    for inputs, targets in augmented_epoch(images, labels, flip_only, 1, shuffle=True):
        originals = images[targets].float() / 255
        for image, original in zip(inputs, originals):
            assert torch.equal(image, original) or torch.equal(image, original.flip(-1))
