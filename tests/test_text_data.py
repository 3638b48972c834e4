"""Text sources (CSV/TSV/JSONL files, class folders) and language-model corpora, on the real files of
../shared/data and on small hand-made ones; every bad input is one line naming the file."""

from __future__ import annotations

import csv
import json
import re
import sysconfig
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from trainlab.config import TextDataConfig
from trainlab.data.corpus import STDLIB_CORPUS_CHARACTERS, load_corpus_source
from trainlab.data.text import EncodedTexts, TextSplits, load_text_source
from trainlab.data.tokenizers import UNK, TextEncoder, WordTokenizer
from trainlab.errors import TrainlabError


def decoded(splits: TextSplits, part: EncodedTexts) -> list[tuple[tuple[str, ...], str]]:
    """(tokens, class name) of every example of a split."""
    return [
        (tuple(splits.vocab.decode(part.sequences[index].tolist())), splits.classes[int(part.labels[index])])
        for index in range(len(part))
    ]


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_imdb_csv_split_labels_summary_and_no_vocabulary_leakage(shared_data):
    # test.csv: 5,000 reviews, 2,500 per class (PROVENANCE.md); half the tokenizing of train.csv.
    source = shared_data / "imdb" / "test.csv"
    splits = load_text_source(TextDataConfig(source=str(source), max_vocab=None, max_length=300))
    assert splits.classes == ["0", "1"]
    # Stratified 70/10/20.
    assert (len(splits.train), len(splits.val), len(splits.test)) == (3500, 500, 1000)
    assert [int(part.labels.sum()) for part in (splits.train, splits.val, splits.test)] == [1750, 250, 500]
    reference = Counter()
    lengths = {}
    for row in read_csv_rows(source):
        tokens = tuple(WordTokenizer().tokenize(row["text"]))
        reference[(tokens[:300], row["label"])] += 1
        lengths[tokens[:300]] = len(tokens)
    train_examples = decoded(splits, splits.train)
    # Every example is a real row of the file with its own label, cut at max_length, flagged when cut.
    assert not Counter(train_examples) - reference
    assert [lengths[tokens] > 300 for tokens, _ in train_examples] == splits.train.truncated.tolist()
    assert int(splits.train.lengths.max()) == 300
    # The vocabulary is exactly the training split's tokens (min_freq 1, no cap) ...
    train_tokens = Counter(token for tokens, _ in train_examples for token in tokens)
    assert set(splits.vocab.tokens[2:]) == set(train_tokens)
    assert splits.vocab.counts[2:] == [train_tokens[token] for token in splits.vocab.tokens[2:]]
    # ... so validation and test words that training never showed are <unk>.
    as_seen_in_training = Counter()
    for (tokens, label), count in reference.items():
        known = tuple(token if token in train_tokens else UNK for token in tokens)
        as_seen_in_training[(known, label)] += count
    held_out = Counter(decoded(splits, splits.val) + decoded(splits, splits.test))
    assert not held_out - as_seen_in_training and sum(held_out.values()) == 1500
    assert any(UNK in tokens for tokens, _ in held_out)
    median = float(np.median(splits.train.lengths.numpy()))
    assert splits.summary() == (
        f"test.csv: train 3500, val 500, test 1000; 2 classes (0, 1); vocabulary {len(splits.vocab)} "
        f"(word, min_freq 1); median length {median:g} tokens, "
        f"{splits.train.truncated_share:.1%} truncated at 300"
    )
    assert splits.truncated_share["val"] == float(splits.val.truncated.float().mean())
    assert 0.1 < splits.train.truncated_share < 0.4


def test_sst2_tsv_reads_every_row(shared_data):
    data = TextDataConfig(source=str(shared_data / "sst2" / "train.tsv"), text_column="sentence",
                      test=str(shared_data / "sst2" / "test.tsv"), min_freq=2)
    splits = load_text_source(data)
    parts = (splits.train, splits.val, splits.test)
    # PROVENANCE.md: train.tsv holds 60,614 rows, 33,828 positive; test.tsv 872 rows, 444 positive.
    assert len(splits.train) + len(splits.val) == 60614 and len(splits.test) == 872
    assert int(splits.train.labels.sum() + splits.val.labels.sum()) == 33828
    assert int(splits.test.labels.sum()) == 444
    assert all(int(part.lengths.min()) >= 1 for part in parts)
    assert min(splits.vocab.counts[2:]) >= 2


def test_sst2_tsv_exact_tokens(shared_data):
    """dev.tsv as training data and test.tsv as test data, against the csv module and the tokenizer."""
    source, test = shared_data / "sst2" / "dev.tsv", shared_data / "sst2" / "test.tsv"
    splits = load_text_source(TextDataConfig(source=str(source), test=str(test), text_column="sentence",
                                         max_vocab=None, val_fraction=0.0))

    def reference(path: Path) -> Counter:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        return Counter((tuple(WordTokenizer().tokenize(row["sentence"])), row["label"]) for row in rows)

    assert splits.val is None
    assert Counter(decoded(splits, splits.train)) == reference(source)
    known = Counter({(tuple(token if token in splits.vocab else UNK for token in tokens), label): count
                     for (tokens, label), count in reference(test).items()})
    assert Counter(decoded(splits, splits.test)) == known


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def table_rows(count: int, labels: list[str]) -> list[tuple[str, str]]:
    words = ["good", "bad", "plot", "actor", "music", "long", "short", "fun"]
    return [
        (" ".join(words[(index + step) % 8] for step in range(index % 5 + 1)), labels[index % len(labels)])
        for index in range(count)
    ]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    return write(path, "text,label\n" + "".join(f'"{text}",{label}\n' for text, label in rows))


def test_jsonl_with_natural_class_order_and_separate_val(tmp_path):
    rows = table_rows(40, ["10", "2", "1"])
    train = write(tmp_path / "train.jsonl", "\n".join(json.dumps({"review": text, "stars": int(label)})
                                                       for text, label in rows) + "\n\n")
    val = write(tmp_path / "val.jsonl", json.dumps({"review": "good fun", "stars": 10}) + "\n")
    splits = load_text_source(TextDataConfig(source=str(train), val=str(val), text_column="review",
                                         label_column="stars", test_fraction=0.25))
    assert splits.classes == ["1", "2", "10"]  # integers in numeric order, not "1", "10", "2"
    assert len(splits.val) == 1 and splits.val.labels.tolist() == [2]
    assert decoded(splits, splits.val) == [(("good", "fun"), "10")]
    assert len(splits.train) + len(splits.test) == 40 and len(splits.test) == 10


def test_string_labels_sorted_and_encoder_reads_new_text_the_same_way(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", table_rows(30, ["pos", "neg"]))
    splits = load_text_source(TextDataConfig(source=str(path), val_fraction=0.0, max_length=3))
    assert splits.classes == ["neg", "pos"]
    encoder = splits.encoder()
    encoder.save(tmp_path / "encoder.json")
    loaded = TextEncoder.load(tmp_path / "encoder.json")
    assert loaded.classes == ["neg", "pos"] and loaded.max_length == 3
    assert loaded.encode("Good <br />PLOT zebra music") == [
        splits.vocab.id_of("good"), splits.vocab.id_of("plot"), 1]


def test_limited_keeps_the_first_texts(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", table_rows(50, ["a", "b"]))
    splits = load_text_source(TextDataConfig(source=str(path)))
    small = splits.limited(4)
    assert [len(part) for part in (small.train, small.val, small.test)] == [4, 4, 4]
    assert decoded(small, small.train) == decoded(splits, splits.train)[:4]
    assert small.vocab is splits.vocab and splits.limited(None) is splits


def make_folder(root: Path, layout: dict[str, int]) -> None:
    """layout: 'split/class' -> number of .txt files."""
    for folder, count in layout.items():
        for index in range(count):
            label = folder.rsplit("/", 1)[-1]
            write(root / folder / f"{index}_7.txt", f"Review {index} in class {label}.<br />Words")


def test_aclimdb_layout_ignores_unsup(tmp_path, capsys):
    make_folder(tmp_path / "aclImdb", {"train/pos": 10, "train/neg": 10, "train/unsup": 7,
                                       "test/pos": 4, "test/neg": 4})
    write(tmp_path / "aclImdb" / "train" / "urls_pos.txt", "not a review")
    splits = load_text_source(TextDataConfig(source=str(tmp_path / "aclImdb"), val_fraction=0.2))
    assert splits.classes == ["neg", "pos"]
    assert (len(splits.train), len(splits.val), len(splits.test)) == (16, 4, 8)
    assert "left out: 'unsup' is not one of the classes (neg, pos)" in capsys.readouterr().err
    assert all(tokens[4] == label for tokens, label in decoded(splits, splits.test))
    assert all(tokens[4] == label for tokens, label in decoded(splits, splits.train))


def test_flat_class_folders_are_split(tmp_path):
    make_folder(tmp_path / "texts", {"spam": 10, "ham": 20, "eggs": 5})
    splits = load_text_source(TextDataConfig(source=str(tmp_path / "texts"), val_fraction=0.2, test_fraction=0.2))
    assert splits.classes == ["eggs", "ham", "spam"]
    assert len(splits.train) + len(splits.val) + len(splits.test) == 35
    assert np.bincount(splits.test.labels.numpy()).tolist() == [1, 4, 2]


def message_of(data: TextDataConfig, loader=load_text_source) -> str:
    with pytest.raises(TrainlabError) as error:
        loader(data)
    return str(error.value)


def test_bad_inputs_are_one_line_naming_the_file(tmp_path):
    empty = write(tmp_path / "empty.csv", "")
    assert message_of(TextDataConfig(source=str(empty))) == (
        f"{empty}: the file is empty; give a file with a header and one text per row")
    header_only = write(tmp_path / "header.csv", "text,label\n")
    assert message_of(TextDataConfig(source=str(header_only))) == (
        f"{header_only}: no rows after the header; give one text per row")
    columns = write(tmp_path / "columns.csv", "id,rating,label,text\n1,9,1,great\n2,1,0,awful\n")
    assert message_of(TextDataConfig(source=str(columns), text_column="txt")) == (
        f"{columns}: no column 'txt'; columns are id, rating, label, text (set data.text_column=)")
    assert message_of(TextDataConfig(source=str(columns), label_column="stars")) == (
        f"{columns}: no column 'stars'; columns are id, rating, label, text (set data.label_column=)")
    one_class = write(tmp_path / "one.csv", "text,label\na,pos\nb,pos\nc,pos\n")
    assert message_of(TextDataConfig(source=str(one_class))) == (
        f"{one_class}: only one class ('pos') in column 'label'; a classifier needs two or more")
    latin = write(tmp_path / "latin.csv", "text,label\ncaf\xe9 ok,1\n".encode("latin-1"))
    # "text,label\n" is 11 bytes, "caf" 3 more: the é (0xe9) sits at offset 14 on line 2.
    assert message_of(TextDataConfig(source=str(latin))) == (
        f"{latin}: byte 0xe9 at offset 14 (line 2) is not valid utf-8; set data.encoding= to the file's "
        "encoding, e.g. data.encoding=latin-1")
    ragged = write(tmp_path / "ragged.csv", "text,label\ngood,1\nbad,0,extra\n")
    assert message_of(TextDataConfig(source=str(ragged))) == (
        f"{ragged}: line 3 has 3 fields but the header has 2 (text, label); "
        "check the quoting and the delimiter")
    no_label = write(tmp_path / "nolabel.csv", "text,label\ngood,1\nbad,\n")
    assert message_of(TextDataConfig(source=str(no_label))) == (
        f"{no_label}: line 3 has no 'label'; fill it or remove the row")
    broken = write(tmp_path / "broken.jsonl", '{"text": "a", "label": 1}\n{"text": "b", label: 0}\n')
    assert message_of(TextDataConfig(source=str(broken))) == (
        f"{broken}: line 2 is not valid JSON (Expecting property name enclosed in double quotes)")


def test_bad_splits_and_folders(tmp_path):
    train = write_csv(tmp_path / "train.csv", table_rows(20, ["a", "b"]))
    test = write(tmp_path / "test.csv", "text,label\ngood,a\nbad,c\n")
    assert message_of(TextDataConfig(source=str(train), test=str(test))) == (
        f"{test}: label 'c' is not a class of the training data (a, b)")
    make_folder(tmp_path / "folder", {"pos": 3})
    (tmp_path / "folder" / "neg").mkdir()
    assert message_of(TextDataConfig(source=str(tmp_path / "folder"))) == (
        f"{tmp_path / 'folder' / 'neg'}: no .txt files in class folder 'neg'; put one text per .txt file")
    make_folder(tmp_path / "single", {"pos": 3})
    assert message_of(TextDataConfig(source=str(tmp_path / "single"))) == (
        f"{tmp_path / 'single'}: only one class ('pos') in class folders; a classifier needs two or more")
    make_folder(tmp_path / "nested", {"train/pos": 3, "test/pos": 2, "test/neg": 2})
    assert message_of(TextDataConfig(source=str(tmp_path / "nested"))) == (
        f"{tmp_path / 'nested' / 'train'}: no folder for class 'neg'; every class needs one")
    make_folder(tmp_path / "badbytes", {"pos": 2, "neg": 2})
    bad = write(tmp_path / "badbytes" / "neg" / "9_1.txt", b"ok \xff")
    assert message_of(TextDataConfig(source=str(tmp_path / "badbytes"))) == (
        f"{bad}: byte 0xff at offset 3 (line 1) is not valid utf-8; set data.encoding= to the file's "
        "encoding, e.g. data.encoding=latin-1")
    corpus = write(tmp_path / "book.txt", "once upon a time")
    assert message_of(TextDataConfig(source=str(corpus))) == (
        f"{corpus}: a text-classification file must end in .csv, .tsv, .jsonl (got '.txt'); "
        "a .txt file is a language-model corpus")


def test_empty_texts_become_one_unknown_token(tmp_path, capsys):
    train = write(tmp_path / "texts.csv", "text,label\n" + "good,a\nbad,b\n" * 4)
    test = write(tmp_path / "test.csv", 'text,label\n"",a\ngood,b\n')
    splits = load_text_source(TextDataConfig(source=str(train), test=str(test), val_fraction=0.0))
    assert decoded(splits, splits.test) == [((UNK,), "a"), (("good",), "b")]
    assert splits.test.lengths.tolist() == [1, 1]
    note = "note: texts.csv test: 1 text(s) have no tokens; each is encoded as one <unk>"
    assert note in capsys.readouterr().err


def test_char_level_text_classification(tmp_path):
    path = write_csv(tmp_path / "names.csv", table_rows(20, ["x", "y"]))
    splits = load_text_source(TextDataConfig(source=str(path), tokenizer="char", lowercase=False))
    assert all(len(token) == 1 for token in splits.vocab.tokens[2:])
    text, _ = table_rows(20, ["x", "y"])[0]
    assert splits.encoder().decode(splits.encoder().encode(text)) == text


# Language-model corpora


def test_tiny_shakespeare_char_corpus_is_split_in_order(shared_data):
    path = shared_data / "tiny_shakespeare" / "input.txt"
    text = path.read_text(encoding="utf-8")
    corpus = load_corpus_source(TextDataConfig(source=str(path), tokenizer="char", lowercase=False))
    # PROVENANCE: 1,115,394 characters; 20% test and 10% validation, rounded, from the end.
    assert len(text) == 1_115_394
    assert (len(corpus.train), len(corpus.val), len(corpus.test)) == (780_776, 111_539, 223_079)
    encoder = corpus.encoder()
    assert encoder.decode(corpus.train.tolist()) == text[:780_776]
    assert encoder.decode(corpus.val.tolist()) == text[780_776:892_315]
    assert encoder.decode(corpus.test.tolist()) == text[892_315:]
    assert len(corpus.vocab) == len(set(text)) + 2 == 67
    assert corpus.train.dtype.is_signed and corpus.train.dtype.itemsize == 8
    assert corpus.summary() == (
        "input.txt: train 780,776, val 111,539, test 223,079 tokens (characters); vocabulary 67 (min_freq 1)")


def test_corpus_limit_and_no_validation_part(shared_data):
    path = shared_data / "tiny_shakespeare" / "input.txt"
    corpus = load_corpus_source(TextDataConfig(source=str(path), tokenizer="char", val_fraction=0.0, limit=1000))
    text = path.read_text(encoding="utf-8")  # characters keep their case by default
    assert corpus.val is None and len(corpus.train) == len(corpus.test) == 1000
    assert corpus.encoder().decode(corpus.train.tolist()) == text[:1000]
    assert corpus.encoder().decode(corpus.test.tolist()) == text[len(text) - round(len(text) * 0.2):][:1000]


def test_word_corpus_vocabulary_from_the_training_part_only(tmp_path):
    path = write(tmp_path / "story.txt", "the cat sat . " * 40 + "a zebra appeared .")
    corpus = load_corpus_source(TextDataConfig(source=str(path), test_fraction=0.1, val_fraction=0.0))
    assert "zebra" not in corpus.vocab
    assert corpus.encoder().decode(corpus.test.tolist()).endswith("the cat sat . <unk> <unk> <unk> .")
    assert corpus.vocab.tokens == ["<pad>", "<unk>", "the", "cat", "sat", "."]


def test_python_stdlib_corpus_is_offline_and_deterministic():
    data = TextDataConfig(source="python-stdlib", tokenizer="char", lowercase=False)
    first, second = load_corpus_source(data), load_corpus_source(data)
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(
        (first.train, first.val, first.test), (second.train, second.val, second.test)))
    modules = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    opening = modules[0].read_text(encoding="utf-8")
    total = len(first.train) + len(first.val) + len(first.test)
    assert first.encoder().decode(first.train[: len(opening)].tolist()) == opening
    assert 1_000_000 <= total <= STDLIB_CORPUS_CHARACTERS
    assert re.fullmatch(r"python-stdlib \(\d+ modules of Python 3\.\d+'s standard library; the text varies "
                        r"between versions\): train [\d,]+, val [\d,]+, test [\d,]+ tokens \(characters\); "
                        r"vocabulary \d+ \(min_freq 1\)", first.summary())


def test_corpus_bad_inputs(tmp_path):
    empty = write(tmp_path / "empty.txt", " \n")
    assert message_of(TextDataConfig(source=str(empty)), load_corpus_source) == (
        f"{empty}: the file is empty; a language model needs a text to learn from")
    short = write(tmp_path / "short.txt", "hello there")
    assert message_of(TextDataConfig(source=str(short)), load_corpus_source) == (
        "short.txt: the test part has 0 token(s) of 2; give a longer text or change data.val_fraction / "
        "data.test_fraction")
    assert message_of(TextDataConfig(source="imdb-missing.txt"), load_corpus_source).startswith(
        "--data imdb-missing.txt: neither a builtin language-model corpus (")
