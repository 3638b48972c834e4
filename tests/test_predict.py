"""`trainlab predict` rebuilds a run's model from its directory and agrees with its test metrics."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from trainlab import rundir


def write_digit_folder(root, images, labels):
    for index, (image, label) in enumerate(zip(images, labels)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 255 / 16).astype(np.uint8), mode="L").save(folder / f"{index}.png")


def test_image_predictions_reproduce_the_runs_test_accuracy(trainlab, tmp_path):
    digits = load_digits()
    write_digit_folder(tmp_path / "train", digits.images[:400], digits.target[:400])
    write_digit_folder(tmp_path / "test", digits.images[400:500], digits.target[400:500])
    run_dir = tmp_path / "run"
    code, _, err = trainlab("train", "image-classification", "--data", tmp_path / "train", "--out", run_dir,
                            "--quiet", f"data.test={tmp_path / 'test'}", "data.val_fraction=0",
                            "train.monitor=train_loss", "train.epochs=3", "model.channels=[8]")
    assert code == 0, err
    files = sorted((tmp_path / "test").rglob("*.png"))
    code, out, err = trainlab("predict", run_dir, *files, "--json")
    assert code == 0, err
    predictions = [json.loads(line) for line in out.splitlines()]
    correct = sum(p["label"] == path.parent.name for p, path in zip(predictions, files))
    metrics = rundir.read_json(run_dir / "metrics.json")
    assert correct / len(files) == pytest.approx(metrics["test_accuracy"])
    for prediction in predictions:
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert prediction["label"] == max(prediction["probabilities"], key=prediction["probabilities"].get)


def test_text_predictions_reproduce_the_runs_test_accuracy(trainlab, tmp_path):
    rng = np.random.default_rng(0)
    good, bad, filler = ["great", "superb", "lovely"], ["awful", "boring", "dull"], ["the", "a", "film", "plot"]

    def review(label: str) -> str:
        words = list(rng.choice(filler, size=rng.integers(3, 12)))
        words.insert(int(rng.integers(0, len(words))), rng.choice(good if label == "pos" else bad))
        return " ".join(words)

    for name, count in (("train", 300), ("test", 60)):
        with (tmp_path / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            for index in range(count):
                label = "pos" if index % 2 else "neg"
                writer.writerow([review(label), label])
    run_dir = tmp_path / "run"
    code, _, err = trainlab("train", "text-classification", "--data", tmp_path / "train.csv", "--out", run_dir,
                            "--quiet", f"data.test={tmp_path / 'test.csv'}", "train.epochs=4",
                            "model.hidden_size=16", "model.embedding_dim=16", "optim.lr=0.01")
    assert code == 0, err
    with (tmp_path / "test.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    code, out, err = trainlab("predict", run_dir, *(row["text"] for row in rows), "--json")
    assert code == 0, err
    predictions = [json.loads(line) for line in out.splitlines()]
    correct = sum(p["label"] == row["label"] for p, row in zip(predictions, rows))
    metrics = rundir.read_json(run_dir / "metrics.json")
    # predict delivers the model chosen on validation (the network, TF-IDF or their blend).
    assert correct / len(rows) == pytest.approx(metrics["chosen_test_accuracy"])
    assert metrics["test_accuracy"] > 0.9 and metrics["baseline_tfidf_accuracy"] > 0.9


def test_predict_refuses_what_it_cannot_read(trainlab, tmp_path):
    code, _, err = trainlab("predict", tmp_path, "text")
    assert code == 2 and "is not a run directory" in err
