"""Reading labelled texts from files: CSV/TSV/JSONL tables and folders of `.txt` files per class.

Every reader checks what users get wrong (an empty file, a missing column, bytes that are not in the
declared encoding) and says so in one line naming the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from trainlab.errors import TrainlabError
from trainlab.runs import say

# A review can be longer than the csv module's default field limit (128 KiB).
csv.field_size_limit(2**31 - 1)


@dataclass
class RawTexts:
    """Texts and their label names as read, before encoding; `origin` names them in messages."""

    texts: list[str]
    labels: list[str]
    origin: str
    labels_from: str = "class folders"  # where the labels came from, e.g. "column 'label'"


def read_text_file(path: Path, encoding: str) -> str:
    """The file's text; bytes that are not `encoding` are an error naming their offset."""
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise TrainlabError(f"data.encoding={encoding} is not an encoding Python knows") from None
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise TrainlabError(
            f"{path}: byte 0x{raw[error.start]:02x} at offset {error.start} (line {line}) is not "
            f"valid {encoding}; set data.encoding= to the file's encoding, e.g. data.encoding=latin-1"
        ) from None
    return text.removeprefix("\ufeff")  # a byte-order mark is not part of the first column's name


Records = list[tuple[int, dict]]  # (line number, row by column name)


def read_table(path: Path, encoding: str, text_column: str, label_column: str) -> RawTexts:
    """Texts and labels from a .csv, .tsv (tab-separated, no quoting) or .jsonl file."""
    columns, records = read_table_records(path, encoding)
    return texts_from_records(path, columns, records, text_column, label_column)


def read_table_records(path: Path, encoding: str) -> tuple[list[str], Records]:
    """The columns and rows of a .csv, .tsv or .jsonl file, for callers that check the columns
    themselves before `texts_from_records`."""
    content = read_text_file(path, encoding)
    if not content.strip():
        raise TrainlabError(f"{path}: the file is empty; give a file with a header and one text per row")
    if path.suffix.lower() == ".jsonl":
        return _jsonl_records(path, content)
    return _csv_records(path, content)


def texts_from_records(
    path: Path, columns: list[str], records: Records, text_column: str, label_column: str
) -> RawTexts:
    """The texts and labels of rows read by `read_table_records`."""
    for column, option in ((text_column, "text_column"), (label_column, "label_column")):
        if column not in columns:
            raise TrainlabError(
                f"{path}: no column '{column}'; columns are {', '.join(columns)} (set data.{option}=)"
            )
    if not records:
        raise TrainlabError(f"{path}: no rows after the header; give one text per row")
    texts, labels = [], []
    for line, record in records:
        label = record.get(label_column)
        if label is None or str(label).strip() == "":
            raise TrainlabError(f"{path}: line {line} has no '{label_column}'; fill it or remove the row")
        text = record.get(text_column)
        texts.append("" if text is None else str(text))
        labels.append(str(label).strip())
    return RawTexts(texts, labels, str(path), f"column '{label_column}'")


def _csv_records(path: Path, content: str) -> tuple[list[str], Records]:
    """The header and rows of a CSV, or of a TSV read without quoting (as GLUE's files are)."""
    if path.suffix.lower() == ".tsv":
        reader = csv.reader(io.StringIO(content, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader)
    records = []
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            raise TrainlabError(
                f"{path}: line {reader.line_num} has {len(row)} fields but the header has "
                f"{len(header)} ({', '.join(header)}); check the quoting and the delimiter"
            )
        records.append((reader.line_num, dict(zip(header, row))))
    return header, records


def _jsonl_records(path: Path, content: str) -> tuple[list[str], Records]:
    """One JSON object per line; the columns are every key seen, in order of first appearance."""
    records = []
    for line, text in enumerate(content.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise TrainlabError(f"{path}: line {line} is not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise TrainlabError(f"{path}: line {line} is not a JSON object; write one object per line")
        records.append((line, record))
    return list(dict.fromkeys(key for _, record in records for key in record)), records


def class_folders(folder: Path) -> list[str]:
    """The subfolders of `folder` (hidden ones aside), in natural order."""
    names = [path.name for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")]
    if not names:
        raise TrainlabError(f"{folder}: no class subfolders; give one subfolder of .txt files per class")
    return natural_order(names)


def read_class_folders(folder: Path, classes: list[str], encoding: str, required: bool) -> RawTexts:
    """Every `.txt` file of `folder/<class>/` for each class; other subfolders are left out with a
    note (aclImdb's `train/unsup` holds unlabelled reviews). With `required`, a missing class
    folder is an error."""
    texts: list[str] = []
    labels: list[str] = []
    for name in class_folders(folder):
        if name not in classes:
            say(f"note: {folder / name} left out: '{name}' is not one of the classes ({', '.join(classes)})")
    for name in classes:
        class_folder = folder / name
        if not class_folder.is_dir():
            if required:
                raise TrainlabError(f"{folder}: no folder for class '{name}'; every class needs one")
            continue
        files = sorted(class_folder.glob("*.txt"))
        if not files:
            raise TrainlabError(
                f"{class_folder}: no .txt files in class folder '{name}'; put one text per .txt file"
            )
        texts.extend(read_text_file(path, encoding) for path in files)
        labels.extend([name] * len(files))
    return RawTexts(texts, labels, str(folder))


def natural_order(labels: Iterable[str]) -> list[str]:
    """Distinct labels sorted as numbers when they all are integers ("2" before "10"), else as text."""
    distinct = set(labels)
    try:
        return sorted(distinct, key=int)
    except ValueError:
        return sorted(distinct)
