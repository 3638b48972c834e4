"""Two-class runs: the test split's ROC and precision-recall curves with their areas, as
scikit-learn computes them from the model's probability of the second class."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from trainlab import rundir
from trainlab.cli import main
from trainlab.config import build_config
from trainlab.metrics.classification import binary_curves
from trainlab.pipelines import build_pipeline


def test_curves_and_areas_are_scikit_learns():
    generator = np.random.default_rng(0)
    labels = generator.integers(0, 2, 300)
    scores = np.clip(labels * 0.3 + generator.normal(0.35, 0.25, 300), 0, 1).round(2)  # ties included
    curves = binary_curves(scores, labels)
    assert curves["roc"]["auc"] == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)
    # the area under the stored curve is the reported one
    assert np.trapezoid(curves["roc"]["true_positive_rate"], curves["roc"]["false_positive_rate"]) == pytest.approx(
        curves["roc"]["auc"], abs=1e-12)
    assert curves["precision_recall"]["average_precision"] == pytest.approx(
        sk.average_precision_score(labels, scores), abs=1e-12)
    assert curves["precision_recall"]["positive_share"] == pytest.approx(labels.mean())
    assert binary_curves([0.2, 0.9], [1, 1]) is None  # one class only: both areas undefined


def test_a_two_class_run_writes_its_test_curves_and_areas(tmp_path):
    generator = np.random.default_rng(1)
    words = {"neg": ["dull", "bad", "boring", "plot"], "pos": ["great", "fun", "superb", "plot"]}
    path = tmp_path / "reviews.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for _ in range(200):
            label = str(generator.choice(["neg", "pos"]))
            # mostly the label's words, some of the other's: an imperfect ranking
            pool = words[label] * 2 + words["pos" if label == "neg" else "neg"]
            writer.writerow([" ".join(generator.choice(pool, 4)), label])
    settings = ["train.epochs=6", "optim.lr=0.01", "model.hidden_size=8", "model.embedding_dim=8"]
    run_dir = tmp_path / "run"
    assert main(["train", "text-classification", "--data", str(path), "--out", str(run_dir), "--quiet",
                 *settings]) == 0
    metrics = json.loads((run_dir / rundir.METRICS_FILE).read_text())
    curves = json.loads((run_dir / rundir.ROC_PR_FILE).read_text())
    assert curves["positive_class"] == "pos"
    assert (run_dir / rundir.PLOTS_DIR / "roc_pr.png").is_file()

    # The same test split and the run's scored weights, scored here independently of the run.
    config = build_config({"task": "text-classification", "data": {"source": str(path)}})
    pipeline = build_pipeline(config)
    model = rundir.load_trained(run_dir).model.eval()
    scores, labels = [], []
    with torch.no_grad():
        for tokens, lengths, batch_labels in pipeline.test_batches:
            scores.append(model(tokens, lengths).softmax(dim=1)[:, 1])
            labels.append(batch_labels)
    scores, labels = torch.cat(scores).numpy(), torch.cat(labels).numpy()
    assert 0.5 < metrics["test_roc_auc"] < 1  # learnt something, not everything
    assert metrics["test_roc_auc"] == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-6)
    assert metrics["test_average_precision"] == pytest.approx(sk.average_precision_score(labels, scores), abs=1e-6)
    assert curves["roc"]["auc"] == metrics["test_roc_auc"]
    assert curves["precision_recall"]["positive_share"] == pytest.approx(labels.mean())


def test_runs_of_more_than_two_classes_write_no_curves(tmp_path):
    run_dir = tmp_path / "run"
    assert main(["train", "image-classification", "--data", "digits", "--out", str(run_dir), "--quiet",
                 "train.epochs=1", "data.limit=60", "model.channels=[4]", "model.hidden_size=8"]) == 0
    assert not (run_dir / rundir.ROC_PR_FILE).exists()
    assert "test_roc_auc" not in json.loads((run_dir / rundir.METRICS_FILE).read_text())
