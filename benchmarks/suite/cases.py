"""The suite's cases and their synthetic data. Standard library and NumPy only: the Keras and
Lightning workers import this file from an environment that may not hold trainlab."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VOCAB, EMBEDDING, HIDDEN, TEXT_LENGTH, NUM_CLASSES = 20_000, 128, 128, 200, 2
IMDB_MAX_LENGTH = 400  # reviews cut as text_bucketing.py and the text pipeline's default cut them
LM_VOCAB, LM_HIDDEN, LM_LAYERS, LM_LENGTH = 65, 256, 2, 128
WINDOW, FORECAST_HIDDEN, FORECAST_LAYERS, HORIZON = 50, 64, 2, 1
SHARED_DATA = Path(os.environ.get("TRAINLAB_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
IMDB_TRAIN = SHARED_DATA / "imdb" / "train.csv"


@dataclass(frozen=True)
class Case:
    """One workload. `samples` is one epoch's examples, about 2 s on the 2-core CPU (the cnn-28
    epoch about 4 s); a worker repeats epochs until its timed part lasts long enough, so the same
    case serves a GPU."""

    name: str
    model: str  # cnn | resnet20 | lstm | bilstm | char-lm | forecaster
    batch_size: int
    samples: int
    lengths: str = "fixed"  # text cases: "fixed" (TEXT_LENGTH) or "imdb" (the real reviews' lengths)
    mode: str = "train"  # or "inference"

    @property
    def unit(self) -> str:
        return "tokens" if self.model == "char-lm" else "samples"


CASES = {case.name: case for case in [
    Case("cnn-28", "cnn", 128, 6_400),
    Case("resnet20-32", "resnet20", 128, 640),
    Case("lstm-200", "lstm", 64, 640),
    Case("bilstm-200", "bilstm", 64, 384),
    Case("lstm-imdb", "lstm", 64, 640, lengths="imdb"),
    Case("bilstm-imdb", "bilstm", 64, 384, lengths="imdb"),
    Case("char-lm", "char-lm", 64, 256),  # 256 sequences of LM_LENGTH: 32,768 tokens an epoch
    Case("forecaster", "forecaster", 256, 5_120),
    Case("cnn-28-inference", "cnn", 128, 6_400, mode="inference"),
    Case("lstm-200-inference", "lstm", 64, 1_280, mode="inference"),
]}


def imdb_lengths(count: int) -> np.ndarray | None:
    """Token counts (words, cut at IMDB_MAX_LENGTH) of the first `count` IMDB training reviews, or
    None when ../shared/data is absent."""
    if not IMDB_TRAIN.is_file():
        return None
    with IMDB_TRAIN.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        lengths = [len(row["text"].split()) for _, row in zip(range(count), reader)]
    return np.clip(np.array(lengths, dtype=np.int64), 1, IMDB_MAX_LENGTH)


def make_data(case: Case, seed: int = 0) -> dict[str, np.ndarray]:
    """The case's inputs, the same for every contender. Images are NCHW; tokens are right-padded
    with 0 (the padding id) after each example's length."""
    rng = np.random.default_rng(seed)
    n = case.samples
    if case.model == "cnn":
        return {"images": rng.standard_normal((n, 1, 28, 28), dtype=np.float32),
                "labels": rng.integers(0, 10, n)}
    if case.model == "resnet20":
        return {"images": rng.standard_normal((n, 3, 32, 32), dtype=np.float32),
                "labels": rng.integers(0, 10, n)}
    if case.model in ("lstm", "bilstm"):
        if case.lengths == "imdb":
            lengths = imdb_lengths(n)
            if lengths is None:
                raise FileNotFoundError(f"{IMDB_TRAIN} is absent (set TRAINLAB_SHARED_DATA)")
        else:
            lengths = np.full(n, TEXT_LENGTH, dtype=np.int64)
        tokens = rng.integers(1, VOCAB, (n, int(lengths.max())))
        tokens[np.arange(tokens.shape[1]) >= lengths[:, None]] = 0
        return {"tokens": tokens, "lengths": lengths, "labels": rng.integers(0, NUM_CLASSES, n)}
    if case.model == "char-lm":
        return {"stream": rng.integers(0, LM_VOCAB, n * LM_LENGTH + 1)}
    if case.model == "forecaster":
        series = np.cumsum(rng.standard_normal(n + WINDOW + HORIZON, dtype=np.float32)) / 10
        starts = np.arange(n)[:, None]
        return {"inputs": series[starts + np.arange(WINDOW)][..., None],
                "targets": series[starts + WINDOW + np.arange(HORIZON)][..., None]}
    raise ValueError(f"unknown model {case.model!r}")


def per_epoch(case: Case) -> int:
    """The units (samples or tokens) one epoch of the case processes."""
    return case.samples * LM_LENGTH if case.model == "char-lm" else case.samples
