"""Predictions of a trained classifier for new inputs: texts, or image files.

The model is rebuilt from the run directory alone (config.yaml, data.json, the saved tokenizer and
the checkpoint the run was scored with), so prediction needs neither the training data nor network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import UnidentifiedImageError
from torch import nn

from trainlab import runs
from trainlab.config import Config
from trainlab.data.image_folder import decode_image
from trainlab.data.sequence_batching import PackedSequences
from trainlab.data.tokenizers import PAD_ID, TextEncoder
from trainlab.data.transforms import EvalTransform, Normalize
from trainlab.errors import TrainlabError
from trainlab.experiment import load_run_config, scored_checkpoint
from trainlab.models import ImageSpec, TextSpec, build_model
from trainlab.training.checkpoint import load_weights

PREDICTABLE_TASKS = ("image-classification", "text-classification")


@dataclass(frozen=True)
class Prediction:
    input: str
    label: str
    probabilities: dict[str, float]  # every class, in the run's class order


def predict(run_dir: str | os.PathLike, inputs: list[str], batch_size: int = 64) -> list[Prediction]:
    """Class and probabilities for each input: texts for a text run, image paths for an image run."""
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    if config.task not in PREDICTABLE_TASKS:
        raise TrainlabError(
            f"'{run_dir}' is a {config.task} run; predict takes classification runs "
            f"({', '.join(PREDICTABLE_TASKS)})"
        )
    if not inputs:
        raise TrainlabError("give at least one input to predict")
    info = runs.read_json(run_dir / runs.DATA_FILE)
    classes = info["classes"]
    if config.task == "text-classification":
        encoder = TextEncoder.load(run_dir / runs.ENCODER_FILE)
        model = _trained_model(run_dir, config, _text_spec(info))
        batches = _text_batches(encoder, inputs, batch_size)
    else:
        model = _trained_model(run_dir, config, ImageSpec(*info["image_shape"], len(classes)))
        batches = _image_batches(info, inputs, batch_size)
    probabilities = []
    with torch.no_grad():
        for batch in batches:
            probabilities.append(model(*batch).softmax(dim=1))
    table = torch.cat(probabilities).tolist()
    return [
        Prediction(text, classes[int(np.argmax(row))], dict(zip(classes, row)))
        for text, row in zip(inputs, table)
    ]


def _text_spec(info: dict[str, Any]) -> TextSpec:
    embeddings = None
    if info.get("pretrained_embedding_dim"):
        # Placeholder rows of the right width; the checkpoint holds the trained ones.
        embeddings = torch.zeros(info["vocab_size"], info["pretrained_embedding_dim"])
    return TextSpec(info["vocab_size"], len(info["classes"]), PAD_ID, embeddings)


def _trained_model(run_dir: Path, config: Config, spec: Any) -> nn.Module:
    model = build_model(config.model, spec, config.task)
    load_weights(model, scored_checkpoint(run_dir, config))
    return model.eval()


def _text_batches(encoder: TextEncoder, texts: list[str], batch_size: int):
    encoded = [encoder.encode(text) or [encoder.vocab.encode([""])[0]] for text in texts]
    packed = PackedSequences.from_sequences(encoded)
    for start in range(0, len(texts), batch_size):
        tokens, lengths = packed.pad(torch.arange(start, min(start + batch_size, len(texts))))
        yield tokens, lengths


def _image_batches(info: dict[str, Any], paths: list[str], batch_size: int):
    channels, height, width = info["image_shape"]
    transform = EvalTransform(Normalize(tuple(info["normalize"]["mean"]), tuple(info["normalize"]["std"])))
    arrays = []
    for path in paths:
        if not Path(path).is_file():
            raise TrainlabError(f"{path}: no such image file")
        try:
            array = decode_image(Path(path), (height, width), grayscale=channels == 1)
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise TrainlabError(f"{path}: cannot read the image ({error})") from None
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], channels, axis=2)
        arrays.append(array.transpose(2, 0, 1))
    images = torch.from_numpy(np.stack(arrays))
    for start in range(0, len(images), batch_size):
        yield (transform(images[start : start + batch_size]),)
