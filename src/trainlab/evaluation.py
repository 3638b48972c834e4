"""A trained run scored on new data (`trainlab evaluate RUN_DIR --data SOURCE`).

The data is read with the run's own preprocessing, never refitted: the saved tokenizer and
vocabulary, the training split's image normalisation, the series scalers and window. What SOURCE
is depends on the run's task:

    image-classification  a folder of class sub-folders (its test/ folder when it holds train/ and
                          test/), or a builtin dataset name, scored on its test split as the run's
                          data options cut it (data.limit, data.classes, split fractions and seed)
    text-classification   a CSV, TSV or JSONL file with the run's text and label columns
    forecast              a CSV with the run's time, target and covariate columns, backtested from
                          its first full window: an origin every data.backtest_stride steps (default:
                          the horizon), scored like the run's own backtest (MASE's yardstick is the
                          seasonal-naive error of the file's own steps before each origin)
    language-model        a text file, scored per token (bpc: bits per token; tokens the vocabulary
                          lacks are read as <unk>, as the tokenizer maps them)

Data that does not fit the run (a class it does not know, a missing column, other image sizes) is
refused with one line. The result has the shape of `experiment.evaluate_run`'s (metrics keyed
test_*), plus `data` (what was scored) and `examples` (images, texts, forecast origins, or tokens
scored).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from trainlab import registry, runs
from trainlab.data.batching import TensorBatches, TransformedBatches
from trainlab.data.calendar import with_calendar
from trainlab.data.corpus import LanguageModelBatches
from trainlab.data.image_folder import class_names, is_split_layout, read_image_split
from trainlab.data.sequence_batching import PackedSequences, PaddedBatches
from trainlab.data.series_csv import load_series_csv
from trainlab.data.sources import load_source
from trainlab.data.text import TABLE_SUFFIXES, fit_lengths
from trainlab.data.text_files import read_table_records, read_text_file, texts_from_records
from trainlab.data.tokenizers import UNK_ID
from trainlab.errors import TrainlabError
from trainlab.forecasting.backtest import SCALAR_METRICS, backtest
from trainlab.forecasting.future import trained_forecaster
from trainlab.metrics.classification import binary_curves
from trainlab.pipelines.classification import curve_areas, positive_class_scores
from trainlab.predict import stacked_images
from trainlab.rundir import TrainedRun, eval_transform, load_run_config, load_trained
from trainlab.training.denormals import flush_denormals_to_zero
from trainlab.training.optim import SGD
from trainlab.training.precision import unsupported_reason
from trainlab.training.tasks import ClassificationTask, LanguageModelTask
from trainlab.training.trainer import Trainer, resolve_device

CLASSES_SHOWN = 20  # a next-word run has a class per word: messages name the first ones


def evaluate_on_data(run_dir: str | os.PathLike, source: str | os.PathLike) -> dict[str, Any]:
    """The test metrics of the run's scored checkpoint on `source` (see the module docstring)."""
    run_dir, source = Path(run_dir), str(source)
    config = load_run_config(run_dir)
    scorer = registry.tasks.get(config.task).new_data_scorer  # the task says what its runs take
    if scorer is None:
        scoring = [entry.name for entry in registry.tasks.entries() if entry.builder.new_data_scorer]
        raise TrainlabError(
            f"'{run_dir}' is a {config.task} run; evaluate --data takes {', '.join(scoring)} runs "
            "(without --data, evaluate scores the run's own test split)"
        )
    return registry.imported(scorer)(load_trained(run_dir, config), source)


def _scores(trained: TrainedRun, task: Any, batches: Any) -> dict[str, Any]:
    """The task's metrics over `batches`, keyed test_*, from the Trainer's own evaluation loop (eval
    mode, the run's device and precision where this machine has them) so that the same data gives
    the run's own numbers."""
    train = trained.config.train
    if train.flush_denormals:  # as the run itself evaluated (experiment.build_experiment)
        flush_denormals_to_zero()
    device = resolve_device(train.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        device = torch.device("cpu")
    model = trained.model
    trainer = Trainer(
        model, task,
        SGD(model.parameters(), lr=0.0),  # the Trainer wants one; evaluation never steps it
        max_epochs=1, device=device, precision=train.precision if unsupported_reason(train.precision, device) is None else "32",
        channels_last=train.channels_last,
    )
    scores = {f"test_{name}": value for name, value in trainer.evaluate(batches).items()}
    curves = None
    if getattr(task, "num_classes", None) == 2:  # the areas a two-class run's metrics.json holds
        curves = binary_curves(*positive_class_scores(model, task, batches))
    if curves is not None:
        scores.update({f"test_{name}": value for name, value in curve_areas(curves).items()})
    return scores


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:CLASSES_SHOWN])
    return shown if len(names) <= CLASSES_SHOWN else f"{shown}, ... ({len(names)} in all)"


def _unknown_class(where: Any, kind: str, name: str, classes: list[str]) -> TrainlabError:
    return TrainlabError(
        f"{where}: {kind} '{name}' is not one of the run's classes ({_listed(classes)}); remove it, "
        "or evaluate a run trained on that class"
    )


# image-classification


def score_images(trained: TrainedRun, source: str) -> dict[str, Any]:
    info, data = trained.info, trained.config.data
    if source in registry.datasets:
        images, labels, described = _builtin_test_split(trained, source)
    else:
        images, labels, described = _image_folder(Path(source), info, data.strict)
    if list(images.shape[1:]) != info["image_shape"]:
        shape, expected = ("x".join(map(str, dims)) for dims in (images.shape[1:], info["image_shape"]))
        raise TrainlabError(
            f"--data {source}: images are {shape} (channels x height x width) but the run's model takes "
            f"{expected}; give images of that size, or a folder (resized to {expected} as they are read)"
        )
    plain = TensorBatches(images, labels, batch_size=data.batch_size, shuffle=False, seed=trained.config.run.seed)
    batches = TransformedBatches(plain, eval_transform(info), trained.config.run.seed)
    task = ClassificationTask(len(info["classes"]))
    return {**_scores(trained, task, batches), "data": described, "examples": len(labels)}


def _builtin_test_split(trained: TrainedRun, name: str) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The builtin's test split, cut by the run's data options; labels as the run's class indices."""
    data = trained.config.data.model_copy(update={"source": name, "val": None, "test": None})
    splits = load_source(trained.config.task, data)
    classes = trained.info["classes"]
    unknown = [label for label in splits.classes if label not in classes]
    if unknown:
        raise _unknown_class(f"--data {name}", "class", unknown[0], classes)
    relabel = torch.tensor([classes.index(label) for label in splits.classes])
    images, labels = splits.test
    return images, relabel[labels], f"{name} (test split)"


def _image_folder(root: Path, info: dict[str, Any], strict: bool) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Every image under `root/<class>/` (or `root/test/<class>/`), decoded at the run's size and
    channels; class folders the run does not know are refused."""
    if not root.is_dir():
        builtin = [entry.name for entry in registry.datasets.entries() if entry.task == "image-classification"]
        raise TrainlabError(
            f"--data {root}: neither a builtin image dataset ({', '.join(builtin)}) nor a folder of class "
            "sub-folders"
        )
    folder = root
    if is_split_layout(root):
        if not (root / "test").is_dir():
            raise TrainlabError(
                f"--data {root}: it holds train/ but no test/; give the folder of class sub-folders to score"
            )
        folder = root / "test"
    classes = info["classes"]
    unknown = [name for name in class_names(folder) if name not in classes]
    if unknown:
        raise _unknown_class(folder, "class folder", unknown[0], classes)
    channels, height, width = info["image_shape"]
    image_set = read_image_split(folder, classes, (height, width), channels == 1, strict)
    images = stacked_images(image_set.arrays, channels)
    return images, torch.from_numpy(image_set.labels), str(folder)


# text-classification


def score_texts(trained: TrainedRun, source: str) -> dict[str, Any]:
    data, encoder, classes = trained.config.data, trained.encoder, trained.info["classes"]
    assert encoder is not None
    path = Path(source)
    wanted = f"a CSV, TSV or JSONL file with its columns '{data.text_column}' and '{data.label_column}'"
    if not path.is_file() or path.suffix.lower() not in TABLE_SUFFIXES:
        what = ("a folder" if path.is_dir() else f"a '{path.suffix}' file" if path.is_file()
                else "a builtin dataset" if source in registry.datasets else "an existing file")
        raise TrainlabError(f"--data {source}: a text-classification run is evaluated on {wanted}, not {what}")
    columns, records = read_table_records(path, data.encoding)
    for column, option in ((data.text_column, "text_column"), (data.label_column, "label_column")):
        if column not in columns:
            raise TrainlabError(
                f"{path}: no column '{column}' (the run's data.{option}); columns are {', '.join(columns)}; "
                f"give {wanted}"
            )
    raw = texts_from_records(path, columns, records, data.text_column, data.label_column)
    class_index = {name: index for index, name in enumerate(classes)}
    unknown = next((label for label in raw.labels if label not in class_index), None)
    if unknown is not None:
        raise _unknown_class(path, "label", unknown, classes)
    labels = torch.tensor([class_index[label] for label in raw.labels], dtype=torch.int64)
    # As training read its splits: the saved tokenizer, cut at the run's max_length, the saved
    # vocabulary (words it never saw are <unk>).
    tokens, _ = fit_lengths(encoder.tokenizer.tokenize_many(raw.texts), encoder.max_length, str(path))
    ids = encoder.vocab.encode_many(tokens)
    sequences = PackedSequences.from_flat(ids, [len(text) for text in tokens])
    batches = PaddedBatches(sequences, labels, data.batch_size)
    scores = _scores(trained, ClassificationTask(len(classes)), batches)
    return {**scores, "data": str(path), "examples": len(labels)}


# forecast


def score_series(trained: TrainedRun, source: str) -> dict[str, Any]:
    data, info = trained.config.data, trained.info
    path = Path(source)
    roles = {column: "a target the run forecasts" for column in info["targets"]}
    roles.update({column: "a covariate the run reads" for column in info["covariates"]})
    if data.time_column not in (None, "none"):
        parts = [data.time_column] if isinstance(data.time_column, str) else data.time_column
        roles = {**{column: "the run's time column" for column in parts}, **roles}
    wanted = f"a CSV with its columns {', '.join(roles)}"
    if not path.is_file():
        what = "a builtin dataset" if source in registry.datasets else "an existing file"
        raise TrainlabError(f"--data {source}: a forecast run is evaluated on {wanted}, not {what}")
    columns = _csv_columns(path, data.encoding)
    missing = next((column for column in roles if columns is not None and column not in columns), None)
    if missing is not None:
        raise TrainlabError(
            f"{path}: no column '{missing}' ({roles[missing]}); columns are {', '.join(columns)}; give {wanted}"
        )
    series = load_series_csv(path, data.time_column, info["targets"], info["covariates"], data.missing,
                             data.encoding)
    series = with_calendar(series, info.get("calendar") or [])
    window, horizon = info["window"], info["horizon"]
    if len(series) < window + horizon:
        raise TrainlabError(
            f"{path}: {len(series)} time steps; scoring needs at least the run's window plus its horizon "
            f"({window} + {horizon}); give a longer series"
        )
    if info["frequency"] and series.frequency != info["frequency"]:
        runs.say(f"note: {path} has {series.frequency or 'irregular'} steps; the run trained on "
                 f"{info['frequency']} steps")
    stride = data.backtest_stride or horizon
    outcome = backtest(
        {"model": trained_forecaster(trained)}, series.values, horizon, initial=window, stride=stride,
        refit=False, period=info["period"], covariates=series.covariates,
    )
    summary = outcome.summary["model"]
    metrics: dict[str, Any] = {}
    for name in SCALAR_METRICS:
        metrics[f"test_{name}"] = summary[name]
        if f"{name}_undefined" in summary:
            metrics[f"test_{name}_undefined"] = summary[f"{name}_undefined"]
    described = f"{path} (forecasts from step {window + 1}, every {stride} steps)"
    return {**metrics, "data": described, "examples": len(outcome.origins)}


def _csv_columns(path: Path, encoding: str) -> list[str] | None:
    """The header of a CSV/TSV; None when it cannot be read (load_series_csv then says why)."""
    separator = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        return [str(column) for column in pd.read_csv(path, sep=separator, encoding=encoding, nrows=0).columns]
    except (ValueError, UnicodeDecodeError):  # pandas' EmptyDataError and ParserError are ValueErrors
        return None


# language-model


def score_text_file(trained: TrainedRun, source: str) -> dict[str, Any]:
    data, encoder = trained.config.data, trained.encoder
    assert encoder is not None
    path = Path(source)
    if not path.is_file():
        what = ("a folder" if path.is_dir() else "a builtin corpus" if source in registry.datasets
                else "an existing file")
        raise TrainlabError(f"--data {source}: a language-model run is evaluated on a text file, not {what}")
    tokens = encoder.tokenizer.tokenize(read_text_file(path, data.encoding))
    if len(tokens) < 2:
        raise TrainlabError(
            f"{path}: {len(tokens)} token(s); scoring needs at least 2 (an input and the token after it)"
        )
    ids = torch.from_numpy(encoder.vocab.encode_many([tokens]))
    mode = "stateful" if data.stateful else "windows"
    batches = LanguageModelBatches(ids, data.batch_size, data.chunk_length, mode, training=False,
                                   seed=trained.config.run.seed)
    scores = _scores(trained, LanguageModelTask(), batches)
    return {**scores, "data": str(path), "examples": batches.num_examples,
            "unknown_tokens": int(np.count_nonzero(ids.numpy() == UNK_ID))}
