"""Language-model corpora: one long text, tokenized (characters or words) and split in order.

The validation and test parts are the end of the text, never shuffled in: a model is judged on
text that follows what it trained on, as it will be used.
"""

from __future__ import annotations

import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.data.download import fetch, resources_of
from trainlab.data.sources import builtin_splits
from trainlab.data.text import read_text_file
from trainlab.data.text_files import read_table_records
from trainlab.data.tokenizers import (
    TextEncoder,
    Tokenizer,
    Vocabulary,
    build_vocabulary,
    tokenizer_for,
)
from trainlab.errors import TrainlabError

# The python-stdlib corpus: whole top-level modules, in name order, while they fit in this many
# characters (about 1.5 MB: a Tiny-Shakespeare-sized corpus that every Python installation has).
STDLIB_CORPUS_CHARACTERS = 1_500_000
MIN_PART_TOKENS = 2  # a part needs one input and one next token to be scored


@dataclass
class TextCorpus:
    """A tokenized text split contiguously into train, validation and test ids.

    Attributes:
        train, val, test: 1-D int64 token ids; `val` is None when no validation part was asked for.
        note: a caveat for the summary (e.g. that the text depends on the Python version).
    """

    name: str
    train: torch.Tensor
    val: torch.Tensor | None
    test: torch.Tensor
    vocab: Vocabulary
    tokenizer: Tokenizer
    note: str = ""

    def limited(self, limit: int | None) -> TextCorpus:
        """The first `limit` tokens of each part (quick trials)."""
        if limit is None:
            return self
        val = self.val[:limit] if self.val is not None else None
        return TextCorpus(self.name, self.train[:limit], val, self.test[:limit], self.vocab, self.tokenizer,
                          self.note)

    def encoder(self) -> TextEncoder:
        """What `generate` needs to turn a prompt into ids and ids back into text."""
        return TextEncoder(self.tokenizer, self.vocab)

    def summary(self) -> str:
        parts = {"train": self.train, "val": self.val, "test": self.test}
        sizes = ", ".join(f"{split} {len(ids):,}" for split, ids in parts.items() if ids is not None)
        unit = "characters" if self.tokenizer.kind == "char" else "words"
        note = f" ({self.note})" if self.note else ""
        return (
            f"{self.name}{note}: {sizes} tokens ({unit}); vocabulary {len(self.vocab)} "
            f"(min_freq {self.vocab.min_freq})"
        )


TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl")


def read_corpus_text(path: Path, encoding: str, text_column: str = "text") -> str:
    """A text file's content, or a table's texts (its `text_column`) one per line, so that a
    classifier's training table can teach a language model first (ULMFiT); empty is an error."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        columns, records = read_table_records(path, encoding)
        if text_column not in columns:
            raise TrainlabError(f"{path}: no column '{text_column}' (columns: {', '.join(columns)}); "
                                "set data.text_column= to the column holding the texts")
        return "\n".join(str(row.get(text_column) or "") for _, row in records)
    text = read_text_file(path, encoding)
    if not text.strip():
        raise TrainlabError(f"{path}: the file is empty; a language model needs a text to learn from")
    return text


def build_corpus(
    name: str,
    text: str,
    data: DataConfig,
    val_text: str | None = None,
    test_text: str | None = None,
    note: str = "",
) -> TextCorpus:
    """Tokenize `text` and cut it into train | val | test by `data.val_fraction` and
    `data.test_fraction` of its tokens (parts given as separate texts are not cut off), then keep
    the first `data.limit` tokens of each part. The vocabulary is built from the training part
    only, before the limit."""
    tokenizer = tokenizer_for(data)
    tokens = tokenizer.tokenize(text)
    test_start = len(tokens) - (0 if test_text is not None else round(len(tokens) * data.test_fraction))
    val_start = test_start - (0 if val_text is not None else round(len(tokens) * data.val_fraction))
    parts = {"train": tokens[:val_start]}
    if val_text is not None:
        parts["val"] = tokenizer.tokenize(val_text)
    elif val_start < test_start:
        parts["val"] = tokens[val_start:test_start]
    parts["test"] = tokenizer.tokenize(test_text) if test_text is not None else tokens[test_start:]
    for split, part in parts.items():
        if len(part) < MIN_PART_TOKENS:
            raise TrainlabError(
                f"{name}: the {split} part has {len(part)} token(s) of {len(tokens)}; give a longer text "
                "or change data.val_fraction / data.test_fraction"
            )
    vocab, train_ids = build_vocabulary([parts["train"]], data)
    val_ids = torch.from_numpy(vocab.encode_many([parts["val"]])) if "val" in parts else None
    test_ids = torch.from_numpy(vocab.encode_many([parts["test"]]))
    corpus = TextCorpus(name, torch.from_numpy(train_ids), val_ids, test_ids, vocab, tokenizer, note)
    return corpus.limited(data.limit)


def load_text_file_corpus(data: DataConfig) -> TextCorpus:
    """`data.source` as a text file; `data.val` / `data.test` as separate text files."""
    path = Path(data.source)
    extra = {}
    for split in ("val", "test"):
        given = getattr(data, split)
        if given is not None:
            if not Path(given).is_file():
                raise TrainlabError(f"data.{split}={given}: no such file; give a text file")
            extra[f"{split}_text"] = read_corpus_text(Path(given), data.encoding, data.text_column)
    return build_corpus(path.name, read_corpus_text(path, data.encoding, data.text_column), data, **extra)


@registry.datasets.register(
    "tiny-shakespeare", "Karpathy's char-rnn Shakespeare, 1.1M characters (downloaded once)",
    task="language-model",
)
def tiny_shakespeare(data: DataConfig) -> TextCorpus:
    path = fetch(resources_of("tiny-shakespeare")[0])
    return build_corpus("tiny-shakespeare", read_corpus_text(path, "utf-8"), data)


def python_stdlib_text() -> tuple[str, int]:
    """The Python standard library's own source: its top-level modules (`<stdlib>/*.py`, no
    packages, no tests), sorted by file name, each whole, concatenated while the total stays within
    `STDLIB_CORPUS_CHARACTERS`. Returns the text and the number of modules in it.

    The selection is fixed, but the files differ between Python versions, so the text does too.
    """
    folder = Path(sysconfig.get_paths()["stdlib"])
    pieces: list[str] = []
    total = 0
    for path in sorted(folder.glob("*.py")):
        # The standard library is UTF-8; replacing a stray byte keeps the corpus deterministic anyway.
        source = path.read_text(encoding="utf-8", errors="replace")
        if total + len(source) > STDLIB_CORPUS_CHARACTERS:
            break
        pieces.append(source)
        total += len(source)
    if not pieces:
        raise TrainlabError(
            f"python-stdlib: no Python source files in {folder} (this Python ships its standard library "
            "compiled); use --data tiny-shakespeare or a text file of your own"
        )
    return "".join(pieces), len(pieces)


@registry.datasets.register(
    "python-stdlib", "Python standard library source, ~1.5M characters (offline; varies by Python version)",
    task="language-model",
)
def python_stdlib(data: DataConfig) -> TextCorpus:
    text, modules = python_stdlib_text()
    version = ".".join(str(part) for part in sys.version_info[:2])
    note = f"{modules} modules of Python {version}'s standard library; the text varies between versions"
    return build_corpus("python-stdlib", text, data, note=note)


def load_corpus_source(data: DataConfig) -> TextCorpus:
    """A builtin language-model corpus by name, or a text file."""
    builtin = builtin_splits("language-model", data, f"text files; {data.source} is split by fraction")
    if builtin is not None:
        return builtin
    if Path(data.source).is_file():
        return load_text_file_corpus(data)
    builtin = [entry.name for entry in registry.datasets.entries() if entry.task == "language-model"]
    raise TrainlabError(
        f"--data {data.source}: neither a builtin language-model corpus ({', '.join(builtin)}) "
        "nor an existing text file"
    )


IGNORE_INDEX = -100  # a target that is not scored (cross_entropy's default ignore_index)
BatchingMode = Literal["stateful", "windows"]


class LanguageModelBatches:
    """Batches `(inputs (B, T), targets (B, T), reset ())` over one part of a corpus; the targets
    are the inputs shifted by one token, and `reset` is 1 where the recurrent state must start
    from zeros (the task keeps the state between batches otherwise).

    Two ways to cut the text (`mode`):
      - "stateful": the text is cut into B equal streams read side by side, T tokens at a time; row
        b of a batch continues row b of the batch before it, so the state carried over (detached:
        truncated BPTT) holds context from before the chunk. `reset` is 1 on the first batch only.
      - "windows": independent windows of T tokens in shuffled order, each from a zero state.

    In training the text starts at a random offset below T each epoch (so chunk boundaries move),
    windows are shuffled, and the tokens that do not fill a whole stream or window are left out;
    the number of batches is the same every epoch. In evaluation (`training=False`) every target
    of the part is scored exactly once: the last stream or window is padded with `IGNORE_INDEX`.

    Attributes:
        num_examples: the targets scored per epoch (trainer: "samples" per second are tokens).
    """

    def __init__(
        self,
        ids: torch.Tensor,
        batch_size: int,
        sequence_length: int,
        mode: BatchingMode = "stateful",
        training: bool = True,
        seed: int = 0,
    ):
        if len(ids) < 2:
            raise ValueError(f"a part needs at least 2 tokens to give one target, got {len(ids)}")
        self.ids = ids.long()
        self.sequence_length = sequence_length
        self.mode = mode
        self.training = training
        self.seed = seed
        self.epoch = 0
        targets = len(ids) - 1
        if training:
            # The room the largest random offset (T - 1) leaves, cut into whole streams/windows.
            usable = max(targets - (sequence_length - 1), 1)
            if mode == "stateful":
                self.streams = min(batch_size, usable)
                self.stream_length = usable // self.streams
            else:
                self.windows = max(usable // sequence_length, 1)
                self.batch_size = min(batch_size, self.windows)
        else:
            if mode == "stateful":
                self.streams = min(batch_size, targets)
                self.stream_length = -(-targets // self.streams)
            else:
                self.windows = -(-targets // sequence_length)
                self.batch_size = min(batch_size, self.windows)
        if mode == "stateful":
            self.num_examples = targets if not training else self.streams * self.stream_length
            self._batches = -(-self.stream_length // sequence_length)
        else:
            self.num_examples = targets if not training else self.windows * sequence_length
            self._batches = -(-self.windows // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self._batches

    def _pairs(self, count: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(count, length) inputs and targets from the text at this epoch's offset, the tail padded."""
        offset = 0
        if self.training:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            room = len(self.ids) - 1 - count * length
            offset = int(torch.randint(0, min(self.sequence_length, room + 1), (1,), generator=generator))
        needed = count * length
        inputs = self.ids[offset : offset + needed]
        targets = self.ids[offset + 1 : offset + 1 + needed]
        padding = needed - len(targets)
        if padding:  # evaluation only: score every target once
            inputs = torch.cat([inputs[: len(targets)], torch.zeros(padding, dtype=torch.long)])
            targets = torch.cat([targets, torch.full((padding,), IGNORE_INDEX, dtype=torch.long)])
        return inputs.reshape(count, length), targets.reshape(count, length)

    def __iter__(self):
        T = self.sequence_length
        if self.mode == "stateful":
            inputs, targets = self._pairs(self.streams, self.stream_length)  # (B, L)
            for index, start in enumerate(range(0, self.stream_length, T)):
                yield inputs[:, start : start + T], targets[:, start : start + T], torch.tensor(int(index == 0))
            return
        inputs, targets = self._pairs(self.windows, T)  # (windows, T)
        order = torch.arange(self.windows)
        if self.training:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch + 500_009)
            order = torch.randperm(self.windows, generator=generator)
        for start in range(0, self.windows, self.batch_size):
            chosen = order[start : start + self.batch_size]
            yield inputs[chosen], targets[chosen], torch.tensor(1)
