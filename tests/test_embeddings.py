"""GloVe loading against an independent parse of the real file, and the malformed-file errors."""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from trainlab.data.embeddings import load_glove
from trainlab.data.tokenizers import PAD, UNK, Vocabulary, WordTokenizer
from trainlab.errors import TrainlabError

GLOVE = Path("glove_6B_50d_top2446") / "glove.6B.50d.top2446.txt"


def test_glove_on_an_imdb_vocabulary(shared_data):
    with (shared_data / "imdb" / "train.csv").open(encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in itertools.islice(csv.DictReader(handle), 1000)]
    token_lists = WordTokenizer().tokenize_many(texts)
    vocab = Vocabulary.build(token_lists, max_size=5000)
    matrix, coverage = load_glove(shared_data / GLOVE, vocab)

    # Reference: the file parsed with bytes.split (no word of glove.6B contains a space); the five
    # words that are not UTF-8 (raw cp1252 punctuation) cannot match a token, so they are left out.
    vectors = {}
    for line in (shared_data / GLOVE).read_bytes().splitlines():
        word, *numbers = line.split(b" ")
        try:
            vectors.setdefault(word.decode("utf-8"), np.array(numbers, dtype=np.float32))
        except UnicodeDecodeError:
            continue
    assert len(vectors) == 2446 - 5
    assert matrix.shape == (5000, 50) and matrix.dtype == np.float32
    found = [index for index, token in enumerate(vocab.tokens) if index >= 2 and token in vectors]
    assert coverage.found == len(found) and coverage.tokens == 4998 and coverage.dim == 50
    for index in found:
        np.testing.assert_array_equal(matrix[index], vectors[vocab.tokens[index]])
    np.testing.assert_array_equal(matrix[0], np.zeros(50, dtype=np.float32))
    counts = Counter(itertools.chain.from_iterable(token_lists))
    expected_share = sum(counts[vocab.tokens[index]] for index in found) / sum(counts.values())
    assert coverage.occurrence_share == pytest.approx(expected_share, abs=1e-12)
    # The top 2,446 GloVe words are the most frequent English words: most running text is covered.
    assert coverage.occurrence_share > 0.7 and 0.25 < coverage.token_share < 0.5
    # Missing rows (and <unk>) are drawn around the found vectors, per dimension.
    missing = np.array([index for index in range(1, 5000) if index not in set(found)])
    pretrained = np.stack([vectors[vocab.tokens[index]] for index in found])
    drawn = matrix[missing]
    standard_error = pretrained.std(axis=0) / np.sqrt(len(missing))
    assert np.all(np.abs(drawn.mean(axis=0) - pretrained.mean(axis=0)) < 5 * standard_error)
    np.testing.assert_allclose(drawn.std(axis=0), pretrained.std(axis=0), rtol=0.15)
    assert coverage.summary() == (
        f"glove.6B.50d.top2446.txt: 50-d vectors for {len(found):,} of 4,998 vocabulary tokens "
        f"({len(found) / 4998:.1%}), {expected_share:.1%} of training token occurrences"
    )
    again, _ = load_glove(shared_data / GLOVE, vocab)
    np.testing.assert_array_equal(matrix, again)  # seeded


def small_vocab(*tokens: str) -> Vocabulary:
    return Vocabulary([PAD, UNK, *tokens])


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "vectors.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_words_with_spaces_headers_and_duplicates(tmp_path):
    path = write(tmp_path, "3 3\nthe 0.1 0.2 0.3\nnew york 1 2 3\n. . . 4 5 6\nthe 9 9 9\ncat -1 0 1e-1\n")
    vocab = small_vocab("the", "new york", ". . .", "dog")
    matrix, coverage = load_glove(path, vocab)
    np.testing.assert_allclose(matrix[2:5], [[0.1, 0.2, 0.3], [1, 2, 3], [4, 5, 6]])  # first "the" wins
    assert coverage.found == 3 and coverage.tokens == 4 and coverage.occurrence_share is None
    assert not matrix[0].any() and np.isfinite(matrix).all()


WRONG_COUNT = (
    "numbers after the word, expected 3 (as on the first line); "
    "is the file complete and in GloVe text format?"
)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("the 0.1 0.2 0.3\ncat 0.1 0.2\n", f"line 2 has 2 {WRONG_COUNT}"),
        ("the 0.1 0.2 0.3\ncat 0.1 0.2 0.3 0.4\n", f"line 2 has 4 {WRONG_COUNT}"),
        ("the 0.1 0.2 0.3\n\ncat 0.1 x 0.3\n", "line 3 has a value that is not a number"),
        ("", "the file is empty; give a GloVe text file (a word and its numbers per line)"),
        ("dog 1 2 3\n", ("none of the 1 vocabulary tokens has a vector here; check that the tokenizer's "
                         "lowercasing matches the file's words")),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path, content, problem):
    path = write(tmp_path, content)
    with pytest.raises(TrainlabError) as error:
        load_glove(path, small_vocab("cat"))
    assert str(error.value) == f"{path}: {problem}"


def test_words_not_in_the_encoding_are_skipped_with_a_note(tmp_path, capsys):
    # glove.6B itself has five such lines (cp1252 dashes and quotes among UTF-8).
    path = write(tmp_path, b"the 1 2 3\nca\xe9 4 5 6\ncaf\xc3\xa9 7 8 9\n")
    matrix, coverage = load_glove(path, small_vocab("caf\xe9", "ca\ufffd"))
    np.testing.assert_array_equal(matrix[2], [7, 8, 9])
    assert coverage.found == 1
    assert capsys.readouterr().err == (
        f"note: {path}: 1 line(s) whose word is not valid utf-8 skipped (first: line 2)\n"
    )
    _, latin = load_glove(path, small_vocab("ca\xe9"), encoding="latin-1")
    assert latin.found == 1


def test_missing_file(tmp_path):
    with pytest.raises(TrainlabError) as error:
        load_glove(tmp_path / "glove.txt", small_vocab("cat"))
    assert str(error.value) == (
        f"{tmp_path / 'glove.txt'}: no such file; give a GloVe text file, e.g. glove.6B.100d.txt"
    )
