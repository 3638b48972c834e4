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
from trainlab.data.image_folder import decode_image
from trainlab.data.sequence_batching import PackedSequences
from trainlab.data.tokenizers import TextEncoder
from trainlab.errors import TrainlabError
from trainlab.rundir import TrainedRun, eval_transform, load_run_config, load_trained
from trainlab.training.precision import autocast, unsupported_reason

__all__ = ["Prediction", "TrainedRun", "eval_transform", "load_trained", "predict",
           "stacked_images"]


@dataclass(frozen=True)
class Prediction:
    input: str
    label: str
    probabilities: dict[str, float]  # every class, in the run's class order


def predict(run_dir: str | os.PathLike, inputs: list[str], batch_size: int = 64) -> list[Prediction]:
    """Class and probabilities for each input: texts for a text run, image paths for an image run."""
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    if not registry.tasks.get(config.task).predicts:
        predictable = [entry.name for entry in registry.tasks.entries() if entry.builder.predicts]
        raise TrainlabError(
            f"'{run_dir}' is a {config.task} run; predict takes classification runs ({', '.join(predictable)})"
        )
    if not inputs:
        raise TrainlabError("give at least one input to predict")
    trained = load_trained(run_dir, config)
    model, info = trained.model, trained.info
    classes = info["classes"]
    if trained.encoder is not None:
        batches = _text_batches(trained.encoder, inputs, batch_size)
    else:
        batches = _image_batches(info, inputs, batch_size)
    # In the run's precision where this CPU has it (a bf16 run on a CPU with bf16 arithmetic), as
    # the run evaluated; float32 otherwise.
    cpu, precision = torch.device("cpu"), config.train.precision
    precision = precision if unsupported_reason(precision, cpu) is None else "32"
    probabilities = []
    with torch.no_grad(), autocast(precision, cpu):
        for batch in batches:
            probabilities.append(model(*batch).float().softmax(dim=1))
    table = torch.cat(probabilities).tolist()
    return [
        Prediction(text, classes[int(np.argmax(row))], dict(zip(classes, row)))
        for text, row in zip(inputs, table)
    ]


def _text_batches(encoder: TextEncoder, texts: list[str], batch_size: int):
    encoded = [encoder.encode(text) or [encoder.vocab.encode([""])[0]] for text in texts]
    packed = PackedSequences.from_sequences(encoded)
    for start in range(0, len(texts), batch_size):
        tokens, lengths = packed.pad(torch.arange(start, min(start + batch_size, len(texts))))
        yield tokens, lengths


def stacked_images(arrays: list[np.ndarray], channels: int) -> torch.Tensor:
    """Decoded images, (H, W) or (H, W, 3) each, as one (N, C, H, W) tensor with the run's `channels`
    (a grayscale image is repeated into every channel, as training stacked them)."""
    def channels_first(array: np.ndarray) -> np.ndarray:
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], channels, axis=2)
        return array.transpose(2, 0, 1)

    return torch.from_numpy(np.stack([channels_first(array) for array in arrays]))


def _image_batches(info: dict[str, Any], paths: list[str], batch_size: int):
    channels, height, width = info["image_shape"]
    transform = eval_transform(info)
    arrays = []
    for path in paths:
        if not Path(path).is_file():
            raise TrainlabError(f"{path}: no such image file")
        try:
            array = decode_image(Path(path), (height, width), grayscale=channels == 1)
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise TrainlabError(f"{path}: cannot read the image ({error})") from None
        arrays.append(array)
    images = stacked_images(arrays, channels)
    for start in range(0, len(images), batch_size):
        yield (transform(images[start : start + batch_size]),)
