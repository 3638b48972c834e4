"""The model a text run delivers: network, TF-IDF or their blend, chosen on validation only; the
saved TF-IDF scores new texts as sklearn does; `predict` uses what was chosen."""

from __future__ import annotations

import json

import numpy as np
import pytest

from test_tfidf_baseline import word_signal_texts
from trainlab import rundir
from trainlab.data.sequence_batching import PackedSequences
from trainlab.metrics.model_choice import (
    WEIGHTS,
    accuracy_and_log_loss,
    blend,
    choose_blend,
    chosen_model_sentence,
)
from trainlab.models.tfidf import SavedTfidf, TfidfLogisticRegression
from trainlab.predict import predict


@pytest.mark.parametrize("classes", [2, 3])
def test_the_saved_baseline_gives_sklearns_probabilities_without_sklearn(tmp_path, classes):
    splits = word_signal_texts(tmp_path)
    keep = splits.train.labels < classes
    train = PackedSequences.from_sequences([splits.train.sequences[index].tolist()
                                            for index in keep.nonzero().flatten().tolist()])
    baseline = TfidfLogisticRegression(C=3.0, num_classes=4).fit(train, splits.train.labels[keep])
    saved = baseline.saved()
    saved.save(tmp_path / "b.safetensors", tmp_path / "b.json")
    loaded = SavedTfidf.load(tmp_path / "b.safetensors", tmp_path / "b.json")
    # Test texts with unseen n-grams, and one with no known n-gram at all (intercepts only).
    texts = PackedSequences.from_sequences(
        [splits.test.sequences[index].tolist() for index in range(len(splits.test.sequences))] + [[99_999, 99_998]]
    )
    expected = baseline.predict_proba(texts)
    np.testing.assert_allclose(loaded.predict_proba(texts), expected, rtol=1e-10, atol=1e-12)
    assert np.all(expected[:, classes:] == 0)  # classes absent from training keep probability 0


def test_the_blend_with_the_best_validation_accuracy_wins_and_ties_go_to_the_lower_log_loss():
    labels = np.array([0, 1, 1, 0])
    # The network is right on the first three examples, the baseline on the last three.
    network = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    baseline = np.array([[0.4, 0.6], [0.3, 0.7], [0.1, 0.9], [0.8, 0.2]])
    choice = choose_blend(network, baseline, labels)
    accuracies = {weight: accuracy_and_log_loss(blend(network, baseline, weight), labels) for weight in WEIGHTS}
    best_accuracy = max(accuracy for accuracy, _ in accuracies.values())
    assert best_accuracy == 1.0 and accuracies[1.0][0] == accuracies[0.0][0] == 0.75
    assert choice.name == "ensemble" and accuracies[choice.network_weight][0] == 1.0
    tied = [weight for weight, (accuracy, _) in accuracies.items() if accuracy == 1.0]
    assert len(tied) > 1 and choice.network_weight == min(tied, key=lambda weight: accuracies[weight][1])
    assert choice.val_accuracy == {"network": 0.75, "baseline": 0.75, "ensemble": 1.0}
    # Where the network is right everywhere, it wins alone (ties with blends go to the network).
    assert choose_blend(network, baseline, np.array([0, 1, 1, 1])).name == "network"


def test_a_text_run_names_its_winner_and_predict_uses_it(trainlab, tmp_path):
    splits_source = tmp_path / "topics.csv"
    word_signal_texts(tmp_path, count=240)  # writes topics.csv
    run_dir = tmp_path / "run"
    # One epoch of a tiny network cannot match the baseline on these texts: TF-IDF must be used.
    code, out, err = trainlab("train", "text-classification", "--data", splits_source, "--out", run_dir,
                              "train.epochs=1", "model.hidden_size=4", "optim.lr=1e-4")
    assert code == 0, err
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["chosen_model"] in ("tfidf", "ensemble") and metrics["chosen_network_weight"] < 1
    candidates = {name: metrics[f"candidate_{name}_val_accuracy"] for name in ("network", "tfidf", "ensemble")}
    assert candidates[metrics["chosen_model"]] == max(candidates.values())
    assert metrics["candidate_network_val_accuracy"] == pytest.approx(metrics["val_accuracy"])
    assert metrics["candidate_network_test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert metrics["candidate_tfidf_test_accuracy"] == pytest.approx(metrics["baseline_tfidf_accuracy"])
    assert metrics["chosen_test_accuracy"] == metrics[f"candidate_{metrics['chosen_model']}_test_accuracy"]
    sentence = chosen_model_sentence(metrics)
    assert sentence.startswith("Chosen on validation: ") and sentence in (run_dir / "report.html").read_text()
    assert sentence in out + err

    # predict gives the blend of the network's and the saved baseline's probabilities.
    texts = ["the team scored a goal", "spicy soup and bread", "a new laptop chip"]
    predictions = predict(run_dir, texts)
    network_only = json.loads((run_dir / "metrics.json").read_text())
    network_only.update(chosen_network_weight=1.0)
    (run_dir / "metrics.json").write_text(json.dumps(network_only))
    network = np.array([list(prediction.probabilities.values()) for prediction in predict(run_dir, texts)])
    weight, baseline = metrics["chosen_network_weight"], SavedTfidf.load(run_dir / rundir.TFIDF_ARRAYS_FILE,
                                                                         run_dir / rundir.TFIDF_NGRAMS_FILE)
    from trainlab.data.tokenizers import TextEncoder

    encoder = TextEncoder.load(run_dir / rundir.ENCODER_FILE)
    tfidf = baseline.predict_proba(PackedSequences.from_sequences([encoder.encode(text) for text in texts]))
    expected = blend(network, tfidf, weight)
    chosen = np.array([list(prediction.probabilities.values()) for prediction in predictions])
    np.testing.assert_allclose(chosen, expected, rtol=1e-5, atol=1e-6)
    assert [prediction.label for prediction in predictions] == ["sport", "food", "tech"]
