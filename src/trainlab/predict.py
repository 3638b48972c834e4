"""Predictions of a trained classifier for new inputs: texts, or image files.

The model is rebuilt from the run directory alone (config.yaml, data.json, the saved tokenizer and
the checkpoint the run was scored with), so prediction needs neither the training data nor network.
`rundir.load_trained` does that rebuilding for every task.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import UnidentifiedImageError

from trainlab import registry
from trainlab.data.image_folder import decode_image, stack_channels_first
from trainlab.data.sequence_batching import PackedSequences
from trainlab.data.tokenizers import TextEncoder
from trainlab.errors import TrainlabError
from trainlab.metrics.model_choice import blend
from trainlab.models.tfidf import SavedTfidf
from trainlab.rundir import (
    TrainedRun,
    eval_transform,
    load_chosen_baseline,
    load_run_config,
    load_trained,
)
from trainlab.training.precision import autocast, unsupported_reason

__all__ = ["Prediction", "PredictionSession", "TrainedRun", "eval_transform", "load_trained",
           "open_prediction_session", "predict", "stacked_images"]


@dataclass(frozen=True)
class Prediction:
    input: str
    label: str
    probabilities: dict[str, float]  # every class, in the run's class order


@dataclass
class PredictionSession:
    """A trained classifier rebuilt from its run directory, ready to score inputs in batches."""

    model: torch.nn.Module
    info: dict[str, Any]
    encoder: TextEncoder | None  # text runs; None for image runs
    precision: str  # the run's precision where this CPU has it, else "32"
    # Text runs whose model chosen on validation blends in the TF-IDF baseline: its weight is
    # 1 - network_weight (metrics/model_choice.py).
    network_weight: float = 1.0
    baseline: SavedTfidf | None = None

    @property
    def classes(self) -> list[str]:
        return self.info["classes"]

    def probabilities(self, inputs: list[str] | torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """(N, classes) probabilities of texts (text runs) or of decoded images (N, C, H, W) as
        `stacked_images` makes them (image runs), in input order."""
        if self.encoder is not None:
            order, packed, batches = _text_batches(self.encoder, inputs, batch_size)
        else:
            order, batches = None, _image_batches(self.info, inputs, batch_size)
        outputs = []
        with torch.inference_mode(), autocast(self.precision, torch.device("cpu")):
            for batch in batches:
                outputs.append(self.model(*batch).float().softmax(dim=1))
        probabilities = torch.cat(outputs)
        if order is None:
            return probabilities
        if self.baseline is not None:
            tfidf = self.baseline.predict_proba(packed)
            probabilities = torch.from_numpy(blend(probabilities.double().numpy(), tfidf, self.network_weight)).float()
        restored = torch.empty_like(probabilities)
        restored[order] = probabilities  # batches were sorted by length
        return restored


def open_prediction_session(run_dir: str | os.PathLike) -> PredictionSession:
    """The run's model for prediction; an error naming the tasks that predict for any other run."""
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    if not registry.tasks.get(config.task).predicts:
        predictable = [entry.name for entry in registry.tasks.entries() if entry.builder.predicts]
        raise TrainlabError(
            f"'{run_dir}' is a {config.task} run; predict takes classification runs ({', '.join(predictable)})"
        )
    trained = load_trained(run_dir, config)
    # In the run's precision where this CPU has it (a bf16 run on a CPU with bf16 arithmetic), as
    # the run evaluated; float32 otherwise.
    precision = config.train.precision
    precision = precision if unsupported_reason(precision, torch.device("cpu")) is None else "32"
    network_weight, baseline = load_chosen_baseline(run_dir) if trained.encoder is not None else (1.0, None)
    return PredictionSession(trained.model.eval(), trained.info, trained.encoder, precision, network_weight, baseline)


def predict(run_dir: str | os.PathLike, inputs: list[str], batch_size: int = 64) -> list[Prediction]:
    """Class and probabilities for each input: texts for a text run, image paths for an image run."""
    session = open_prediction_session(run_dir)
    if not inputs:
        raise TrainlabError("give at least one input to predict")
    if session.encoder is None:
        channels, height, width = session.info["image_shape"]
        arrays = [_read_image(Path(path), (height, width), channels) for path in inputs]
        table = session.probabilities(stacked_images(arrays, channels), batch_size).tolist()
    else:
        table = session.probabilities(inputs, batch_size).tolist()
    classes = session.classes
    return [
        Prediction(text, classes[int(np.argmax(row))], dict(zip(classes, row)))
        for text, row in zip(inputs, table)
    ]


def _text_batches(encoder: TextEncoder, texts: list[str], batch_size: int):
    """(order, packed, batches): the texts encoded, sorted shortest first (`packed`) and batched, so
    that a batch pads little; `order[i]` is the input position of the i-th text batched."""
    encoded = [encoder.encode(text) or [encoder.vocab.encode([""])[0]] for text in texts]
    order = torch.argsort(torch.tensor([len(ids) for ids in encoded]), stable=True)
    packed = PackedSequences.from_sequences([encoded[index] for index in order.tolist()])

    def batches():
        for start in range(0, len(texts), batch_size):
            yield packed.pad(torch.arange(start, min(start + batch_size, len(texts))))

    return order, packed, batches()


def stacked_images(arrays: list[np.ndarray], channels: int) -> torch.Tensor:
    """Decoded images, (H, W) or (H, W, 3) each, as one (N, C, H, W) tensor with the run's `channels`
    (a grayscale image is repeated into every channel, as training stacked them)."""
    return torch.from_numpy(stack_channels_first(arrays, channels))


def _read_image(path: Path, size: tuple[int, int], channels: int) -> np.ndarray:
    if not path.is_file():
        raise TrainlabError(f"{path}: no such image file")
    try:
        return decode_image(path, size, grayscale=channels == 1)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise TrainlabError(f"{path}: cannot read the image ({error})") from None


def _image_batches(info: dict[str, Any], images: torch.Tensor, batch_size: int):
    transform = eval_transform(info)
    for start in range(0, len(images), batch_size):
        yield (transform(images[start : start + batch_size]),)
