"""The image-classification pipeline's splits against statistics computed by hand: validation and
test batches get the evaluation transform (no augmentation, the training split's normalisation),
and a cross-validation fold (`use_fold`) refits the normalisation on its own training part.

The data are synthetic uint8 RGB images whose splits have different channel levels, so statistics
fitted on the wrong images (another split, the pooled data, the held-out fold) are far off."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from trainlab.config import build_config
from trainlab.data.splits import ClassificationSplits
from trainlab.metrics.statistics import stratified_folds
from trainlab.pipelines import image_classification
from trainlab.studies.runner import use_fold

CLASSES = ["a", "b", "c"]
AUGMENT = {"crop_padding": 2, "flip": True, "brightness": 0.3}


def images(count: int, levels: tuple[int, int, int], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` 6x6 RGB uint8 images, channel c uniform in [levels[c], levels[c] + 100), and labels
    0, 1, 2, 0, ... (every class equally often)."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randint(0, 100, (count, 3, 6, 6), generator=generator)
    pixels = (noise + torch.tensor(levels).view(1, 3, 1, 1)).to(torch.uint8)
    return pixels, torch.arange(count) % len(CLASSES)


SPLITS = ClassificationSplits(
    "synthetic",
    train=images(36, (0, 40, 80), seed=0),
    val=images(9, (150, 20, 60), seed=1),  # brighter red, darker green and blue than training
    test=images(12, (120, 150, 0), seed=2),
    classes=CLASSES,
)


@pytest.fixture
def pipeline(monkeypatch) -> image_classification.ImageClassification:
    monkeypatch.setattr(image_classification, "load_source", lambda task, data: SPLITS)
    config = build_config({"task": "image-classification",
                           "data": {"source": "digits", "batch_size": 4, "augment": AUGMENT},
                           "model": {"name": "mlp", "hidden_sizes": [8]}})
    return image_classification.ImageClassification(config)


def statistics(pixels: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and population standard deviation of uint8 images read as [0, 1] (in
    float64; the pipeline divides by 255 in float32, hence comparisons to rel=1e-6)."""
    unit = pixels.double() / 255
    return unit.mean(dim=(0, 2, 3)).tolist(), unit.std(dim=(0, 2, 3), unbiased=False).tolist()


def normalized(pixels: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    mean, std = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    return (pixels.double() / 255 - mean) / std


def everything(batches) -> tuple[torch.Tensor, torch.Tensor]:
    inputs, labels = zip(*batches)
    return torch.cat(inputs), torch.cat(labels)


def assert_evaluation_batches(batches, pair, mean, std) -> None:
    """Every epoch gives the same batches: the images in order, normalised, nothing random."""
    for epoch in (0, 1, 5):
        batches.set_epoch(epoch)
        inputs, labels = everything(batches)
        torch.testing.assert_close(inputs.double(), normalized(pair[0], mean, std), rtol=0, atol=1e-5)
        assert torch.equal(labels, pair[1])


def test_validation_and_test_batches_get_the_evaluation_transform(pipeline):
    mean, std = statistics(SPLITS.train[0])
    assert pipeline.info["normalize"] == {"mean": pytest.approx(mean, rel=1e-6), "std": pytest.approx(std, rel=1e-6)}
    assert_evaluation_batches(pipeline.val_batches, SPLITS.val, mean, std)
    assert_evaluation_batches(pipeline.test_batches, SPLITS.test, mean, std)
    # Training images are augmented (so the equalities above would fail with the training
    # transform), then normalised with the same statistics.
    training = pipeline.train_batches.transform
    assert training.normalize == pipeline.eval_transform.normalize
    augmented = training(SPLITS.train[0], torch.Generator().manual_seed(0))
    assert (augmented.double() - normalized(SPLITS.train[0], mean, std)).abs().amax() > 0.5
    assert everything(pipeline.train_batches)[0].shape == (36, 3, 6, 6)


def image_keys(pair) -> Counter:
    """The examples of a split as a multiset of (image bytes, label)."""
    return Counter((image.numpy().tobytes(), int(label)) for image, label in zip(*pair))


@pytest.mark.parametrize("fold", [0, 1, 2])
def test_a_fold_refits_the_normalisation_on_its_own_training_part(pipeline, fold):
    use_fold(pipeline, fold, 3)
    data = pipeline.data
    # Fold k of the pooled training and validation images is held out; the rest trains.
    pool = (torch.cat([SPLITS.train[0], SPLITS.val[0]]), torch.cat([SPLITS.train[1], SPLITS.val[1]]))
    held_out = torch.from_numpy(stratified_folds(pool[1].numpy(), 3, seed=0)[fold])
    assert image_keys(data.val) == image_keys((pool[0][held_out], pool[1][held_out]))
    assert image_keys(data.train) + image_keys(data.val) == image_keys(pool)
    assert Counter(data.val[1].tolist()) == {0: 5, 1: 5, 2: 5}  # stratified: 15 per class, 3 folds
    assert data.test is SPLITS.test

    mean, std = statistics(data.train[0])  # this fold's training images only
    normalize = pipeline.eval_transform.normalize
    assert normalize.mean == pytest.approx(mean, rel=1e-6) and normalize.std == pytest.approx(std, rel=1e-6)
    assert pipeline.train_batches.transform.normalize == normalize
    assert pipeline.info["normalize"] == {"mean": normalize.mean, "std": normalize.std}
    assert (pipeline.info["fold"], pipeline.info["folds"]) == (fold, 3)
    # Statistics of the original training split, of the pool or of the held-out fold would fail
    # the comparison above: they are off by far more than its tolerance.
    for others in (SPLITS.train[0], pool[0], data.val[0]):
        assert max(abs(a - b) for a, b in zip(statistics(others)[0], mean)) > 1e-3
    assert_evaluation_batches(pipeline.val_batches, data.val, mean, std)
    assert_evaluation_batches(pipeline.test_batches, SPLITS.test, mean, std)
