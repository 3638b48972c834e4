"""Next-word prediction as text classification: `data.context_length` words of context -> the next word.

Word-level language modelling in the form every text classifier already trains on: each example is
a window of a corpus (the context) and its label is the word that follows, one class per word of
the vocabulary (`data.max_vocab` caps it; rarer words are `<unk>`, as context and as target). The
cross-entropy of the test split is then the per-word log-loss in nats, so its perplexity is
`exp(test_loss)` (the text-classification pipeline writes it as `test_perplexity`).

The corpus is tokenized and cut in order into train | validation | test by `data.val_fraction` and
`data.test_fraction` (trainlab.data.corpus.build_corpus, vocabulary from the training part only),
and windows are cut inside each part: no window reads across a boundary, so no test word is ever
a training context or target. Training windows start every `data.stride` words; validation and
test windows start at every word, so every word of those parts after the first
`sequence_length` is scored exactly once. `data.limit` keeps the first windows of each part.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.data.corpus import TextCorpus, build_corpus, python_stdlib_text, read_corpus_text
from trainlab.data.download import fetch, resources_of
from trainlab.data.sequence_batching import PackedSequences
from trainlab.data.text import EncodedTexts, TextSplits
from trainlab.data.tokenizers import TextEncoder
from trainlab.errors import TrainlabError


@dataclass
class NextWordSplits(TextSplits):
    """Context windows and next-word labels; the classes are the vocabulary's tokens (label = id).

    Attributes:
        sequence_length: words of context per example.
        note: a caveat for the summary (e.g. that the corpus varies with the Python version).
    """

    sequence_length: int = 1
    note: str = ""

    def encoder(self) -> TextEncoder:
        # No length cap: `predict` reads a whole prompt; the recurrent model takes any length.
        return TextEncoder(self.tokenizer, self.vocab, self.classes)

    def summary(self) -> str:
        sizes = ", ".join(f"{split} {len(part):,}" for split, part in self._parts().items())
        note = f" ({self.note})" if self.note else ""
        return (
            f"{self.name}{note}: next word after {self.sequence_length} words; windows: {sizes}; "
            f"vocabulary {len(self.vocab):,} = classes ({self.tokenizer.kind}, min_freq {self.vocab.min_freq})"
        )


def context_windows(ids: torch.Tensor, sequence_length: int, stride: int = 1) -> EncodedTexts:
    """Every window of `sequence_length` ids starting at 0, stride, 2 * stride, ... and the id after it.

    Args:
        ids: (T,) int64 token ids of one contiguous part.
    Returns:
        EncodedTexts of (T - sequence_length - 1) // stride + 1 windows (none if T <= sequence_length):
        sequences of `sequence_length` ids, labels (N,) the next id, nothing truncated.
    """
    if sequence_length < 1 or stride < 1:
        raise ValueError(f"sequence_length and stride must be >= 1, got {sequence_length} and {stride}")
    if len(ids) <= sequence_length:
        windows = torch.zeros(0, sequence_length + 1, dtype=torch.int64)
    else:
        windows = ids.unfold(0, sequence_length + 1, stride)  # (N, sequence_length + 1), a view
    contexts, targets = windows[:, :sequence_length], windows[:, sequence_length].clone()
    sequences = PackedSequences.from_flat(contexts.reshape(-1), [sequence_length] * len(contexts))
    return EncodedTexts(sequences, targets, torch.zeros(len(targets), dtype=torch.bool))


def next_word_splits(corpus: TextCorpus, data: DataConfig) -> NextWordSplits:
    """The windows of each part of `corpus` (already split in order) as classification splits."""
    length = data.context_length
    parts = {"train": corpus.train, "val": corpus.val, "test": corpus.test}
    encoded: dict[str, EncodedTexts | None] = {}
    for split, ids in parts.items():
        if ids is None:
            encoded[split] = None
            continue
        windows = context_windows(ids, length, data.stride if split == "train" else 1)
        if not len(windows):
            raise TrainlabError(
                f"{corpus.name}: the {split} part has {len(ids)} words, too few for one window of "
                f"data.context_length={length} words and the next; lower data.context_length or give "
                "a longer text"
            )
        encoded[split] = windows.head(data.limit) if data.limit is not None else windows
    assert encoded["train"] is not None and encoded["test"] is not None
    return NextWordSplits(
        corpus.name, encoded["train"], encoded["val"], encoded["test"], list(corpus.vocab.tokens),
        corpus.vocab, corpus.tokenizer, sequence_length=length, note=corpus.note,
    )


def next_word_from_text(name: str, text: str, data: DataConfig, note: str = "") -> NextWordSplits:
    """Tokenize and split `text` in order, then cut the windows; `data.limit` counts windows."""
    corpus = build_corpus(name, text, data.model_copy(update={"limit": None}), note=note)
    return next_word_splits(corpus, data)


def load_next_word_file(data: DataConfig) -> NextWordSplits:
    """`data.source` as a text file (no separate val/test files: the text is split in order)."""
    path = Path(data.source)
    if not path.is_file():
        raise TrainlabError(f"{data.source}: no such file; give a text file to predict the next word of")
    return next_word_from_text(path.name, read_corpus_text(path, data.encoding), data)


@registry.datasets.register(
    "next-word-python",
    "next word of the Python standard library's source (python-stdlib corpus, offline)",
    task="text-classification",
)
def next_word_python(data: DataConfig) -> NextWordSplits:
    text, modules = python_stdlib_text()
    version = ".".join(str(part) for part in sys.version_info[:2])
    note = f"{modules} modules of Python {version}'s standard library"
    return next_word_from_text("next-word-python", text, data, note=note)


@registry.datasets.register(
    "next-word-shakespeare",
    "next word of Karpathy's tiny-shakespeare (downloaded once)",
    task="text-classification",
)
def next_word_shakespeare(data: DataConfig) -> NextWordSplits:
    path = fetch(resources_of("tiny-shakespeare")[0])
    return next_word_from_text("next-word-shakespeare", read_corpus_text(path, "utf-8"), data)

