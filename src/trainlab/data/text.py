"""Text classification data: a CSV/TSV/JSONL file, a folder of `.txt` files per class, or the builtin
IMDB, SST-2 and AG News; every source gives `TextSplits` of packed token ids.

The vocabulary is built on the training split only, so validation and test words the training
data never showed become `<unk>`, as they would for new text at prediction time.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.data.download import fetch, resources_of
from trainlab.data.embeddings import EmbeddingCoverage, load_glove
from trainlab.data.extract import extract
from trainlab.data.sequence_batching import PackedSequences
from trainlab.data.sources import builtin_splits
from trainlab.data.splits import stratified_split
from trainlab.data.text_files import (
    RawTexts,
    class_folders,
    natural_order,
    read_class_folders,
    read_table,
    read_text_file,
)
from trainlab.data.tokenizers import (
    UNK,
    TextEncoder,
    Tokenizer,
    Vocabulary,
    build_vocabulary,
    tokenizer_for,
)
from trainlab.errors import TrainlabError
from trainlab.runs import say

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl")
AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]

@dataclass
class EncodedTexts:
    """One split: the token ids of every text, their labels, and which texts were cut short.

    Attributes:
        sequences: packed token ids, one sequence per text.
        labels: (N,) int64 class indices.
        truncated: (N,) bool, True where the text was longer than `max_length` and cut.
    """

    sequences: PackedSequences
    labels: torch.Tensor
    truncated: torch.Tensor

    @property
    def lengths(self) -> torch.Tensor:
        return self.sequences.lengths

    @property
    def truncated_share(self) -> float:
        return float(self.truncated.float().mean()) if len(self) else 0.0

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, count: int) -> EncodedTexts:
        return EncodedTexts(self.sequences.head(count), self.labels[:count], self.truncated[:count])


@dataclass
class TextSplits:
    """Encoded train/validation/test texts with what is needed to encode new text the same way."""

    name: str
    train: EncodedTexts
    val: EncodedTexts | None
    test: EncodedTexts
    classes: list[str]
    vocab: Vocabulary
    tokenizer: Tokenizer
    max_length: int | None = None
    embeddings: torch.Tensor | None = None  # (len(vocab), dim) pretrained vectors (data.embeddings)
    embedding_coverage: EmbeddingCoverage | None = None

    @property
    def truncated_share(self) -> dict[str, float]:
        return {split: part.truncated_share for split, part in self._parts().items()}

    def _parts(self) -> dict[str, EncodedTexts]:
        parts = {"train": self.train, "val": self.val, "test": self.test}
        return {split: part for split, part in parts.items() if part is not None}

    def limited(self, limit: int | None) -> TextSplits:
        """The first `limit` texts of each split (the vocabulary stays as it is)."""
        if limit is None:
            return self
        val = self.val.head(limit) if self.val is not None else None
        return dataclasses.replace(self, train=self.train.head(limit), val=val, test=self.test.head(limit))

    def encoder(self) -> TextEncoder:
        """What `predict` needs to read new text as training did; save it with `.save(path)`."""
        return TextEncoder(self.tokenizer, self.vocab, self.classes, self.max_length)

    def summary(self) -> str:
        sizes = ", ".join(f"{split} {len(part)}" for split, part in self._parts().items())
        shown = ", ".join(self.classes[:6]) + (", ..." if len(self.classes) > 6 else "")
        median = float(np.median(self.train.lengths.numpy())) if len(self.train) else 0.0
        line = (
            f"{self.name}: {sizes}; {len(self.classes)} classes ({shown}); vocabulary {len(self.vocab)} "
            f"({self.tokenizer.kind}, min_freq {self.vocab.min_freq}); median length {median:g} tokens"
        )
        if self.max_length is not None:
            line += f", {self.train.truncated_share:.1%} truncated at {self.max_length}"
        if self.embedding_coverage is not None:
            line += f"; {self.embedding_coverage.summary()}"
        return line


def assemble_text_splits(
    name: str,
    train: RawTexts,
    data: DataConfig,
    val: RawTexts | None = None,
    test: RawTexts | None = None,
    classes: list[str] | None = None,
) -> TextSplits:
    """Split off what was not given separately, then tokenize and encode every split.

    As for images: without a separate test set `data.test_fraction` and `data.val_fraction` are
    shares of all the examples (stratified by class); each split is put in a fixed random order
    (by `data.split_seed`) and `data.limit` keeps its first texts, before tokenizing, so a quick
    trial on a large file is quick. Classes not given are the training labels in natural order.
    """
    classes = classes or natural_order(train.labels)
    if len(classes) < 2:
        raise TrainlabError(
            f"{train.origin}: only one class ('{classes[0]}') in {train.labels_from}; "
            "a classifier needs two or more"
        )
    class_index = {label: index for index, label in enumerate(classes)}
    labels = _class_indices(train, class_index, classes)
    val_share = 0.0 if val is not None else data.val_fraction
    test_share = 0.0 if test is not None else data.test_fraction
    train_index, val_index, test_index = stratified_split(labels, val_share, test_share, data.split_seed)
    if len(np.unique(labels[train_index])) < 2:
        raise TrainlabError(
            f"{train.origin}: the training split keeps only one class; lower data.test_fraction "
            "and data.val_fraction or give more examples"
        )
    generator = np.random.default_rng(data.split_seed)

    def part(raw: RawTexts, raw_labels: np.ndarray, index: np.ndarray) -> tuple[list[str], np.ndarray]:
        index = index[generator.permutation(len(index))][: data.limit]
        return [raw.texts[position] for position in index.tolist()], raw_labels[index]

    parts = {"train": part(train, labels, train_index)}
    if val is not None:
        parts["val"] = part(val, _class_indices(val, class_index, classes), np.arange(len(val.texts)))
    elif len(val_index):
        parts["val"] = part(train, labels, val_index)
    if test is not None:
        parts["test"] = part(test, _class_indices(test, class_index, classes), np.arange(len(test.texts)))
    else:
        parts["test"] = part(train, labels, test_index)
    tokenizer, vocab = tokenizer_for(data), None
    if getattr(data, "vocabulary_from", None):
        tokenizer, vocab = encoder_of_run(data.vocabulary_from)
    encoded: dict[str, EncodedTexts] = {}
    for split, (texts, split_labels) in parts.items():
        tokens, truncated = fit_lengths(tokenizer.tokenize_many(texts), data.max_length, f"{name} {split}")
        if vocab is None:  # train comes first: the vocabulary sees training text only
            vocab, ids = build_vocabulary(tokens, data)
        else:
            ids = vocab.encode_many(tokens)
        sequences = PackedSequences.from_flat(ids, [len(sequence) for sequence in tokens])
        encoded[split] = EncodedTexts(sequences, torch.from_numpy(split_labels), torch.from_numpy(truncated))
    assert vocab is not None
    return TextSplits(name, encoded["train"], encoded.get("val"), encoded["test"], classes, vocab,
                      tokenizer, data.max_length)


def encoder_of_run(run_dir: str) -> tuple[Tokenizer, Vocabulary]:
    """The tokenizer and vocabulary saved in a run directory (`data.vocabulary_from`)."""
    from trainlab.rundir import ENCODER_FILE

    path = Path(run_dir) / ENCODER_FILE
    if not path.is_file():
        raise TrainlabError(f"data.vocabulary_from={run_dir}: no {ENCODER_FILE} there; give a text run's directory")
    encoder = TextEncoder.load(path)
    return encoder.tokenizer, encoder.vocab


def _class_indices(raw: RawTexts, class_index: dict[str, int], classes: list[str]) -> np.ndarray:
    unknown = next((label for label in raw.labels if label not in class_index), None)
    if unknown is not None:
        raise TrainlabError(
            f"{raw.origin}: label '{unknown}' is not a class of the training data ({', '.join(classes)})"
        )
    return np.array([class_index[label] for label in raw.labels], dtype=np.int64)


def fit_lengths(
    token_lists: list[list[str]], max_length: int | None, where: str
) -> tuple[list[list[str]], np.ndarray]:
    """Cut texts longer than `max_length` (keeping their start) and give a text without any token
    one `<unk>`, so every sequence has a length a recurrent network can pack."""
    fitted, truncated, empty = [], np.zeros(len(token_lists), dtype=bool), 0
    for index, tokens in enumerate(token_lists):
        if not tokens:
            tokens, empty = [UNK], empty + 1
        elif max_length is not None and len(tokens) > max_length:
            tokens, truncated[index] = tokens[:max_length], True
        fitted.append(tokens)
    if empty:
        say(f"note: {where}: {empty} text(s) have no tokens; each is encoded as one {UNK}")
    return fitted, truncated


def load_text_table(data: DataConfig) -> TextSplits:
    """`data.source` as a CSV/TSV/JSONL file; `data.val` / `data.test` as separate files of the
    same columns, else split off the source."""
    path = Path(data.source)

    def read(file: str) -> RawTexts:
        return read_table(_table_path(file), data.encoding, data.text_column, data.label_column)

    splits = {split: read(getattr(data, split)) for split in ("val", "test") if getattr(data, split)}
    return assemble_text_splits(path.name, read(data.source), data, splits.get("val"), splits.get("test"))


def _table_path(file: str) -> Path:
    path = Path(file)
    if not path.is_file():
        raise TrainlabError(f"{file}: no such file")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise TrainlabError(
            f"{file}: a text-classification file must end in {', '.join(TABLE_SUFFIXES)} "
            f"(got '{path.suffix}'); a .txt file is a language-model corpus"
        )
    return path


def load_text_folder(data: DataConfig) -> TextSplits:
    """`data.source` as a folder of class folders of `.txt` files, or of `train/` (and `val/`,
    `test/`) folders of them; `data.val` / `data.test` name separate folders for those splits.

    The classes are the class folders of the test folder when there is one, else of the training
    folder. aclImdb is why: its `train/` also holds `unsup/` (unlabelled reviews), which is not a
    class; such extra folders are left out with a note.
    """
    root = Path(data.source)
    train_folder = root / "train" if (root / "train").is_dir() else root
    folders = {"train": train_folder}
    for split in ("val", "test"):
        given = getattr(data, split)
        if given is not None:
            if not Path(given).is_dir():
                raise TrainlabError(f"data.{split}={given}: no such folder; give a folder of class folders")
            folders[split] = Path(given)
        elif train_folder != root and (root / split).is_dir():
            folders[split] = root / split
    classes = class_folders(folders.get("test", train_folder))
    raw = {
        split: read_class_folders(folder, classes, data.encoding, required=split == "train")
        for split, folder in folders.items()
    }
    return assemble_text_splits(root.name, raw["train"], data, raw.get("val"), raw.get("test"), classes)


def load_text_source(data: DataConfig) -> TextSplits:
    """A builtin text-classification dataset by name, a CSV/TSV/JSONL file, or a folder; with
    `data.embeddings`, GloVe vectors aligned to the vocabulary come along."""
    splits = _load_texts(data)
    if data.embeddings is None:
        return splits
    matrix, coverage = load_glove(data.embeddings, splits.vocab, data.encoding, seed=data.split_seed)
    return dataclasses.replace(splits, embeddings=torch.from_numpy(matrix), embedding_coverage=coverage)


def _load_texts(data: DataConfig) -> TextSplits:
    builtin = builtin_splits("text-classification", data, f"files and folders; {data.source} has its own splits")
    if builtin is not None:
        return builtin
    path = Path(data.source)
    if path.is_dir():
        return load_text_folder(data)
    if path.is_file():
        return load_text_table(data)
    builtin = [entry.name for entry in registry.datasets.entries() if entry.task == "text-classification"]
    raise TrainlabError(
        f"--data {data.source}: neither a builtin text-classification dataset ({', '.join(builtin)}) "
        "nor an existing file or folder"
    )


def _extracted(dataset: str) -> Path:
    """The builtin's archive, downloaded once and extracted next to it in the cache."""
    archive = fetch(resources_of(dataset)[0])
    return extract(archive, archive.parent / f"{dataset}-extracted")


def _inner_folder(root: Path, name: str) -> Path:
    """`root/name` when the archive wraps its files in a top folder, else `root`."""
    return root / name if (root / name).is_dir() else root


@registry.datasets.register(
    "imdb", "IMDB movie reviews, 25k+25k, negative/positive (downloaded once)", task="text-classification"
)
def imdb(data: DataConfig) -> TextSplits:
    root = _inner_folder(_extracted("imdb"), "aclImdb")
    classes = ["neg", "pos"]
    train = read_class_folders(root / "train", classes, "utf-8", required=True)
    test = read_class_folders(root / "test", classes, "utf-8", required=True)
    return assemble_text_splits("imdb", train, data, test=test, classes=classes)


@registry.datasets.register(
    "sst2", "GLUE SST-2 movie-review sentences, negative/positive; GLUE dev as test (downloaded once)",
    task="text-classification",
)
def sst2(data: DataConfig) -> TextSplits:
    root = _inner_folder(_extracted("sst2"), "SST-2")
    train, test = (read_table(root / file, "utf-8", "sentence", "label") for file in ("train.tsv", "dev.tsv"))
    return assemble_text_splits("sst2", train, data, test=test, classes=["0", "1"])


@registry.datasets.register(
    "ag_news", "AG News headlines + descriptions, 120k+7.6k, 4 topics (downloaded once)",
    task="text-classification",
)
def ag_news(data: DataConfig) -> TextSplits:
    files = {resource.filename: fetch(resource) for resource in resources_of("ag_news")}
    train, test = (
        _read_ag_news(next(path for filename, path in files.items() if split in filename))
        for split in ("train", "test")
    )
    return assemble_text_splits("ag_news", train, data, test=test, classes=AG_NEWS_CLASSES)


def _read_ag_news(path: Path) -> RawTexts:
    """AG News CSV without a header: class index 1-4, title, description."""
    reader = csv.reader(io.StringIO(read_text_file(path, "utf-8"), newline=""))
    texts, labels = [], []
    for row in reader:
        if len(row) != 3 or row[0] not in ("1", "2", "3", "4"):
            raise TrainlabError(f"{path}: line {reader.line_num} is not 'class 1-4, title, description'")
        texts.append(f"{row[1]} {row[2]}")
        labels.append(AG_NEWS_CLASSES[int(row[0]) - 1])
    return RawTexts(texts, labels, str(path), "column 1")
