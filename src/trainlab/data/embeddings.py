"""Pretrained word vectors (GloVe text format) as the initial embedding matrix of a vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainlab.data.tokenizers import PAD_ID, UNK_ID, Vocabulary
from trainlab.errors import TrainlabError
from trainlab.runs import say


@dataclass(frozen=True)
class EmbeddingCoverage:
    """How much of a vocabulary a file of vectors covers (`<pad>` and `<unk>` not counted).

    Attributes:
        found: vocabulary tokens that have a vector in the file.
        tokens: vocabulary tokens.
        occurrence_share: share of all training token occurrences (those that became `<unk>`
            included) whose token has a vector; None when the vocabulary has no counts.
        dim: length of the vectors.
    """

    source: str
    found: int
    tokens: int
    occurrence_share: float | None
    dim: int

    @property
    def token_share(self) -> float:
        return self.found / self.tokens if self.tokens else 0.0

    def summary(self) -> str:
        line = f"{self.source}: {self.dim}-d vectors for {self.found:,} of {self.tokens:,} vocabulary tokens "
        line += f"({self.token_share:.1%})"
        if self.occurrence_share is not None:
            line += f", {self.occurrence_share:.1%} of training token occurrences"
        return line


def load_glove(
    path: Path | str, vocab: Vocabulary, encoding: str = "utf-8", seed: int = 0
) -> tuple[np.ndarray, EmbeddingCoverage]:
    """The embedding matrix of `vocab` from a GloVe text file (one word and its numbers per line).

    The vector length is read off the first line; each line is split from the right into that
    many numbers, so a word that contains spaces (GloVe 840B has a few) stays whole. A word2vec
    text header ("<count> <dim>") is skipped. The first vector of a word that appears twice wins.

    Rows: tokens found get their vector; `<pad>` is zero; `<unk>` and the tokens not found are
    drawn from a normal distribution with the per-dimension mean and standard deviation of the
    vectors found (seeded by `seed`), so they sit among the pretrained vectors in scale.

    Returns:
        matrix (len(vocab), dim) float32, and the coverage.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainlabError(f"{path}: no such file; give a GloVe text file, e.g. glove.6B.100d.txt")
    rows, found = _read_vectors(path, vocab, encoding)
    if not found.any():
        raise TrainlabError(
            f"{path}: none of the {len(vocab) - 2:,} vocabulary tokens has a vector here; check that the "
            "tokenizer's lowercasing matches the file's words"
        )
    missing = ~found
    missing[PAD_ID] = False
    pretrained = rows[found]
    generator = np.random.default_rng(seed)
    shape = (int(missing.sum()), rows.shape[1])
    drawn = generator.normal(pretrained.mean(axis=0), pretrained.std(axis=0), shape)
    rows[missing] = drawn.astype(np.float32)
    return rows, _coverage(path, vocab, found, rows.shape[1])


def _read_vectors(path: Path, vocab: Vocabulary, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows (len(vocab), dim) float32 filled where `found` (len(vocab),) bool; every line is checked,
    only the vocabulary's are parsed into numbers.

    A line whose word is not valid in `encoding` is skipped with a note rather than an error: the
    official glove.6B files hold a few words in raw cp1252 bytes among UTF-8 ones.
    """
    rows = found = None
    dim = 0
    undecodable: list[int] = []
    with path.open("rb") as lines:
        for line_number, raw_line in enumerate(lines, start=1):
            try:
                line = raw_line.decode(encoding)
            except UnicodeDecodeError:
                undecodable.append(line_number)
                line = raw_line.decode(encoding, errors="replace")  # its numbers are still checked
            line = line.rstrip("\r\n ")
            if not line:
                continue
            if rows is None:
                dim = _vector_length(path, line)
                rows, found = np.zeros((len(vocab), dim), dtype=np.float32), np.zeros(len(vocab), dtype=bool)
                if _is_word2vec_header(line):
                    continue
            parts = line.rsplit(" ", dim)
            if len(parts) != dim + 1 or not parts[0] or _ends_with_number(parts[0]):
                raise TrainlabError(
                    f"{path}: line {line_number} has {len(line.split(' ')) - 1} numbers after the word, "
                    f"expected {dim} (as on the first line); is the file complete and in GloVe text format?"
                )
            index = vocab.id_of(parts[0])
            if index <= UNK_ID or found[index] or undecodable[-1:] == [line_number]:
                continue  # not in the vocabulary, seen before, or a word that could not be read
            try:
                rows[index] = np.array(parts[1:], dtype=np.float32)
            except ValueError:
                raise TrainlabError(f"{path}: line {line_number} has a value that is not a number") from None
            found[index] = True
    if rows is None:
        raise TrainlabError(
            f"{path}: the file is empty; give a GloVe text file (a word and its numbers per line)"
        )
    if undecodable:
        say(f"note: {path}: {len(undecodable)} line(s) whose word is not valid {encoding} skipped "
            f"(first: line {undecodable[0]})")
    return rows, found


def _vector_length(path: Path, first_line: str) -> int:
    fields = first_line.split(" ")
    if _is_word2vec_header(first_line):
        return int(fields[1])
    if len(fields) < 2:
        raise TrainlabError(
            f"{path}: line 1 holds no numbers; give a GloVe text file (a word and its numbers)"
        )
    return len(fields) - 1


def _is_word2vec_header(line: str) -> bool:
    fields = line.split(" ")
    return len(fields) == 2 and all(field.isdigit() for field in fields)


def _ends_with_number(word: str) -> bool:
    """Whether a word split off from the right still ends in " <number>": the line had too many."""
    _, space, last = word.rpartition(" ")
    if not space:
        return False
    try:
        float(last)
    except ValueError:
        return False
    return True


def _coverage(path: Path, vocab: Vocabulary, found: np.ndarray, dim: int) -> EmbeddingCoverage:
    real_tokens = found[UNK_ID + 1 :]
    occurrence_share = None
    if vocab.counts is not None and sum(vocab.counts):
        counts = np.asarray(vocab.counts, dtype=np.int64)
        occurrence_share = float(counts[found].sum() / counts.sum())
    return EmbeddingCoverage(path.name, int(real_tokens.sum()), len(real_tokens), occurrence_share, dim)
