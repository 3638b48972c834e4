"""Image classification: images normalised by the training split, augmented in training only.

A finished run adds to metrics.json the model's multiply-adds for one image (`multiply_adds`) and the
mean training loss of its first epoch (`first_epoch_train_loss`, what the initialisation study
compares), and writes RUN_DIR/test_examples.npz: a few test images and the test images the model got
most confidently wrong, which the CNN figures (reports/cnn_plots.py) show.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from trainlab import registry, rundir
from trainlab.config import AugmentConfig, Config, ImageDataConfig
from trainlab.data.image_stream import FileImages, StreamingBatches, materialize, streaming_workers
from trainlab.data.sources import load_source
from trainlab.data.splits import ClassificationSplits
from trainlab.data.transforms import EvalTransform, Normalize, TrainTransform, image_transforms
from trainlab.models import ImageSpec
from trainlab.models.flops import count_multiply_adds
from trainlab.models.imagenet_weights import IMAGE_SIZE, MEAN, STD
from trainlab.models.modes import evaluating
from trainlab.pipelines.classification import ClassificationPipeline
from trainlab.training.tasks import HeadOnlyTask

NORMALIZE_SAMPLE = 1000  # streamed images: the normalisation's statistics come from this many
SAMPLES_KEPT = 8  # the first test images, as the data gave them: inputs for feature-map figures
MISCLASSIFIED_KEPT = 32  # the most confident mistakes


@registry.tasks.register("image-classification", "classify images (a builtin dataset or a folder)")
class ImageClassification(ClassificationPipeline):
    default_model = "simple_cnn"
    tuning_space: ClassVar[dict[str, dict[str, Any]]] = {
        "optim.lr": {"type": "log-float", "low": 1e-4, "high": 1e-2},
        "model.hidden_size": {"type": "choice", "values": [64, 128, 256]},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "optim.weight_decay": {"type": "choice", "values": [0.0, 1e-4, 1e-3]},
    }
    data_section = ImageDataConfig
    loader = "trainlab.data.images:load_image_source"
    new_data_scorer = "trainlab.evaluation:score_images"
    reference_spec = ImageSpec(3, 32, 32, 10)  # CIFAR-sized images, 10 classes
    predicts = True

    def __init__(self, config: Config):
        super().__init__(config)
        # ImageNet weights expect what they were trained on: RGB at 224x224, ImageNet's statistics.
        self.imagenet = getattr(config.model, "pretrained", "none") == "imagenet"
        data = load_source(config.task, imagenet_inputs(config.data) if self.imagenet else config.data)
        if self.imagenet:
            data = as_rgb(data)
        images = data.train[0]  # (N, C, H, W)
        self.classes = data.classes
        self.spec = ImageSpec(images.shape[1], images.shape[2], images.shape[3], len(self.classes))
        self.task = self.classification_task(data.train[1])
        self.use_splits(data)

    def use_splits(self, data: ClassificationSplits) -> None:
        """Train, validate and test on `data` (the same classes and image shape): the
        normalisation is fitted on its training images (ImageNet's statistics for ImageNet
        weights), which alone are augmented. Features cached from earlier splits are dropped."""
        self.data = data
        if isinstance(self.task, HeadOnlyTask):  # new images: the whole network runs again
            self.task = self.task.task
        augment, normalize = self.config.data.augment, None
        if self.imagenet:
            normalize = Normalize(MEAN, STD)
            # Nothing chosen: the weights' own recipe, unless a fixed backbone's features are cached.
            if not augment.model_fields_set and not self.config.finetune.backbone_fixed:
                augment = AugmentConfig(random_resized_crop=True, flip=True)
        self.augment = augment
        images, self.normalize_sample = data.train[0], None
        if isinstance(images, FileImages) and normalize is None and len(images) > NORMALIZE_SAMPLE:
            # Statistics of a sample spread over the split: reading every image would cost an epoch.
            images = images[np.linspace(0, len(images) - 1, NORMALIZE_SAMPLE).astype(int)]
            self.normalize_sample = NORMALIZE_SAMPLE
        train_transform, self.eval_transform = image_transforms(materialize(images), augment, normalize)
        if isinstance(data.train[0], FileImages):
            self.use_streaming_batches(data, train_transform)
        else:
            self.use_tensor_batches(data.train, data.val, data.test, train_transform, self.eval_transform)
        self.info = {
            "summary": data.summary(),
            "classes": self.classes,
            "image_shape": list(data.train[0].shape[1:]),  # (C, H, W) the model was built for
            "normalize": asdict(self.eval_transform.normalize),
        }

    def use_streaming_batches(self, data: ClassificationSplits, train_transform: TrainTransform) -> None:
        """Batches decoded from the files by worker processes, which also augment and normalise."""
        config = self.config

        def batches(pair: tuple | None, transform: Any, shuffle: bool = False) -> StreamingBatches | None:
            if pair is None:
                return None
            return StreamingBatches(
                *pair, batch_size=config.data.batch_size, shuffle=shuffle, seed=config.run.seed, transform=transform,
                workers=streaming_workers(config.data),
                strict=config.data.strict, pin_memory=config.train.device != "cpu" and torch.cuda.is_available(),
            )

        self.train_batches = batches(data.train, train_transform, shuffle=True)
        self.val_batches = batches(data.val, self.eval_transform)
        self.test_batches = batches(data.test, self.eval_transform)

    def use_backbone_features(self, model: nn.Module, device: torch.device) -> str | None:
        """With a frozen backbone (its BatchNorm statistics too) and no augmentation, every image's
        features are the same in every epoch: compute them once, and train the head on them."""
        finetune = self.config.finetune
        if not (finetune.backbone_fixed and finetune.cache_features) or any(value for _, value in self.augment):
            return None
        if not (hasattr(model, "forward_features") and hasattr(model, "forward_head")):
            return None
        started = time.perf_counter()
        # Pooled as the head pools them (pooling pooled maps again changes nothing), so a VGG keeps
        # 512x7x7 numbers per image and a ResNet 512, not the whole last feature map.
        pool = getattr(model, "avgpool", nn.Identity())
        splits = {"train": self.data.train, "val": self.data.val, "test": self.data.test}
        batch_size = self.config.data.batch_size
        features = {name: None if pair is None else (backbone_features(model, pool, pair[0], self.eval_transform,
                                                                       device, batch_size), pair[1])
                    for name, pair in splits.items()}
        self.use_tensor_batches(features["train"], features["val"], features["test"])
        self.task = HeadOnlyTask(self.task)
        counts = ", ".join(f"{len(pair[1]):,} {name}" for name, pair in features.items() if pair is not None)
        shape = "x".join(str(size) for size in features["train"][0].shape[1:])
        return (f"frozen backbone, no augmentation: the features of every image ({counts}; {shape} each) were "
                f"computed once in {time.perf_counter() - started:.1f} s, and the head trains on them")

    def summary(self) -> str:
        lines = [super().summary()]
        if self.normalize_sample:
            lines.append(f"normalised with the mean and std of {self.normalize_sample:,} training images spread "
                         "over the split")
        if self.imagenet:
            lines.append(f"ImageNet weights ({self.config.model.name}): inputs {self.spec.height}x{self.spec.width} "
                         f"RGB, normalised with ImageNet's mean and std; training augmentation "
                         f"{self._augmentation_words()}")
        return "\n".join(lines)

    def _augmentation_words(self) -> str:
        chosen = [name for name, value in self.augment if value]
        return ", ".join(name.replace("_", "-") for name in chosen) or "none"

    def finish(self, model: nn.Module, results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Any]:
        extra = super().finish(model, results, run_dir)
        extra["multiply_adds"] = count_multiply_adds(
            model, (self.spec.in_channels, self.spec.height, self.spec.width)
        )
        first_loss = first_epoch_train_loss(run_dir)
        if first_loss is not None:
            extra["first_epoch_train_loss"] = first_loss
        save_test_examples(model, self.data.test, self.eval_transform, run_dir / rundir.TEST_EXAMPLES_FILE,
                           self.config.data.batch_size)
        return extra

    @staticmethod
    def spec_from_info(info: dict[str, Any], encoder: Any) -> ImageSpec:
        return ImageSpec(*info["image_shape"], len(info["classes"]))

    @staticmethod
    def spec_from_shape(input_shape: tuple[int, ...], num_classes: int) -> ImageSpec:
        if len(input_shape) != 3:
            raise ValueError("takes images; give C,H,W, e.g. 3,32,32")
        return ImageSpec(*input_shape, num_classes)

    @staticmethod
    def example_input(spec: ImageSpec, tokens: int) -> tuple[tuple[torch.Tensor, ...], str]:
        shape = (spec.in_channels, spec.height, spec.width)
        return (torch.zeros(1, *shape),), "one {}x{}x{} image".format(*shape)


def backbone_features(model: nn.Module, pool: nn.Module, images: torch.Tensor, transform: EvalTransform,
                      device: torch.device, batch_size: int = 256) -> torch.Tensor:
    """`pool(model.forward_features(images))` for raw images (N, C, H, W), in eval mode without
    gradients, computed on `device` and kept on the CPU."""
    model.to(device)
    chunks = []
    with evaluating(model), torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = transform(materialize(images[start : start + batch_size])).to(device)
            chunks.append(pool(model.forward_features(batch)).float().cpu())
    return torch.cat(chunks)


def imagenet_inputs(data: ImageDataConfig) -> ImageDataConfig:
    """The data options with what ImageNet weights expect where the user chose nothing: folders
    resized to the weights' 224x224 and read as RGB."""
    updates = {}
    if data.image_size is None:
        updates["image_size"] = IMAGE_SIZE
    if data.color == "auto":
        updates["color"] = "rgb"
    return data.model_copy(update=updates)


def as_rgb(data: ClassificationSplits) -> ClassificationSplits:
    """Grayscale images (a builtin dataset) repeated into three channels, as ImageNet weights take."""
    if data.train[0].shape[1] == 3:
        return data

    def rgb(pair: tuple | None) -> tuple | None:
        if pair is None:
            return None
        if isinstance(pair[0], FileImages):
            return pair[0].with_channels(3), pair[1]
        return pair[0].expand(-1, 3, -1, -1).contiguous(), pair[1]

    return replace(data, train=rgb(data.train), val=rgb(data.val), test=rgb(data.test))


def first_epoch_train_loss(run_dir: Path) -> float | None:
    """The mean training loss of epoch 1 from history.csv; None without that file or column."""
    history = rundir.read_history(run_dir)
    return history[0].get("train_loss") if history else None


def predict_probabilities(
    model: nn.Module, images: torch.Tensor, transform: EvalTransform, batch_size: int = 256
) -> torch.Tensor:
    """Softmax probabilities (N, num_classes) of raw images (N, C, H, W), in eval mode, on the
    model's device; the model's train/eval mode is left as it was."""
    device = next(model.parameters()).device
    probabilities = []
    with evaluating(model), torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = transform(materialize(images[start : start + batch_size])).to(device)
            probabilities.append(model(batch).float().softmax(dim=1).cpu())
    return torch.cat(probabilities)


def save_test_examples(
    model: nn.Module, test: tuple[torch.Tensor, torch.Tensor], transform: EvalTransform, path: Path,
    batch_size: int = 256,
) -> None:
    """Write the first test images and the most confidently misclassified ones to `path` (.npz).

    Images are kept as the data gave them (uint8, or float in [0, 1]), not normalised. Arrays:
        sample_images (S, C, H, W), sample_labels (S,): the first SAMPLES_KEPT test examples;
        misclassified_images (M, C, H, W), misclassified_labels (M,) true classes,
        misclassified_predictions (M,), misclassified_confidence (M,) the predicted class's
        probability, misclassified_indices (M,) positions in the test split; most confident first.
    """
    images, labels = test
    probabilities = predict_probabilities(model, images, transform, batch_size)
    confidence, predictions = probabilities.max(dim=1)
    wrong = torch.nonzero(predictions != labels).flatten()
    wrong = wrong[torch.argsort(confidence[wrong], descending=True, stable=True)][:MISCLASSIFIED_KEPT]
    arrays = {
        "sample_images": materialize(images[:SAMPLES_KEPT]).numpy(),
        "sample_labels": labels[:SAMPLES_KEPT].numpy(),
        "misclassified_images": materialize(images[wrong]).numpy(),
        "misclassified_labels": labels[wrong].numpy(),
        "misclassified_predictions": predictions[wrong].numpy(),
        "misclassified_confidence": confidence[wrong].numpy().astype(np.float32),
        "misclassified_indices": wrong.numpy(),
    }
    temporary = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(temporary, **arrays)
    temporary.replace(path)
