"""`trainlab predict RUN_DIR --input PATH --output preds.csv`: a classifier over many inputs.

PATH is a folder of images (image runs, searched recursively), a .csv/.tsv/.jsonl of texts (text
runs; `text_column` names the column, an `id` column names the rows), or "-" for one text per line
on standard input. The output CSV has one row per readable input: its identifier (the image's path
under the folder, the table's `id` or line number, the line number on stdin), the predicted class
and every class's probability. Unreadable inputs (an image that does not decode, an empty text) are
skipped and returned, so that one bad file in ten thousand does not lose the rest.

Images and lines of standard input are read, predicted and written in chunks, so memory stays
bounded by the chunk; a table's texts are read whole first (to check its columns), then predicted
in chunks too.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
from PIL import UnidentifiedImageError

from trainlab.data.image_folder import IMAGE_SUFFIXES, decode_image
from trainlab.data.text_files import read_table_records
from trainlab.errors import TrainlabError
from trainlab.predict import PredictionSession, open_prediction_session, stacked_images

CHUNK = 1024  # inputs read, predicted and written at a time
TEXT_COLUMNS = ("text", "sentence", "review", "content")  # tried in order when none is named


@dataclass(frozen=True)
class Skipped:
    input: str
    reason: str


def predict_file(run_dir: str | os.PathLike, source: str, output: TextIO, text_column: str | None = None,
                 progress: TextIO | None = None, batch_size: int = 256) -> tuple[int, list[Skipped]]:
    """Predict every input of `source` (a folder, a text table or "-") into `output` as CSV;
    returns how many rows were written and the inputs skipped."""
    session = open_prediction_session(run_dir)
    if session.encoder is None:
        identified = _image_files(Path(source))
    else:
        identified = _texts(source, text_column)
    writer = csv.writer(output)
    writer.writerow(["input", "predicted", *(f"p_{name}" for name in session.classes)])
    written, skipped = 0, []
    total = len(identified) if isinstance(identified, list) else None
    for chunk in _chunks(identified, CHUNK):
        if session.encoder is None:
            readable, batches = _decoded_images(session, chunk, skipped)
        else:
            readable, batches = _encoded_texts(chunk, skipped)
        if readable:
            probabilities = session.probabilities(batches, batch_size)
            for identifier, row in zip(readable, probabilities.tolist()):
                writer.writerow([identifier, session.classes[int(np.argmax(row))], *(f"{p:.6g}" for p in row)])
            written += len(readable)
        if progress is not None:
            done = written + len(skipped)
            progress.write(f"\rpredicted {done:,}" + (f" of {total:,}" if total else ""))
            progress.flush()
    if progress is not None:
        progress.write("\n")
    return written, skipped


def _chunks(items: list | Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _image_files(folder: Path) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        raise TrainlabError(f"--input {folder}: not a folder; an image run predicts a folder of images")
    files = sorted(path for path in folder.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())
    if not files:
        raise TrainlabError(f"--input {folder}: no image files ({', '.join(IMAGE_SUFFIXES)}) in the folder")
    return [(path.relative_to(folder).as_posix(), path) for path in files]


def _decoded_images(session: PredictionSession, chunk: list[tuple[str, Path]],
                    skipped: list[Skipped]) -> tuple[list[str], torch.Tensor]:
    channels, height, width = session.info["image_shape"]
    identifiers, arrays = [], []
    for identifier, path in chunk:
        try:
            arrays.append(decode_image(path, (height, width), grayscale=channels == 1))
        except (UnidentifiedImageError, OSError, ValueError) as error:
            skipped.append(Skipped(identifier, f"cannot read the image ({error})"))
            continue
        identifiers.append(identifier)
    return identifiers, (stacked_images(arrays, channels) if arrays else torch.empty(0))


def _texts(source: str, text_column: str | None) -> list[tuple[str, str]] | Iterator[tuple[str, str]]:
    if source == "-":
        return ((str(number), line.rstrip("\n")) for number, line in enumerate(sys.stdin, start=1))
    path = Path(source)
    if not path.is_file():
        raise TrainlabError(f"--input {source}: no such file; give a .csv, .tsv or .jsonl of texts, or - for stdin")
    if path.suffix.lower() not in (".csv", ".tsv", ".jsonl"):
        raise TrainlabError(f"--input {source}: a text run predicts a .csv, .tsv or .jsonl file, or - for stdin")
    columns, records = read_table_records(path, "utf-8")
    column = text_column or next((name for name in TEXT_COLUMNS if name in columns), None)
    if column is None or column not in columns:
        named = f"no column '{text_column}'" if text_column else "no text column found"
        raise TrainlabError(f"{path}: {named}; columns are {', '.join(columns)} (use --text-column NAME)")
    # Rows are named by their `id` where the table has one, else by their line number.
    return [(str(record.get("id", line)), "" if record.get(column) is None else str(record[column]))
            for line, record in records]


def _encoded_texts(chunk: list[tuple[str, str]], skipped: list[Skipped]) -> tuple[list[str], list[str]]:
    identifiers, texts = [], []
    for identifier, text in chunk:
        if not text.strip():
            skipped.append(Skipped(identifier, "empty text"))
            continue
        identifiers.append(identifier)
        texts.append(text)
    return identifiers, texts


def predict_to_path(run_dir: str | os.PathLike, source: str, output: str | None, text_column: str | None,
                    show_progress: bool) -> tuple[int, list[Skipped]]:
    """`predict_file` into the file `output` (complete, or not written at all when no input was
    readable) or, for None, standard output."""
    progress = sys.stderr if show_progress else None
    if output is None:
        return predict_file(run_dir, source, sys.stdout, text_column, progress)
    path = Path(output)
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            written, skipped = predict_file(run_dir, source, handle, text_column, progress)
        if written:  # a header alone would look like a result (and replace an earlier one)
            temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return written, skipped
