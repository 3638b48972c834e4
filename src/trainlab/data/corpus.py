"""Language-model corpora: one long text, tokenized (characters or words) and split in order.

The validation and test parts are the end of the text, never shuffled in: a model is judged on
text that follows what it trained on, as it will be used.
"""

from __future__ import annotations

import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import torch

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.data.download import fetch, resources_of
from trainlab.data.text import read_text_file
from trainlab.data.tokenizers import (
    TextEncoder,
    Tokenizer,
    Vocabulary,
    build_vocabulary,
    tokenizer_for,
)
from trainlab.errors import TrainlabError
from trainlab.runs import say

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


def read_corpus_text(path: Path, encoding: str) -> str:
    """A text file's content; an empty file is an error."""
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
            extra[f"{split}_text"] = read_corpus_text(Path(given), data.encoding)
    return build_corpus(path.name, read_corpus_text(path, data.encoding), data, **extra)


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
    if data.source in registry.datasets:
        entry = registry.datasets.entry(data.source)
        if entry.task != "language-model":
            raise TrainlabError(f"--data {data.source} is a {entry.task} dataset, not a language-model one")
        if data.test is not None or data.val is not None:
            say(f"note: data.test / data.val apply to text files; {data.source} is split by fraction")
        return entry.builder(data)
    if Path(data.source).is_file():
        return load_text_file_corpus(data)
    builtin = [entry.name for entry in registry.datasets.entries() if entry.task == "language-model"]
    raise TrainlabError(
        f"--data {data.source}: neither a builtin language-model corpus ({', '.join(builtin)}) "
        "nor an existing text file"
    )
