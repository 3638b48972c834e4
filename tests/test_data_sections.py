"""The data section is the task's kind of data (data_options.py): no option means two things, and
every config written before the sections existed (one flat section of every option) still loads."""

from __future__ import annotations

import pytest
import yaml

from trainlab.config import (
    CorpusDataConfig,
    ImageDataConfig,
    SeriesDataConfig,
    SyntheticDataConfig,
    TextDataConfig,
    build_config,
    to_yaml,
)
from trainlab.errors import TrainlabError

# The data section as config.yaml held it before this change (every option of every kind), with
# what a run of each task had changed from the defaults.
FLAT_DEFAULTS = yaml.safe_load("""
source: digits
test: null
val: null
limit: null
train_examples: null
classes: null
val_fraction: 0.1
test_fraction: 0.2
split_seed: 0
batch_size: 64
strict: false
encoding: utf-8
image_size: null
color: auto
augment: {crop_padding: 0, flip: false, rotate_degrees: 0.0, translate: 0.0, scale: 0.0,
          brightness: 0.0, contrast: 0.0, saturation: 0.0}
text_column: text
label_column: label
tokenizer: word
lowercase: null
strip_html: true
min_freq: 1
max_vocab: 20000
max_length: null
bucket: true
embeddings: null
time_column: null
target: null
covariates: []
missing: error
scaler: standard
window: 24
horizon: 1
stride: 1
period: null
backtest_stride: null
stateful: true
sequence_length: 50
num_examples: 10000
alphabet_size: 8
noise: 0.1
""")

OLD_RUNS = [
    ("image-classification", {"classes": ["0", "1"], "augment": {"flip": True}}, ImageDataConfig,
     {"classes": ["0", "1"], "strict": False}),
    ("text-classification", {"source": "next-word-python", "sequence_length": 20, "stride": 3, "max_length": 512},
     TextDataConfig, {"context_length": 20, "stride": 3, "max_length": 512}),
    ("language-model", {"source": "tiny-shakespeare", "sequence_length": 64, "tokenizer": "char",
                        "val_fraction": 0.05, "test_fraction": 0.05},
     CorpusDataConfig, {"chunk_length": 64, "tokenizer": "char", "val_fraction": 0.05}),
    ("forecast", {"source": "airline-passengers", "window": 36, "horizon": 12, "stride": 2}, SeriesDataConfig,
     {"window": 36, "horizon": 12, "stride": 2}),
    ("sequence-classification", {"source": "copy", "sequence_length": 30, "noise": 0.0}, SyntheticDataConfig,
     {"sequence_length": 30, "noise": 0.0}),
]


@pytest.mark.parametrize(("task", "changed", "section", "expected"), OLD_RUNS, ids=[run[0] for run in OLD_RUNS])
def test_a_flat_data_section_written_before_loads_as_the_tasks_kind(task, changed, section, expected):
    config = build_config({"task": task, "data": {**FLAT_DEFAULTS, **changed}})
    assert type(config.data) is section
    assert {key: getattr(config.data, key) for key in expected} == expected
    # Saved again, the section holds its own kind's options only, and reloads to the same config.
    saved = yaml.safe_load(to_yaml(config))["data"]
    assert set(saved) == set(section.model_fields)
    assert build_config(yaml.safe_load(to_yaml(config))) == config


def test_no_option_means_two_things():
    chunk = build_config({"task": "language-model", "data": {"chunk_length": 70}}).data
    context = build_config({"task": "text-classification", "data": {"context_length": 7}}).data
    length = build_config({"task": "sequence-classification", "data": {"sequence_length": 30}}).data
    assert (chunk.chunk_length, context.context_length, length.sequence_length) == (70, 7, 30)
    assert not hasattr(chunk, "sequence_length") and not hasattr(context, "sequence_length")
    assert not hasattr(build_config({"task": "image-classification"}).data, "window")
    # The new name wins over the old one when a file holds both.
    both = build_config({"task": "language-model", "data": {"sequence_length": 10, "chunk_length": 20}})
    assert both.data.chunk_length == 20


def test_each_kind_has_its_own_defaults():
    assert build_config({"task": "language-model"}).data.tokenizer == "char"
    assert build_config({"task": "text-classification"}).data.tokenizer == "word"
    assert build_config({"task": "text-classification"}).data.max_length == 512


def test_a_misspelt_key_is_still_an_error_with_the_closest_key_of_the_section():
    with pytest.raises(TrainlabError, match=r"unknown key 'data.windw' \(did you mean 'data.window'\?\)"):
        build_config({"task": "forecast", "data": {"windw": 3}})
    with pytest.raises(TrainlabError, match=r"unknown key 'data.chunk_lenght' \(did you mean 'data.chunk_length'\?\)"):
        build_config({"task": "language-model", "data": {"chunk_lenght": 3}})
