"""Predictions of a trained classifier for new inputs: texts, or image files.

The model is rebuilt from the run directory alone (config.yaml, data.json, the saved tokenizer and
the checkpoint the run was scored with), so prediction needs neither the training data nor network.
`load_trained` does that rebuilding for every task; `forecast` and `evaluate --data` use it too.
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
from trainlab.models import ImageSpec, SeriesSpec, TextSpec, build_model
from trainlab.models.language_model import LanguageModelSpec
from trainlab.training.checkpoint import load_weights

PREDICTABLE_TASKS = ("image-classification", "text-classification")


@dataclass(frozen=True)
class TrainedRun:
    """A run's network with the weights its metrics were computed with, and what reading new data
    as training did needs."""

    config: Config
    info: dict[str, Any]  # data.json: classes, image shape and normalisation, scalers, window, ...
    model: nn.Module  # in eval mode, on the CPU
    encoder: TextEncoder | None  # text and language-model runs: tokenizer and vocabulary


def load_trained(run_dir: str | os.PathLike, config: Config | None = None) -> TrainedRun:
    """Rebuild the trained model of an image-classification, text-classification, forecast or
    language-model run from its directory (`config`: the run's config when already read)."""
    run_dir = Path(run_dir)
    config = load_run_config(run_dir) if config is None else config
    if not (run_dir / runs.DATA_FILE).is_file():
        raise TrainlabError(f"run '{run_dir}' has no {runs.DATA_FILE}; it stopped before its data was read")
    info = runs.read_json(run_dir / runs.DATA_FILE)
    encoder = None
    if config.task in ("text-classification", "language-model"):
        encoder = TextEncoder.load(run_dir / runs.ENCODER_FILE)
    model_config = config.model
    if getattr(model_config, "load_pretrained", None):
        # The scored checkpoint replaces every weight: the pretrained file need not exist any more.
        model_config = model_config.model_copy(update={"load_pretrained": None})
    model = build_model(model_config, _model_spec(run_dir, config.task, info, encoder), config.task)
    load_weights(model, scored_checkpoint(run_dir, config))
    return TrainedRun(config, info, model.eval(), encoder)


def _model_spec(run_dir: Path, task: str, info: dict[str, Any], encoder: TextEncoder | None) -> Any:
    """What the model was built for, read from data.json (and the saved vocabulary)."""
    if task == "image-classification":
        return ImageSpec(*info["image_shape"], len(info["classes"]))
    if task == "text-classification":
        return _text_spec(info)
    if task == "language-model":
        assert encoder is not None
        return LanguageModelSpec(len(encoder.vocab))
    if task == "forecast":
        targets = len(info["targets"])
        return SeriesSpec(targets + len(info["covariates"]), targets, info["window"], info["horizon"])
    raise TrainlabError(f"'{run_dir}' is a {task} run; its model cannot be rebuilt from the run directory")


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
    trained = load_trained(run_dir, config)
    model, info = trained.model, trained.info
    classes = info["classes"]
    if trained.encoder is not None:
        batches = _text_batches(trained.encoder, inputs, batch_size)
    else:
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


def _text_batches(encoder: TextEncoder, texts: list[str], batch_size: int):
    encoded = [encoder.encode(text) or [encoder.vocab.encode([""])[0]] for text in texts]
    packed = PackedSequences.from_sequences(encoded)
    for start in range(0, len(texts), batch_size):
        tokens, lengths = packed.pad(torch.arange(start, min(start + batch_size, len(texts))))
        yield tokens, lengths


def eval_transform(info: dict[str, Any]) -> EvalTransform:
    """An image run's evaluation transform: to [0, 1], then its training split's normalisation."""
    return EvalTransform(Normalize(tuple(info["normalize"]["mean"]), tuple(info["normalize"]["std"])))


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
