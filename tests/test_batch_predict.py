"""`trainlab predict RUN --input PATH --output FILE`: folders of images, tables of texts, stdin;
the same probabilities as predicting each input alone, unreadable inputs skipped and listed."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from trainlab.cli import main
from trainlab.predict import predict
from trainlab.training.tasks import ClassificationTask
from trainlab.training.trainer import Trainer


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("images") / "run"
    assert main(["train", "image-classification", "--data", "digits", "--out", str(run_dir), "--quiet",
                 "train.epochs=1", "data.limit=200", "model.channels=[4]", "model.hidden_size=8"]) == 0
    return run_dir


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("texts") / "run"
    assert main(["train", "text-classification", "--data", "synthetic-reviews", "--out", str(run_dir), "--quiet",
                 "train.epochs=1", "data.num_examples=200", "model.hidden_size=8", "model.embedding_dim=8"]) == 0
    return run_dir


def read_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_folder_of_images_with_one_broken_file(image_run, tmp_path, trainlab):
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    digits = load_digits().images[:7]
    names = ["a.png", "b.png", "c.png", "more/d.png", "more/e.png", "more/f.png", "g.png"]
    for name, image in zip(names, digits):
        Image.fromarray((image * 255 / 16).astype(np.uint8)).save(folder / name)
    (folder / "broken.png").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("ignored: not an image file")
    output = tmp_path / "predictions.csv"
    code, out, err = trainlab("predict", image_run, "--input", folder, "--output", output)
    assert code == 0, err
    assert "7 predictions" in out
    assert "skipped 1 unreadable input(s): broken.png: cannot read the image" in err
    rows = read_rows(output.read_text())
    assert [row["input"] for row in rows] == sorted(names)
    one_by_one = {name: predict(image_run, [str(folder / name)])[0] for name in names}
    for row in rows:
        expected = one_by_one[row["input"]]
        assert row["predicted"] == expected.label
        got = [float(row[f"p_{name}"]) for name in expected.probabilities]
        np.testing.assert_allclose(got, list(expected.probabilities.values()), rtol=1e-5, atol=1e-6)


def test_a_table_of_texts_with_ids_and_an_empty_row(text_run, tmp_path, trainlab):
    table = tmp_path / "reviews.csv"
    texts = ["a truly wonderful film", "not good at all, boring", "", "the plot was dull but the acting great",
             "great"]
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "review"])
        writer.writerows([(f"r{number}", text) for number, text in enumerate(texts)])
    code, out, err = trainlab("predict", text_run, "--input", table, "--text-column", "review")
    assert code == 0, err
    assert "skipped 1 unreadable input(s): r2: empty text" in err
    rows = read_rows(out)
    assert [row["input"] for row in rows] == ["r0", "r1", "r3", "r4"]
    # Batched shortest first, restored to input order: each equals predicting the text alone.
    for row, text in zip(rows, [texts[0], texts[1], texts[3], texts[4]]):
        alone = predict(text_run, [text])[0]
        assert row["predicted"] == alone.label
        np.testing.assert_allclose([float(row[f"p_{name}"]) for name in alone.probabilities],
                                   list(alone.probabilities.values()), rtol=1e-5, atol=1e-6)


def test_texts_from_standard_input(text_run, trainlab, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("loved it\nhated it\n"))
    code, out, err = trainlab("predict", text_run, "--input", "-")
    assert code == 0, err
    rows = read_rows(out)
    assert [row["input"] for row in rows] == ["1", "2"]
    assert rows[0]["predicted"] == predict(text_run, ["loved it"])[0].label


def test_bad_requests_are_one_line_and_leave_the_output_alone(image_run, text_run, tmp_path, trainlab):
    output = tmp_path / "predictions.csv"
    output.write_text("an earlier result\n")
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "x.png").write_bytes(b"nope")
    code, _, err = trainlab("predict", image_run, "--input", folder, "--output", output)
    assert code == 2 and "no readable input to predict" in err
    assert output.read_text() == "an earlier result\n"  # not replaced by a header alone
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no partial file

    table = tmp_path / "t.csv"
    table.write_text("id,body\n1,fine\n")
    code, _, err = trainlab("predict", text_run, "--input", table)
    assert code == 2 and "no text column found; columns are id, body (use --text-column NAME)" in err
    code, _, err = trainlab("predict", text_run, "some text", "--input", table)
    assert code == 2 and "give no other inputs" in err
    code, _, err = trainlab("predict", text_run)
    assert code == 2 and "--input PATH" in err


def test_trainer_predict_returns_the_models_outputs_in_eval_mode():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5))
    trainer = Trainer(model, ClassificationTask(4), torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=1,
                      callbacks=[])
    inputs = torch.randn(10, 3)
    model.train()
    outputs = trainer.predict([inputs[:6], (inputs[6:],)])  # batches as tensors or tuples
    assert model.training  # left in the mode it was in
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(outputs, model(inputs))  # no dropout: eval mode
