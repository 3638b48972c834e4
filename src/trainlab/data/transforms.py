"""Image transforms on whole batches of tensors (B, C, H, W): augmentation and normalisation.

Training and evaluation get different classes: `TrainTransform` always augments (whatever mode the
model is in), `EvalTransform` has no augmentation to switch on. Both normalise with per-channel
statistics of the training split, so nothing about validation or test images leaks into training.

Random draws come from a `torch.Generator` that the caller seeds per epoch, so a resumed run sees
the same augmented batches as an uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from trainlab.config import AugmentConfig


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images become float32 in [0, 1]; float images are taken to be in [0, 1] already."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


@dataclass(frozen=True)
class Normalize:
    """(x - mean) / std per channel; statistics are of images in [0, 1]."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, images: torch.Tensor, chunk_values: int = 1 << 24) -> Normalize:
        """Per-channel mean and std of a split (float64 sums, in chunks of about `chunk_values`
        numbers, 128 MB as float64: no float copy of the whole split)."""
        channels = images.shape[1]
        total = torch.zeros(channels, dtype=torch.float64)
        total_sq = torch.zeros(channels, dtype=torch.float64)
        batch_size = max(1, chunk_values // max(1, images[0].numel()))
        for start in range(0, len(images), batch_size):
            chunk = to_unit_float(images[start : start + batch_size]).double()
            total += chunk.sum(dim=(0, 2, 3))
            total_sq += chunk.square().sum(dim=(0, 2, 3))
        count = images.shape[0] * images.shape[2] * images.shape[3]
        mean = total / count
        std = (total_sq / count - mean.square()).clamp_min(0).sqrt().clamp_min(1e-6)
        return cls(tuple(mean.tolist()), tuple(std.tolist()))

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=images.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=images.dtype).view(1, -1, 1, 1)
        return (images - mean) / std


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """A random crop of the original size from each image zero-padded by `padding` pixels."""
    batch, channels, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    top = torch.randint(0, 2 * padding + 1, (batch,), generator=generator)
    left = torch.randint(0, 2 * padding + 1, (batch,), generator=generator)
    rows = (top[:, None] + torch.arange(height))[:, None, :, None]  # (B, 1, H, 1)
    cols = (left[:, None] + torch.arange(width))[:, None, None, :]  # (B, 1, 1, W)
    return padded[torch.arange(batch)[:, None, None, None], torch.arange(channels)[None, :, None, None], rows, cols]


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image mirrored left-right with probability 1/2."""
    flip = torch.rand(len(images), generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_affine(
    images: torch.Tensor, degrees: float, translate: float, scale: float, generator: torch.Generator
) -> torch.Tensor:
    """Random rotation in [-degrees, degrees], shift up to `translate` of the size, zoom in
    [1 - scale, 1 + scale], about the centre, bilinear, with zeros outside the image."""
    batch = len(images)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(batch, generator=generator)

    angle = uniform(-degrees, degrees) * math.pi / 180
    zoom = uniform(1 - scale, 1 + scale)
    # affine_grid maps output to input coordinates in [-1, 1], so the inverse transform goes in
    # theta: rotate by -angle, divide by zoom, shift by -2 * translate (the full width is 2).
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    shift_x, shift_y = uniform(-translate, translate) * 2, uniform(-translate, translate) * 2
    theta = torch.stack(
        [torch.stack([cos, sin, -shift_x], dim=1), torch.stack([-sin, cos, -shift_y], dim=1)], dim=1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_resized_crop(
    images: torch.Tensor, generator: torch.Generator, area: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> torch.Tensor:
    """For each image a random box of `area` (fractions of the image) and aspect `ratio` (width /
    height, drawn log-uniformly), resized back to the image's size, bilinear (torchvision's
    RandomResizedCrop; a box that would not fit is shrunk to the image instead of redrawn)."""
    batch = len(images)
    uniform = torch.rand(4, batch, generator=generator)
    fraction = area[0] + (area[1] - area[0]) * uniform[0]
    aspect = torch.exp(math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * uniform[1])
    width = torch.sqrt(fraction * aspect).clamp(max=1)  # of the image's width
    height = torch.sqrt(fraction / aspect).clamp(max=1)
    # affine_grid maps the output's [-1, 1] onto the box: half-sizes `width`, `height` of the
    # image's half-size 1, centred anywhere the box fits.
    centre_x = (2 * uniform[2] - 1) * (1 - width)
    centre_y = (2 * uniform[3] - 1) * (1 - height)
    zeros = torch.zeros(batch)
    theta = torch.stack(
        [torch.stack([width, zeros, centre_x], dim=1), torch.stack([zeros, height, centre_y], dim=1)], dim=1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def color_jitter(
    images: torch.Tensor, brightness: float, contrast: float, saturation: float, generator: torch.Generator
) -> torch.Tensor:
    """Random brightness, contrast and (for RGB) saturation factors in [1 - x, 1 + x], in that
    order, on images in [0, 1]; the result is clipped to [0, 1]."""
    batch = len(images)

    def factors(amount: float) -> torch.Tensor:
        return (1 - amount + 2 * amount * torch.rand(batch, generator=generator)).view(-1, 1, 1, 1)

    if brightness:
        images = images * factors(brightness)
    if contrast:
        mean = _luminance(images).mean(dim=(1, 2, 3), keepdim=True)
        images = mean + (images - mean) * factors(contrast)
    if saturation and images.shape[1] == 3:
        gray = _luminance(images)
        images = gray + (images - gray) * factors(saturation)
    return images.clamp(0, 1)


def _luminance(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) gray level (ITU-R 601 weights for RGB, as Pillow's convert("L"))."""
    if images.shape[1] != 3:
        return images.mean(dim=1, keepdim=True)
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype).view(1, 3, 1, 1)
    return (images * weights).sum(dim=1, keepdim=True)


class EvalTransform:
    """Evaluation images: to float in [0, 1], then normalised; nothing random."""

    def __init__(self, normalize: Normalize):
        self.normalize = normalize

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.normalize(to_unit_float(images))


class TrainTransform:
    """Training images: to float, the configured augmentations, then the same normalisation."""

    def __init__(self, normalize: Normalize, augment: AugmentConfig):
        self.normalize = normalize
        self.augment = augment

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        augment = self.augment
        images = to_unit_float(images)
        if augment.random_resized_crop:
            images = random_resized_crop(images, generator)
        if augment.crop_padding:
            images = random_crop(images, augment.crop_padding, generator)
        if augment.flip:
            images = random_flip(images, generator)
        if augment.rotate_degrees or augment.translate or augment.scale:
            images = random_affine(images, augment.rotate_degrees, augment.translate, augment.scale, generator)
        if augment.brightness or augment.contrast or augment.saturation:
            images = color_jitter(images, augment.brightness, augment.contrast, augment.saturation, generator)
        return self.normalize(images)


def image_transforms(
    train_images: torch.Tensor, augment: AugmentConfig, normalize: Normalize | None = None
) -> tuple[TrainTransform, EvalTransform]:
    """The pair of transforms for a dataset, normalised with `normalize` or, by default, with its
    training split's statistics."""
    normalize = normalize or Normalize.fit(train_images)
    return TrainTransform(normalize, augment), EvalTransform(normalize)
