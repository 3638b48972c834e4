"""ULMFiT's transfer: a word-level language-model run's vocabulary, embedding and recurrent layers
become a text classifier's (`model.pretrained_encoder=RUN_DIR`)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from trainlab import rundir
from trainlab.config import apply_overrides, build_config, parse_overrides
from trainlab.data.tokenizers import TextEncoder
from trainlab.pipelines import build_pipeline
from trainlab.training.finetune import layer_groups, lr_scales

WORDS = {"1": ["good", "great", "fine", "superb", "lovely"], "0": ["bad", "awful", "dull", "poor", "weak"]}


def write_reviews(path, count=120, seed=0):
    rng = np.random.default_rng(seed)
    labels = [str(label) for label in rng.integers(0, 2, count)]
    texts = [" ".join(["the", "film", "was", *rng.choice(WORDS[label], 4), "and", "the", "cast", "too"])
             for label in labels]
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def language_model_run(tmp_path_factory):
    """A two-layer word-level LSTM language model trained for one epoch on the reviews' texts."""
    from trainlab.cli import main

    folder = tmp_path_factory.mktemp("ulmfit")
    csv = write_reviews(folder / "reviews.csv")
    code = main(["train", "language-model", "--data", str(csv), "--out", str(folder / "lm"), "--quiet",
                 "data.tokenizer=word", "model.hidden_size=12", "model.embedding_dim=10", "model.layers=2",
                 "data.chunk_length=8", "data.batch_size=4", "train.epochs=1"])
    assert code == 0
    return folder / "lm", csv


def classifier_config(csv, *pairs):
    raw = {"task": "text-classification", "data": {"source": str(csv)}}
    return build_config(apply_overrides(raw, parse_overrides(list(pairs))))


def test_a_table_makes_a_corpus_of_its_text_column(language_model_run):
    run_dir, _ = language_model_run
    encoder = TextEncoder.load(run_dir / rundir.ENCODER_FILE)
    words = set(encoder.vocab.tokens)
    assert {"film", "cast", "superb", "awful"} <= words
    assert not {"label", "text", "0", "1"} & words  # the header and the labels are not text


def test_the_classifier_starts_as_the_language_model(language_model_run):
    run_dir, csv = language_model_run
    pipeline = build_pipeline(classifier_config(csv, f"model.pretrained_encoder={run_dir}"))
    from trainlab.models import build_model

    classifier = build_model(pipeline.config.model, pipeline.spec, "text-classification").eval()
    language_model = rundir.load_trained(run_dir).model.eval()
    # The language model's sizes, and a unidirectional cell even under the recipe.
    model = pipeline.config.model
    assert (model.embedding_dim, model.hidden_size, model.layers, model.bidirectional) == (10, 12, 2, False)
    # Its vocabulary: every id means the word it meant to the language model.
    lm_encoder = TextEncoder.load(run_dir / rundir.ENCODER_FILE)
    assert pipeline.data.vocab.tokens == lm_encoder.vocab.tokens
    first = pipeline.data.train.sequences[0]
    assert lm_encoder.decode(first.tolist()).split()[:3] == ["the", "film", "was"]
    # The same function: the classifier's recurrent outputs are the language model's, step by step.
    tokens = torch.tensor([lm_encoder.encode("the film was superb and the cast too")])
    with torch.no_grad():
        expected, _ = language_model.rnn(language_model.embedding(tokens))
        outputs = classifier.encoder(classifier.embedding(tokens), torch.tensor([tokens.shape[1]]))
    torch.testing.assert_close(outputs, expected, rtol=0, atol=1e-6)
    # Discriminative rates apply to its groups: embedding, recurrent layers, head.
    assert [type(group).__name__ for group in layer_groups(classifier)] == ["Embedding", "RecurrentEncoder", "Sequential"]
    scales = lr_scales(classifier, 0.5)
    assert scales[classifier.embedding.weight] == 0.25 and scales[classifier.head[1].weight] == 1.0


def test_a_trained_classifier_predicts_without_the_language_model(trainlab, language_model_run, tmp_path):
    run_dir, csv = language_model_run
    own_lm = shutil.copytree(run_dir, tmp_path / "lm")
    code, _, err = trainlab("train", "text-classification", "--data", csv, "--out", tmp_path / "run", "--quiet",
                            f"model.pretrained_encoder={own_lm}", "train.epochs=1")
    assert code == 0, err
    shutil.rmtree(own_lm)  # the checkpoint holds every weight: predict must not need the language model
    code, out, err = trainlab("predict", tmp_path / "run", "superb lovely film")
    assert code == 0, err and "superb lovely film" in out


@pytest.mark.parametrize(("pairs", "message"), [
    (("model.bidirectional=true",), "a language model reads forward only; set model.bidirectional=false"),
    (("model.hidden_size=64",), "model.hidden_size=64 but the language model's is 12; leave model.hidden_size unset"),
    (("model.name=gru",), "the language model is a lstm; train the classifier with --model lstm"),
])
def test_options_that_contradict_the_language_model_are_one_line(trainlab, language_model_run, tmp_path, pairs,
                                                                   message):
    run_dir, csv = language_model_run
    code, _, err = trainlab("train", "text-classification", "--data", csv, "--out", tmp_path / "run",
                            *pairs, f"model.pretrained_encoder={run_dir}")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


def test_a_run_that_is_not_a_word_language_model_is_refused(trainlab, language_model_run, tmp_path):
    _, csv = language_model_run
    code, _, err = trainlab("train", "text-classification", "--data", csv, "--out", tmp_path / "run",
                            f"model.pretrained_encoder={tmp_path / 'nowhere'}")
    assert code == 2 and "no such run directory" in err
    code, _, err = trainlab("train", "language-model", "--data", csv, "--out", tmp_path / "char", "--quiet",
                            "model.hidden_size=8", "model.layers=1", "train.epochs=1", "data.limit=2000")
    assert code == 0, err
    code, _, err = trainlab("train", "text-classification", "--data", csv, "--out", tmp_path / "run",
                            f"model.pretrained_encoder={tmp_path / 'char'}")
    assert code == 2 and "a character-level language model" in err
