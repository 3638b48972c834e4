"""Text classification: token ids padded per batch (bucketed by length in training), a TF-IDF
baseline scored on the same splits, and the encoder saved for `trainlab predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from trainlab import registry, runs
from trainlab.config import Config
from trainlab.data.sequence_batching import PaddedBatches
from trainlab.data.sources import load_source
from trainlab.data.text import EncodedTexts
from trainlab.data.tokenizers import PAD_ID
from trainlab.models import TextSpec
from trainlab.models.tfidf import TfidfLogisticRegression
from trainlab.pipelines import classification
from trainlab.training.tasks import ClassificationTask


class TextClassification(classification.ClassificationPipeline):
    def __init__(self, config: Config):
        super().__init__(config)
        self.data = load_source(config.task, config.data)
        self.classes = self.data.classes
        embeddings = self.data.embeddings
        self.spec = TextSpec(len(self.data.vocab), len(self.classes), PAD_ID, embeddings)
        self.task = ClassificationTask(len(self.classes), config.train.label_smoothing)

        def batches(texts: EncodedTexts, shuffle: bool = False) -> PaddedBatches:
            return PaddedBatches(
                texts.sequences, texts.labels, config.data.batch_size,
                shuffle=shuffle, seed=config.run.seed, bucket=config.data.bucket,
            )

        self.train_batches = batches(self.data.train, shuffle=True)
        self.val_batches = batches(self.data.val) if self.data.val is not None else None
        self.test_batches = batches(self.data.test)
        self.info = {
            "summary": self.data.summary(),
            "classes": self.classes,
            "vocab_size": len(self.data.vocab),
            # predict rebuilds the model before loading its weights: the width of pretrained rows.
            "pretrained_embedding_dim": None if embeddings is None else int(embeddings.shape[1]),
            "embedding_coverage": (
                None if self.data.embedding_coverage is None else self.data.embedding_coverage.summary()
            ),
        }

    def save_artifacts(self, run_dir: Path) -> None:
        self.data.encoder().save(run_dir / runs.ENCODER_FILE)

    def finish(self, model: nn.Module, results: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, Any]:
        extra = super().finish(model, results, run_dir)
        # The classical reference, on exactly the tokens the network saw.
        baseline = TfidfLogisticRegression().fit(self.data.train.sequences, self.data.train.labels)
        scores = baseline.evaluate(self.data.test.sequences, self.data.test.labels)
        scores.pop("confusion_matrix", None)
        extra.update({f"baseline_tfidf_{name}": value for name, value in scores.items()})
        return extra


@registry.tasks.register("text-classification", "classify texts (a builtin dataset, a CSV/TSV/JSONL, a folder)")
def text_classification(config: Config) -> TextClassification:
    return TextClassification(config)
