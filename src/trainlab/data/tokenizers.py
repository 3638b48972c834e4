"""Text to tokens to ids and back: word and character tokenizers, the vocabulary, and the encoder
that bundles them (with the class names) so that a run can save it and `predict` can reload it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trainlab.config import DataConfig
from trainlab.errors import TrainlabError
from trainlab.runs import atomic_write_text

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

ENCODER_FORMAT = "trainlab-text-encoder"
ENCODER_VERSION = 1


class Tokenizer(Protocol):
    kind: str

    def tokenize(self, text: str) -> list[str]: ...

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]: ...

    def join(self, tokens: Sequence[str]) -> str: ...

    def settings(self) -> dict[str, Any]: ...


class WordTokenizer:
    """Words, numbers and single punctuation marks, found by one regular expression.

    A word may continue with an apostrophe and more letters ("don't", "o'clock") or with "." or ","
    and digits ("3.14", "1,000"); every other character that is neither a word character nor space
    is a token of its own ("!", "(", "-"). With `strip_html`, tags such as IMDB's `<br />` are
    replaced by a space first.
    """

    kind = "word"
    _TOKEN = re.compile(r"\w+(?:['’]\w+|[.,]\d+)*|[^\w\s]")
    _HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # a tag name must follow: "1 < 2 > 0" is not a tag

    def __init__(self, lowercase: bool = True, strip_html: bool = True):
        self.lowercase = lowercase
        self.strip_html = strip_html

    def tokenize(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        if self.strip_html:
            text = self._HTML_TAG.sub(" ", text)
        return self._TOKEN.findall(text)

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        # The hot path of loading a text data set: bound methods looked up once, no call of
        # `tokenize` per text.
        find_tokens, remove_tags = self._TOKEN.findall, self._HTML_TAG.sub
        if self.lowercase and self.strip_html:
            return [find_tokens(remove_tags(" ", text.lower())) for text in texts]
        return [self.tokenize(text) for text in texts]

    def join(self, tokens: Sequence[str]) -> str:
        return " ".join(tokens)

    def settings(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase, "strip_html": self.strip_html}

    def __repr__(self) -> str:
        return f"WordTokenizer(lowercase={self.lowercase}, strip_html={self.strip_html})"


class CharTokenizer:
    """Every character is a token; `join` of the tokens gives the text back exactly."""

    kind = "char"

    def __init__(self, lowercase: bool = False):
        self.lowercase = lowercase

    def tokenize(self, text: str) -> list[str]:
        return list(text.lower() if self.lowercase else text)

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        if self.lowercase:
            return [list(text.lower()) for text in texts]
        return [list(text) for text in texts]

    def join(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)

    def settings(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase}

    def __repr__(self) -> str:
        return f"CharTokenizer(lowercase={self.lowercase})"


def tokenizer_from_settings(settings: dict[str, Any]) -> Tokenizer:
    """The tokenizer that `settings()` described."""
    options = {key: value for key, value in settings.items() if key != "kind"}
    if settings.get("kind") == "word":
        return WordTokenizer(**options)
    if settings.get("kind") == "char":
        return CharTokenizer(**options)
    raise ValueError(f"unknown tokenizer kind {settings.get('kind')!r}; expected 'word' or 'char'")


def tokenizer_for(data: DataConfig) -> Tokenizer:
    """The tokenizer the data options ask for (`data.tokenizer`, `data.lowercase`, `data.strip_html`)."""
    if data.tokenizer == "char":
        # Case is part of what a character model learns (and generates): kept unless asked.
        return CharTokenizer(lowercase=bool(data.lowercase))
    return WordTokenizer(lowercase=data.lowercase is not False, strip_html=data.strip_html)


class Vocabulary:
    """Token <-> id table: `<pad>` is 0, `<unk>` is 1, then tokens by training frequency.

    Args:
        tokens: every token by id; the first two must be `<pad>` and `<unk>`.
        counts: training occurrences per id; `counts[1]` holds the occurrences of the tokens that
            were left out (they encode as `<unk>`), so `sum(counts)` is the number of training
            tokens. None when unknown.
        min_freq, max_size: the limits the table was built with (kept for the record).
    """

    def __init__(
        self,
        tokens: Sequence[str],
        counts: Sequence[int] | None = None,
        min_freq: int = 1,
        max_size: int | None = None,
    ):
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD} and {UNK}, got {list(tokens[:2])}")
        if counts is not None and len(counts) != len(tokens):
            raise ValueError(f"{len(counts)} counts for {len(tokens)} tokens")
        self.tokens = list(tokens)
        self.counts = None if counts is None else [int(count) for count in counts]
        self.min_freq = min_freq
        self.max_size = max_size
        self._ids = {token: index for index, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            raise ValueError("a vocabulary lists each token once")

    @classmethod
    def build(
        cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocabulary:
        """The tokens seen at least `min_freq` times, the most frequent first, at most `max_size`
        entries counting `<pad>` and `<unk>` (None: no cap).

        Ties in frequency keep the order of first occurrence in `token_lists`, so the same data
        always gives the same ids.
        """
        return cls.build_encoded(token_lists, min_freq, max_size)[0]

    @classmethod
    def build_encoded(
        cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> tuple[Vocabulary, np.ndarray]:
        """`build`, and the ids of all tokens of `token_lists` in one flat int64 array.

        One pass over the tokens numbers each distinct token in order of first occurrence;
        counting, ranking and mapping to ids are then NumPy operations.
        """
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < 2:
            raise ValueError(f"max_size must be >= 2 ({PAD} and {UNK} are always in), got {max_size}")
        # A defaultdict that numbers each new token, driven by map(): the pass over every token
        # runs without a Python-level frame per token.
        first_seen: defaultdict[str, int] = defaultdict(itertools.count(2).__next__, {PAD: 0, UNK: 1})
        codes = np.fromiter(map(first_seen.__getitem__, itertools.chain.from_iterable(token_lists)), np.int64)
        distinct = list(first_seen)
        counts = np.bincount(codes, minlength=len(distinct))
        counts[:2] = 0  # a literal "<pad>" or "<unk>" in the data is not a token to rank
        eligible = np.flatnonzero(counts >= min_freq)
        eligible = eligible[eligible >= 2]
        # Stable sort on -count: equal counts keep the order of first occurrence.
        ranked = eligible[np.argsort(-counts[eligible], kind="stable")]
        if max_size is not None:
            ranked = ranked[: max_size - 2]
        id_of_code = np.full(len(distinct), UNK_ID, dtype=np.int64)
        id_of_code[PAD_ID] = PAD_ID
        id_of_code[ranked] = np.arange(2, len(ranked) + 2)
        kept_counts = counts[ranked].tolist()
        left_out = int(counts.sum()) - sum(kept_counts)
        tokens = [PAD, UNK, *(distinct[code] for code in ranked.tolist())]
        vocab = cls(tokens, [0, left_out, *kept_counts], min_freq, max_size)
        return vocab, id_of_code[codes]

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def id_of(self, token: str) -> int:
        return self._ids.get(token, UNK_ID)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        return list(map(self._ids.get, tokens, itertools.repeat(UNK_ID)))

    def encode_many(self, token_lists: Iterable[Sequence[str]]) -> np.ndarray:
        """The ids of every token of every list, concatenated: one flat int64 array."""
        tokens = itertools.chain.from_iterable(token_lists)
        return np.fromiter(map(self._ids.get, tokens, itertools.repeat(UNK_ID)), np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[int(index)] for index in ids]

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "counts": self.counts, "min_freq": self.min_freq,
                "max_size": self.max_size}

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Vocabulary:
        return cls(saved["tokens"], saved.get("counts"), saved.get("min_freq", 1), saved.get("max_size"))

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens, min_freq={self.min_freq}, max_size={self.max_size})"


def build_vocabulary(token_lists: Iterable[Sequence[str]], data: DataConfig) -> tuple[Vocabulary, np.ndarray]:
    """`Vocabulary.build_encoded` with the limits of the data options (`data.min_freq`,
    `data.max_vocab`): the vocabulary and the ids of every token of `token_lists`."""
    if data.max_vocab is not None and data.max_vocab < 3:
        raise TrainlabError(
            f"data.max_vocab={data.max_vocab} leaves no room for tokens besides {PAD} and {UNK}; "
            "use 3 or more (or null for no cap)"
        )
    return Vocabulary.build_encoded(token_lists, data.min_freq, data.max_vocab)


@dataclass
class TextEncoder:
    """Everything that turns raw text into the ids a model saw in training, and ids back into text.

    Saved into a run directory so that `predict` and `generate` read text exactly as training did.
    `classes` are the label names of a classifier (None for a language model); `max_length` cuts
    longer texts (None: no cap).
    """

    tokenizer: Tokenizer
    vocab: Vocabulary
    classes: list[str] | None = None
    max_length: int | None = None

    def encode(self, text: str) -> list[int]:
        ids = self.vocab.encode(self.tokenizer.tokenize(text))
        return ids[: self.max_length] if self.max_length is not None else ids

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.join(self.vocab.decode(ids))

    def to_json(self) -> str:
        return json.dumps({
            "format": ENCODER_FORMAT,
            "version": ENCODER_VERSION,
            "tokenizer": self.tokenizer.settings(),
            "vocabulary": self.vocab.to_dict(),
            "classes": self.classes,
            "max_length": self.max_length,
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TextEncoder:
        saved = json.loads(text)
        if not isinstance(saved, dict) or saved.get("format") != ENCODER_FORMAT:
            raise ValueError(f"not a {ENCODER_FORMAT} file")
        if saved.get("version") != ENCODER_VERSION:
            raise ValueError(f"{ENCODER_FORMAT} version {saved.get('version')} is not {ENCODER_VERSION}")
        return cls(
            tokenizer_from_settings(saved["tokenizer"]),
            Vocabulary.from_dict(saved["vocabulary"]),
            saved.get("classes"),
            saved.get("max_length"),
        )

    def save(self, path: Path) -> None:
        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: Path) -> TextEncoder:
        try:
            return cls.from_json(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TrainlabError(f"{path}: no such file; the run did not save its text encoder") from None
        except (ValueError, KeyError, TypeError) as error:
            raise TrainlabError(f"{path}: not a readable text encoder ({error})") from None
