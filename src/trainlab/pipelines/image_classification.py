"""Image classification: images normalised by the training split, augmented in training only."""

from __future__ import annotations

from dataclasses import asdict

from trainlab import registry
from trainlab.config import Config
from trainlab.data.batching import TensorBatches, TransformedBatches
from trainlab.data.sources import load_source
from trainlab.data.transforms import image_transforms
from trainlab.models import ImageSpec
from trainlab.pipelines import classification
from trainlab.training.tasks import ClassificationTask


class ImageClassification(classification.ClassificationPipeline):
    def __init__(self, config: Config):
        super().__init__(config)
        self.data = load_source(config.task, config.data)
        images = self.data.train[0]  # (N, C, H, W)
        train_transform, eval_transform = image_transforms(images, config.data.augment)
        self.classes = self.data.classes
        self.spec = ImageSpec(images.shape[1], images.shape[2], images.shape[3], len(self.classes))
        self.task = ClassificationTask(len(self.classes), config.train.label_smoothing)
        batch_size, seed = config.data.batch_size, config.run.seed

        def batches(pair, transform, shuffle: bool = False) -> TransformedBatches:
            plain = TensorBatches(*pair, batch_size=batch_size, shuffle=shuffle, seed=seed)
            return TransformedBatches(plain, transform, seed)

        self.train_batches = batches(self.data.train, train_transform, shuffle=True)
        self.val_batches = batches(self.data.val, eval_transform) if self.data.val is not None else None
        self.test_batches = batches(self.data.test, eval_transform)
        self.info = {
            "summary": self.data.summary(),
            "classes": self.classes,
            "image_shape": list(images.shape[1:]),  # (C, H, W) the model was built for
            "normalize": asdict(eval_transform.normalize),
        }


@registry.tasks.register("image-classification", "classify images (a builtin dataset or a folder)")
def image_classification(config: Config) -> ImageClassification:
    return ImageClassification(config)
