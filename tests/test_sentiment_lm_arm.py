"""The `sentiment` study's language-model arms (ULMFiT, issue 24): `lm-pretrain` trains a word
language model on the classifier's training file, `lm` is the base classifier starting from the
language model of its own seed. Where the reviews are not a CSV file the two arms are left out."""

from __future__ import annotations

import csv

import pytest
import torch

from trainlab import rundir, studies
from trainlab.data.synthetic_reviews import synthetic_reviews
from trainlab.data.text import TextEncoder
from trainlab.studies import runner
from trainlab.studies import sentiment as sentiment_study


def write_reviews(path, count: int, seed: int) -> None:
    """Generated reviews in IMDB's CSV layout (id, rating, label, text)."""
    raw = synthetic_reviews(count, seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "rating", "label", "text"])
        for index, (text, label) in enumerate(zip(raw.texts, raw.labels)):
            writer.writerow([index, 8 if label == "pos" else 2, label, text])


@pytest.fixture
def machine_with_reviews_csv(monkeypatch, tmp_path):
    """../shared/data with an imdb/ folder of generated reviews and no GloVe file."""
    shared = tmp_path / "shared"
    (shared / "imdb").mkdir(parents=True)
    write_reviews(shared / "imdb" / "train.csv", 120, seed=0)
    write_reviews(shared / "imdb" / "test.csv", 40, seed=1)
    monkeypatch.setenv("TRAINLAB_SHARED_DATA", str(shared))
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "cache"))
    return shared


def test_the_language_model_arms_are_left_out_without_a_reviews_csv(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINLAB_SHARED_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "cache"))
    plan = sentiment_study.sentiment("quick")  # the generated reviews: no corpus to read
    assert not {"lm-pretrain", "lm"} & {arm.name for arm in plan.arms}
    assert "the language-model arms were left out" in plan.data_note


def test_each_seed_of_lm_reads_the_language_model_of_its_seed(machine_with_reviews_csv, tmp_path):
    plan = sentiment_study.sentiment("quick")
    arms = {arm.name: arm for arm in plan.arms}
    assert list(arms)[-2:] == ["lm-pretrain", "lm"]  # pretraining runs first
    assert ("lm", "base") in plan.comparisons and all(a != "lm-pretrain" for a, _ in plan.comparisons)
    language_model = runner._arm_config(plan, arms["lm-pretrain"], 1, tmp_path, [])
    assert language_model.task == "language-model"
    assert language_model.data.source == arms["base"].config["data"]["source"]  # the classifier's file
    assert (language_model.model.embedding_dim, language_model.model.hidden_size) == (50, 32)  # the base's
    classifier = runner._arm_config(plan, arms["lm"], 1, tmp_path, [])
    assert classifier.model.pretrained_encoder == f"{tmp_path}/lm-pretrain/seed-1"
    base = arms["base"].config
    changed = {key for key in {**base["model"], **arms["lm"].config["model"]}
               if base["model"].get(key) != arms["lm"].config["model"].get(key)}
    assert changed == {"pretrained_encoder"}  # one change from the base, as for every arm


def test_the_lm_classifier_starts_from_the_language_model(machine_with_reviews_csv, tmp_path):
    # A learning rate of 1e-9: training moves no weight by more than ~1e-8, so the classifier's
    # embedding and LSTM after its epoch are still what it started from.
    overrides = [("train.epochs", 1), ("model.hidden_size", 8), ("optim.lr", 1e-9)]
    study_dir, summary = studies.run("sentiment", "quick", seeds=1, study_dir=tmp_path / "study",
                                     overrides=overrides, quiet=True)
    assert summary["rows"][-2]["arm"] == "lm" and "next word" in summary["rows"][-3]["label"]
    # The language model's next-word accuracy is no candidate for the best classifier.
    assert summary["best_arm"] != "lm-pretrain" and "Best: language model" not in summary["finding"]
    language_model_dir, classifier_dir = study_dir / "lm-pretrain" / "seed-0", study_dir / "lm" / "seed-0"
    # The same words under the same ids...
    assert (TextEncoder.load(classifier_dir / rundir.ENCODER_FILE).vocab.tokens
            == TextEncoder.load(language_model_dir / rundir.ENCODER_FILE).vocab.tokens)
    # ... and the language model's weights (a classifier from scratch has other random ones).
    _, language_model = rundir.read_language_model(language_model_dir)
    classifier = rundir.load_trained(classifier_dir).model.state_dict()
    torch.testing.assert_close(classifier["embedding.weight"], language_model["embedding.weight"],
                               rtol=0, atol=1e-6)
    torch.testing.assert_close(classifier["encoder.layers.0.forward_rnn.weight_hh_l0"],
                               language_model["rnn.weight_hh_l0"], rtol=0, atol=1e-6)
    scratch = rundir.load_trained(study_dir / "base" / "seed-0").model.state_dict()
    assert not torch.allclose(scratch["embedding.weight"][:5], language_model["embedding.weight"][:5], atol=1e-3)
