"""Tokenizers by hand-checked examples; the vocabulary against collections.Counter; the encoder's
save/load round trip."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from trainlab.config import TextDataConfig
from trainlab.data.tokenizers import (
    PAD,
    UNK,
    CharTokenizer,
    TextEncoder,
    Vocabulary,
    WordTokenizer,
    build_vocabulary,
    tokenizer_for,
    tokenizer_from_settings,
)
from trainlab.errors import TrainlabError


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I don't like it!<br /><br />It's bad.", ["i", "don't", "like", "it", "!", "it's", "bad", "."]),
        ("Rated 3.5/10 by 1,000 people (in 1970s)", ["rated", "3.5", "/", "10", "by", "1,000", "people", "(",
                                                     "in", "1970s", ")"]),
        ("Hello,world -- \"quoted\"", ["hello", ",", "world", "-", "-", '"', "quoted", '"']),
        ("Café NAÏVE rock'n'roll", ["café", "naïve", "rock'n'roll"]),
        ("   \n\t ", []),
        ("a<b>c</b> 1 < 2 > 0", ["a", "c", "1", "<", "2", ">", "0"]),
    ],
)
def test_word_tokenizer_hand_checked(text, tokens):
    assert WordTokenizer().tokenize(text) == tokens


def test_word_tokenizer_options_keep_case_and_html():
    tokenizer = WordTokenizer(lowercase=False, strip_html=False)
    assert tokenizer.tokenize("Don't<br />Stop") == ["Don't", "<", "br", "/", ">", "Stop"]


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("strip_html", [True, False])
def test_fast_path_matches_one_text_at_a_time(lowercase, strip_html):
    texts = ["It's <i>GREAT</i>, 10/10!", "", "Line one.<br />Line two", "ÉTÉ 2,5 km"]
    word = WordTokenizer(lowercase=lowercase, strip_html=strip_html)
    assert word.tokenize_many(texts) == [word.tokenize(text) for text in texts]
    char = CharTokenizer(lowercase=lowercase)
    assert char.tokenize_many(texts) == [char.tokenize(text) for text in texts]


def test_char_tokenizer_keeps_every_character():
    assert CharTokenizer().tokenize("Ab c\n") == ["A", "b", " ", "c", "\n"]
    assert CharTokenizer(lowercase=True).tokenize("Ab") == ["a", "b"]
    assert CharTokenizer().join(["A", "b", " "]) == "Ab "


def test_tokenizer_settings_round_trip_and_config():
    for tokenizer in (WordTokenizer(lowercase=False, strip_html=True), CharTokenizer(lowercase=True)):
        again = tokenizer_from_settings(tokenizer.settings())
        assert type(again) is type(tokenizer) and again.settings() == tokenizer.settings()
    assert tokenizer_for(TextDataConfig(tokenizer="char", lowercase=False)).settings() == {
        "kind": "char", "lowercase": False}
    assert tokenizer_for(TextDataConfig(strip_html=False)).settings() == {
        "kind": "word", "lowercase": True, "strip_html": False}


TOKEN_LISTS = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["the", "dog", "sat"],
    ["a", "cat", "and", "a", "dog"],
    ["zebra"],
    [],
    ["mat", "mat", "on"],
]


def reference_vocabulary(token_lists, min_freq, max_size):
    """Counter-based: frequency descending, ties by first occurrence, capped counting pad/unk."""
    flat = list(itertools.chain.from_iterable(token_lists))
    counts = Counter(flat)
    first_index = {}
    for index, token in enumerate(flat):
        first_index.setdefault(token, index)
    kept = [token for token in counts if counts[token] >= min_freq]
    kept.sort(key=lambda token: (-counts[token], first_index[token]))
    if max_size is not None:
        kept = kept[: max_size - 2]
    return [PAD, UNK, *kept], counts


@pytest.mark.parametrize(("min_freq", "max_size"), [(1, None), (2, None), (1, 5), (2, 3), (3, 100), (1, 2)])
def test_vocabulary_matches_counter(min_freq, max_size):
    vocab = Vocabulary.build(TOKEN_LISTS, min_freq=min_freq, max_size=max_size)
    tokens, counts = reference_vocabulary(TOKEN_LISTS, min_freq, max_size)
    assert vocab.tokens == tokens
    assert vocab.counts[2:] == [counts[token] for token in tokens[2:]]
    assert vocab.counts[0] == 0
    assert vocab.counts[1] == sum(counts.values()) - sum(counts[token] for token in tokens[2:])
    assert len(vocab) == len(tokens)


def test_vocabulary_ties_by_first_occurrence_by_hand():
    # the:3, cat:2, sat:2, on:2, mat:3, dog:2 ... ties keep the order tokens first appeared in.
    vocab = Vocabulary.build(TOKEN_LISTS)
    assert vocab.tokens[:9] == [PAD, UNK, "the", "mat", "cat", "sat", "on", "dog", "a"]


def test_vocabulary_on_real_sentences_matches_counter(shared_data):
    lines = (shared_data / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    token_lists = WordTokenizer().tokenize_many(line.split("\t")[0] for line in lines)
    vocab = Vocabulary.build(token_lists, min_freq=2, max_size=3000)
    tokens, _ = reference_vocabulary(token_lists, 2, 3000)
    assert vocab.tokens == tokens


def test_encode_decode_and_unknown_tokens():
    vocab = Vocabulary.build(TOKEN_LISTS)
    assert vocab.decode(vocab.encode(["the", "dog", "sat"])) == ["the", "dog", "sat"]
    assert vocab.encode(["the", "platypus"]) == [vocab.tokens.index("the"), 1]
    assert vocab.id_of(PAD) == 0 and vocab.id_of(UNK) == 1
    assert vocab.encode_many([["the"], [], ["platypus", "dog"]]).tolist() == vocab.encode(
        ["the", "platypus", "dog"])


def test_build_encoded_ids_equal_encoding_with_the_built_vocabulary():
    vocab, ids = Vocabulary.build_encoded(TOKEN_LISTS, min_freq=2, max_size=4)
    assert ids.tolist() == vocab.encode(itertools.chain.from_iterable(TOKEN_LISTS))
    assert ids.dtype.name == "int64"


def test_literal_special_tokens_are_not_counted():
    vocab, ids = Vocabulary.build_encoded([[UNK, "a", PAD, "a"]])
    assert vocab.tokens == [PAD, UNK, "a"]
    assert ids.tolist() == [1, 2, 0, 2]
    assert vocab.counts == [0, 0, 2]


def test_vocabulary_limits_are_checked():
    with pytest.raises(ValueError, match="max_size must be >= 2"):
        Vocabulary.build(TOKEN_LISTS, max_size=1)
    with pytest.raises(ValueError, match="min_freq must be >= 1"):
        Vocabulary.build(TOKEN_LISTS, min_freq=0)
    with pytest.raises(TrainlabError) as error:
        build_vocabulary(TOKEN_LISTS, TextDataConfig(max_vocab=2))
    assert str(error.value) == (
        "data.max_vocab=2 leaves no room for tokens besides <pad> and <unk>; "
        "use 3 or more (or null for no cap)"
    )


def test_char_round_trip_is_exact(shared_data):
    text = (shared_data / "tiny_shakespeare" / "input.txt").read_text(encoding="utf-8")[:20_000]
    tokenizer = CharTokenizer()
    encoder = TextEncoder(tokenizer, Vocabulary.build([tokenizer.tokenize(text)]))
    assert encoder.decode(encoder.encode(text)) == text


def test_encoder_save_load_round_trip(tmp_path):
    tokenizer = WordTokenizer(lowercase=False, strip_html=True)
    vocab = Vocabulary.build(tokenizer.tokenize_many(["Good film", "Bad film", "good <b>acting</b>"]),
                             min_freq=1, max_size=50)
    encoder = TextEncoder(tokenizer, vocab, classes=["neg", "pos"], max_length=3)
    path = tmp_path / "run" / "text_encoder.json"
    encoder.save(path)
    loaded = TextEncoder.load(path)
    assert loaded.tokenizer.settings() == tokenizer.settings()
    assert loaded.vocab.tokens == vocab.tokens and loaded.vocab.counts == vocab.counts
    assert (loaded.vocab.min_freq, loaded.vocab.max_size) == (1, 50)
    assert loaded.classes == ["neg", "pos"] and loaded.max_length == 3
    text = "Good acting, bad film and more"
    assert loaded.encode(text) == encoder.encode(text) == vocab.encode(["Good", "acting", ","])[:3]
    assert [file.name for file in path.parent.iterdir()] == ["text_encoder.json"]  # no temporary left


def test_encoder_load_errors(tmp_path):
    missing = tmp_path / "text_encoder.json"
    with pytest.raises(TrainlabError) as error:
        TextEncoder.load(missing)
    assert str(error.value) == f"{missing}: no such file; the run did not save its text encoder"
    missing.write_text('{"format": "something else"}')
    with pytest.raises(TrainlabError) as error:
        TextEncoder.load(missing)
    assert str(error.value) == f"{missing}: not a readable text encoder (not a trainlab-text-encoder file)"
