"""The run directory: the name of every file in it, its readers, and the trained model it holds.

A run directory is complete exactly when `metrics.json` exists: it is written last, atomically
(`runs.write_json`), so an interrupted or failed run never looks finished. Everything that reads a
finished run (predict, generate, forecast, evaluate, summary, reports, studies) asks this module for
its files and its model instead of knowing their names or formats.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from trainlab import registry
from trainlab.config import Config, build_config, load_yaml
from trainlab.data.tokenizers import TextEncoder
from trainlab.data.transforms import EvalTransform, Normalize
from trainlab.errors import TrainlabError
from trainlab.models import build_model
from trainlab.training.checkpoint import checkpoint_path, load_weights

if TYPE_CHECKING:
    from trainlab.models.tfidf import SavedTfidf

# ----------------------------------------------------------------------------- names

CONFIG_FILE = "config.yaml"
ENV_FILE = "env.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
CONFUSION_FILE = "confusion_matrix.json"
ROC_PR_FILE = "roc_pr.json"  # two-class runs: the test split's ROC and precision-recall curves
DATA_FILE = "data.json"  # data summary, class names, normalisation statistics
ENCODER_FILE = "tokenizer.json"  # text runs: the tokenizer and vocabulary that predict needs
# Text runs whose chosen model uses the TF-IDF baseline: its arrays and its n-grams, for predict.
TFIDF_ARRAYS_FILE = "baseline_tfidf.safetensors"
TFIDF_NGRAMS_FILE = "baseline_tfidf.json"
CHECKPOINTS_DIR = "checkpoints"
PLOTS_DIR = "plots"
TENSORBOARD_DIR = "tensorboard"  # event files when log.tensorboard=true
# What a finished run of a task adds (the task's pipeline writes it, reports read it).
TEST_EXAMPLES_FILE = "test_examples.npz"  # image classification: test images and confident mistakes
CONFIDENT_MISTAKES_FILE = "confident_mistakes.json"  # text classification
SAMPLES_FILE = "samples.json"  # language models: text at several temperatures, for the report
BACKTEST_FILE = "backtest.json"  # forecasts: the test period, the model's and the baselines' forecasts
# Arrays written by diagnostics callbacks.
DIAGNOSTICS_DIR = "diagnostics"
GRAD_NORMS_FILE = "grad_norms.npz"
TIMESTEP_GRADS_FILE = "timestep_grads.npz"
SPECTRAL_FILE = "spectral.npz"
ACTIVATIONS_FILE = "activations.npz"  # hidden states and gate means (pipelines/sequence.py)
SEQUENCE_TASK_FILE = "sequence_task.json"  # synthetic tasks: the memoryless baseline and whether solved
# The tour's directory: one study directory per study beside this record.
TOUR_FILE = "tour.json"  # what ran, how long each study took, and what failed

# ----------------------------------------------------------------------------- the directory


def check_run_dir(run_dir: str | os.PathLike, overwrite: bool) -> None:
    """Refuse a file, or a non-empty directory unless `overwrite` and it is an earlier run."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise TrainlabError(f"--out '{run_dir}' is a file; give a directory path")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not overwrite:
            raise TrainlabError(
                f"run directory '{run_dir}' is not empty; choose another --out or add --overwrite"
            )
        # Only a directory that looks like a run is emptied, so a mistyped --out cannot wipe a
        # user's folder.
        if not (run_dir / CONFIG_FILE).is_file():
            raise TrainlabError(
                f"--overwrite refused: '{run_dir}' has files but no {CONFIG_FILE}, so it is not a "
                "run directory; choose another --out"
            )


def prepare_run_dir(run_dir: str | os.PathLike, overwrite: bool) -> Path:
    """An empty run directory at `run_dir`, after the checks of `check_run_dir`."""
    run_dir = Path(run_dir)
    check_run_dir(run_dir, overwrite)
    if run_dir.is_dir() and any(run_dir.iterdir()):
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def is_complete(run_dir: str | os.PathLike) -> bool:
    return (Path(run_dir) / METRICS_FILE).is_file()


# ----------------------------------------------------------------------------- readers

_REQUIRED = object()


def read_json(path: str | os.PathLike, default: Any = _REQUIRED) -> Any:
    """The JSON value in `path`.

    Without `default` a missing file raises FileNotFoundError. With it, `default` stands for a
    missing file and for one that is not valid JSON (left half-written by an interrupted run), so
    a report leaves that section out.
    """
    path = Path(path)
    if default is _REQUIRED:
        return json.loads(path.read_text(encoding="utf-8"))
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return default


def read_history(run_dir: str | os.PathLike) -> list[dict[str, float]]:
    """The rows of RUN_DIR/history.csv, one per epoch, as numbers (empty cells left out); [] without
    the file."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return [{key: float(value) for key, value in row.items() if value} for row in csv.DictReader(handle)]


def eval_transform(info: dict[str, Any]) -> EvalTransform:
    """An image run's evaluation transform, from its data.json `info`: to [0, 1], then its
    training split's normalisation."""
    return EvalTransform(Normalize(tuple(info["normalize"]["mean"]), tuple(info["normalize"]["std"])))


def load_run_config(run_dir: str | os.PathLike) -> Config:
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise TrainlabError(f"'{run_dir}' is not a run directory (it has no {CONFIG_FILE})")
    return build_config(load_yaml(run_dir / CONFIG_FILE))


def scored_checkpoint(run_dir: str | os.PathLike, config: Config) -> Path:
    """The checkpoint whose weights the run's metrics.json was computed with: the best epoch's,
    unless restore_best was off."""
    run_dir = Path(run_dir)
    checkpoints = run_dir / CHECKPOINTS_DIR
    preferred = ("best", "last") if config.train.restore_best else ("last",)
    chosen = next(filter(None, (checkpoint_path(checkpoints / name) for name in preferred)), None)
    if chosen is None:
        raise TrainlabError(f"run '{run_dir}' has no checkpoint yet")
    return chosen


# ----------------------------------------------------------------------------- the trained model


@dataclass(frozen=True)
class TrainedRun:
    """A run's network with the weights its metrics were computed with, and what reading new data
    as training did needs."""

    config: Config
    info: dict[str, Any]  # data.json: classes, image shape and normalisation, scalers, window, ...
    model: nn.Module  # in eval mode, on the CPU
    encoder: TextEncoder | None  # text and language-model runs: tokenizer and vocabulary


# Model options that load weights when a model is built, and their values that load none.
PRETRAINED_OPTIONS_OFF = {"load_pretrained": None, "pretrained": "none", "pretrained_encoder": None}


def load_trained(run_dir: str | os.PathLike, config: Config | None = None, weights: bool = True) -> TrainedRun:
    """Rebuild the trained model of an image-classification, text-classification, forecast or
    language-model run from its directory.

    Args:
        config: the run's config when already read.
        weights: False leaves the model freshly initialised (a summary needs only its shapes, and
            no checkpoint).
    """
    run_dir = Path(run_dir)
    config = load_run_config(run_dir) if config is None else config
    if not (run_dir / DATA_FILE).is_file():
        raise TrainlabError(f"run '{run_dir}' has no {DATA_FILE}; it stopped before its data was read")
    info = read_json(run_dir / DATA_FILE)
    encoder = None
    if registry.tasks.get(config.task).saves_encoder:
        encoder = TextEncoder.load(run_dir / ENCODER_FILE)
    model_config = config.model
    # The scored checkpoint replaces every weight: the pretrained file or run need not exist any more.
    unloaded = {name: value for name, value in PRETRAINED_OPTIONS_OFF.items() if name in type(model_config).model_fields}
    model_config = model_config.model_copy(update=unloaded)
    try:
        spec = registry.tasks.get(config.task).spec_from_info(info, encoder)
    except NotImplementedError:
        raise TrainlabError(f"'{run_dir}' is a {config.task} run; its model cannot be rebuilt from the run directory") from None
    model = build_model(model_config, spec, config.task)
    if weights:
        load_weights(model, scored_checkpoint(run_dir, config))
    return TrainedRun(config, info, model.eval(), encoder)


def read_language_model(run_dir: str | os.PathLike) -> tuple[Any, dict[str, torch.Tensor]]:
    """(the model section, the scored weights) of the finished word-level language-model run at
    `run_dir`, for a classifier that starts from it (`model.pretrained_encoder`)."""
    where = f"model.pretrained_encoder={run_dir}"
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise TrainlabError(f"{where}: no such run directory; train one with `trainlab train language-model "
                            "--data TEXTS data.tokenizer=word` first")
    config = load_run_config(run_dir)
    if config.task != "language-model":
        raise TrainlabError(f"{where}: a {config.task} run; give a language-model run")
    if getattr(config.data, "tokenizer", None) != "word":
        raise TrainlabError(f"{where}: a character-level language model; a classifier reads words "
                            "(train the language model with data.tokenizer=word)")
    if not is_complete(run_dir):
        raise TrainlabError(f"{where}: the run has not finished (no {METRICS_FILE}); resume it first")
    return config.model, load_trained(run_dir, config).model.state_dict()


def load_chosen_baseline(run_dir: str | os.PathLike) -> tuple[float, SavedTfidf | None]:
    """(the network's weight, the saved TF-IDF baseline) of the model a text run chose on
    validation (metrics/model_choice.py): (1.0, None) where the network alone won or nothing was
    chosen (older runs, runs without validation)."""
    run_dir = Path(run_dir)
    metrics = read_json(run_dir / METRICS_FILE, default={})
    weight = float(metrics.get("chosen_network_weight", 1.0))
    if weight >= 1:
        return 1.0, None
    from trainlab.models.tfidf import SavedTfidf

    arrays, ngrams = run_dir / TFIDF_ARRAYS_FILE, run_dir / TFIDF_NGRAMS_FILE
    if not (arrays.is_file() and ngrams.is_file()):
        raise TrainlabError(f"run '{run_dir}' chose the TF-IDF baseline (weight {1 - weight:g}) but "
                            f"{TFIDF_ARRAYS_FILE} or {TFIDF_NGRAMS_FILE} is missing; copy the whole run directory")
    return weight, SavedTfidf.load(arrays, ngrams)
