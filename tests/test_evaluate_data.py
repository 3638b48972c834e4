"""`trainlab evaluate RUN_DIR --data SOURCE`: a trained run scored on new data with its own
preprocessing. The reference: the run's own test data, given as SOURCE, gives the run's own test
metrics exactly; data that does not fit is one line and exit code 2; nothing is refitted."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from trainlab import rundir

# --- tiny runs, trained once per module -----------------------------------------------------------


def train(task: str, source, run_dir, *overrides: str) -> None:
    """`trainlab train` without the plots and report it adds (seconds each)."""
    from trainlab.config import apply_overrides, build_config, parse_overrides
    from trainlab.experiment import train_run

    raw = apply_overrides({"task": task}, [("data.source", str(source)), *parse_overrides(list(overrides))])
    train_run(build_config(raw), run_dir, quiet=True)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("digits") / "run"
    train("image-classification", "digits", run_dir, "train.epochs=1", "data.limit=200",
          "model.channels=[8]", "model.hidden_size=16")
    return run_dir


GOOD, BAD, FILLER = ["great", "superb", "lovely"], ["awful", "boring", "dull"], ["the", "a", "film", "plot"]


def reviews(count: int, seed: int, unseen: list[str] = ()) -> list[tuple[str, str]]:
    """(text, label) rows: filler words around one word that gives the label away."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(count):
        label = "pos" if index % 2 else "neg"
        words = list(rng.choice(FILLER + list(unseen), size=rng.integers(3, 10)))
        words.insert(int(rng.integers(0, len(words))), rng.choice(GOOD if label == "pos" else BAD))
        rows.append((" ".join(words), label))
    return rows


def write_table(path, rows, header=("text", "label")):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    write_table(folder / "train.csv", reviews(160, seed=0))
    write_table(folder / "test.csv", reviews(40, seed=1))
    train("text-classification", folder / "train.csv", folder / "run",
          f"data.test={folder / 'test.csv'}", "train.epochs=1", "model.hidden_size=8", "model.embedding_dim=8")
    return folder / "run"


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    """150 months of a trend, a yearly season and noise."""
    steps = np.arange(150)
    sales = 100 + 0.5 * steps + 10 * np.sin(2 * np.pi * steps / 12) + np.random.default_rng(0).normal(0, 1, 150)
    months = pd.date_range("2010-01-01", periods=150, freq="MS").strftime("%Y-%m")
    path = tmp_path_factory.mktemp("series") / "sales.csv"
    pd.DataFrame({"month": months, "sales": sales.round(3)}).to_csv(path, index=False)
    return path


WINDOW = 16  # more than the season (12), so MASE's yardstick has a season before the first origin


@pytest.fixture(scope="module")
def forecast_run(series_csv):
    run_dir = series_csv.parent / "run"
    train("forecast", series_csv, run_dir, "data.time_column=month", "data.target=sales",
          f"data.window={WINDOW}", "data.horizon=3", "train.epochs=1", "model.hidden_size=8",
          "data.calendar=none")  # the by-hand forecasts below read the sales alone
    return run_dir


VERSES = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\n\n"
    "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n"
)


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lm")
    (folder / "verses.txt").write_text(VERSES * 16, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:  # the samples a run writes for its report take seconds
        patch.setattr("trainlab.pipelines.language_model.samples_by_temperature", lambda *args, **kwargs: {})
        train("language-model", folder / "verses.txt", folder / "run", "train.epochs=1",
              "model.hidden_size=16", "model.layers=1", "data.sequence_length=16", "data.batch_size=8")
    return folder / "run"


def evaluate(trainlab, run_dir, source) -> dict:
    code, out, err = trainlab("evaluate", run_dir, "--data", source)
    assert code == 0, err
    return json.loads(out)


def refused(trainlab, run_dir, source) -> str:
    """The one line on stderr of an evaluation that exits with code 2."""
    code, out, err = trainlab("evaluate", run_dir, "--data", source)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def own_test_metrics(run_dir) -> dict:
    return {key: value for key, value in rundir.read_json(run_dir / rundir.METRICS_FILE).items()
            if key.startswith("test_")}


# --- (a) the run's own test data gives the run's own test metrics ---------------------------------


def test_a_builtin_image_dataset_is_scored_on_its_test_split_as_the_run_was(trainlab, digits_run):
    evaluated = evaluate(trainlab, digits_run, "digits")
    assert evaluated["data"] == "digits (test split)"
    assert evaluated["examples"] == 200  # data.limit=200 cuts the test split as it cut the run's
    reference = own_test_metrics(digits_run)
    assert {key: evaluated[key] for key in reference} == reference
    assert set(evaluated) == {*reference, "test_confusion_matrix", "data", "examples"}  # evaluate's shape


def test_the_runs_test_file_gives_the_runs_test_metrics(trainlab, text_run):
    from trainlab.data.tokenizers import TextEncoder
    from trainlab.experiment import load_run_config
    from trainlab.pipelines import build_pipeline

    # The run scored its test file in a shuffled order; written in that order the file must give
    # the same numbers to the last bit (the loss sums in batch order).
    rows = list(csv.reader((text_run.parent / "test.csv").open()))[1:]
    encoder = TextEncoder.load(text_run / rundir.ENCODER_FILE)
    by_content: dict = {}
    for text, label in rows:
        by_content.setdefault((tuple(encoder.encode(text)), label), []).append((text, label))
    scored = build_pipeline(load_run_config(text_run)).data.test
    classes = rundir.read_json(text_run / rundir.DATA_FILE)["classes"]
    ordered = [by_content[tuple(scored.sequences[index].tolist()), classes[int(scored.labels[index])]].pop()
               for index in range(len(scored))]
    evaluated = evaluate(trainlab, text_run, write_table(text_run.parent / "in-scored-order.csv", ordered))
    reference = own_test_metrics(text_run)
    assert {key: evaluated[key] for key in reference} == reference
    assert evaluated["examples"] == 40


def test_the_runs_test_steps_backtest_as_the_run_did(trainlab, forecast_run, series_csv):
    # The run's test part: the last 20% (30 months), forecast from the window of steps before it.
    table = pd.read_csv(series_csv)
    evaluated = evaluate(trainlab, forecast_run, write_table(
        forecast_run.parent / "test-part.csv", table.iloc[150 - 30 - WINDOW :].itertuples(index=False),
        header=("month", "sales")))
    metrics = rundir.read_json(forecast_run / rundir.METRICS_FILE)
    assert evaluated["examples"] == metrics["backtest_origins"] == 10
    for name in ("mae", "rmse", "mape", "smape"):
        assert evaluated[f"test_{name}"] == metrics[f"test_{name}"], name
    # MASE divides by the seasonal-naive error of the steps before each origin: here the file's
    # (from WINDOW steps on), in the run the whole history; so it is defined, but not the run's.
    assert evaluated["test_mase"] > 0 and "test_mase_undefined" not in evaluated


def test_the_runs_held_out_text_gives_the_runs_test_metrics(trainlab, lm_run):
    text = (lm_run.parent / "verses.txt").read_text(encoding="utf-8")
    held_out = text[len(text) - round(len(text) * 0.05) :]  # characters: the run's test part
    (lm_run.parent / "held-out.txt").write_text(held_out, encoding="utf-8")
    evaluated = evaluate(trainlab, lm_run, lm_run.parent / "held-out.txt")
    reference = own_test_metrics(lm_run)
    assert {key: evaluated[key] for key in reference} == reference
    assert evaluated["examples"] == len(held_out) - 1 and evaluated["unknown_tokens"] == 0
    assert evaluated["test_bpc"] == pytest.approx(evaluated["test_loss"] / math.log(2))


# --- (b) data that does not fit: one line, exit code 2 ---------------------------------------------


def test_a_label_the_run_does_not_know_is_refused(trainlab, text_run, tmp_path):
    path = write_table(tmp_path / "extra.csv", [("a great film", "pos"), ("so so", "meh")])
    assert refused(trainlab, text_run, path) == (
        f"trainlab: error: {path}: label 'meh' is not one of the run's classes (neg, pos); remove it, or "
        "evaluate a run trained on that class"
    )


def test_a_missing_text_column_is_refused_with_the_columns_there_are(trainlab, text_run, tmp_path):
    path = write_table(tmp_path / "renamed.csv", [("a great film", "pos")], header=("review", "label"))
    assert refused(trainlab, text_run, path) == (
        f"trainlab: error: {path}: no column 'text' (the run's data.text_column); columns are review, label; "
        "give a CSV, TSV or JSONL file with its columns 'text' and 'label'"
    )


def test_a_class_folder_the_run_does_not_know_is_refused(trainlab, digits_run, tmp_path):
    for name in ("3", "cat"):
        (tmp_path / "images" / name).mkdir(parents=True)
        Image.new("L", (8, 8)).save(tmp_path / "images" / name / "a.png")
    line = refused(trainlab, digits_run, tmp_path / "images")
    assert line == (
        f"trainlab: error: {tmp_path / 'images'}: class folder 'cat' is not one of the run's classes "
        "(0, 1, 2, 3, 4, 5, 6, 7, 8, 9); remove it, or evaluate a run trained on that class"
    )


def test_a_series_without_the_target_column_is_refused(trainlab, forecast_run, tmp_path):
    path = tmp_path / "other.csv"
    pd.DataFrame({"month": ["2030-01", "2030-02"], "units": [1.0, 2.0]}).to_csv(path, index=False)
    assert refused(trainlab, forecast_run, path) == (
        f"trainlab: error: {path}: no column 'sales' (a target the run forecasts); columns are month, units; "
        "give a CSV with its columns month, sales"
    )


def test_data_of_the_wrong_kind_names_what_the_task_takes(trainlab, text_run, lm_run, tmp_path):
    assert refused(trainlab, text_run, tmp_path) == (
        f"trainlab: error: --data {tmp_path}: a text-classification run is evaluated on a CSV, TSV or JSONL "
        "file with its columns 'text' and 'label', not a folder"
    )
    assert refused(trainlab, lm_run, "tiny-shakespeare") == (
        "trainlab: error: --data tiny-shakespeare: a language-model run is evaluated on a text file, "
        "not a builtin corpus"
    )


def test_a_task_without_an_evaluator_says_which_tasks_have_one(trainlab, tmp_path):
    (tmp_path / "config.yaml").write_text("task: sequence-classification\ndata:\n  source: copy\n")
    assert refused(trainlab, tmp_path, "copy") == (
        f"trainlab: error: '{tmp_path}' is a sequence-classification run; evaluate --data takes "
        "forecast, image-classification, language-model, text-classification runs (without --data, "
        "evaluate scores the run's own test split)"
    )


# --- (c) the run's preprocessing is used, not refitted ---------------------------------------------


def test_words_unseen_in_training_are_read_with_the_training_vocabulary(trainlab, text_run, tmp_path):
    from trainlab.predict import open_prediction_session

    rows = reviews(30, seed=2, unseen=["zebra", "quokka"])
    first = evaluate(trainlab, text_run, write_table(tmp_path / "unseen.csv", rows))
    # Other unseen words are the same <unk> to the training vocabulary: the same numbers.
    renamed = [(text.replace("zebra", "walrus").replace("quokka", "axolotl"), label) for text, label in rows]
    assert any(row != original for row, original in zip(renamed, rows))
    second = evaluate(trainlab, text_run, write_table(tmp_path / "renamed.csv", renamed))
    assert {key: value for key, value in second.items() if key != "data"} == {
        key: value for key, value in first.items() if key != "data"}
    # The loss is the network's cross-entropy on these texts, as `predict` reads them (evaluate
    # scores the network; predict may blend in the TF-IDF baseline the run chose on validation).
    session = open_prediction_session(text_run)
    session.network_weight, session.baseline = 1.0, None
    probabilities = session.probabilities([text for text, _ in rows]).numpy()
    labels = [session.classes.index(label) for _, label in rows]
    by_hand = -np.mean([math.log(row[label]) for row, label in zip(probabilities, labels)])
    assert first["test_loss"] == pytest.approx(by_hand, rel=1e-5)
    assert first["test_accuracy"] == pytest.approx(np.mean(probabilities.argmax(axis=1) == labels))


def test_a_series_on_another_scale_is_scaled_with_the_training_scaler(trainlab, forecast_run, series_csv,
                                                                       tmp_path):
    from trainlab.predict import load_trained

    table = pd.read_csv(series_csv).iloc[-(WINDOW + 30) :]
    table["sales"] = (table["sales"] * 10).round(3)  # ten times the training scale
    path = tmp_path / "tenfold.csv"
    table.to_csv(path, index=False)
    evaluated = evaluate(trainlab, forecast_run, path)
    values = table["sales"].to_numpy(np.float32).astype(np.float64)
    model = load_trained(forecast_run).model
    state = rundir.read_json(forecast_run / rundir.DATA_FILE)["target_scaler"]

    def mean_absolute_error(offset: float, scale: float) -> float:
        errors = []
        for origin in range(WINDOW, len(values) - 3 + 1, 3):  # from the first full window, every horizon
            window = ((values[origin - WINDOW : origin] - offset) / scale).astype(np.float32)
            with torch.no_grad():
                scaled = model(torch.from_numpy(window)[None, :, None])[0, :, 0].numpy().astype(np.float64)
            forecast = (scaled * scale + offset).astype(np.float32)
            errors.append(np.abs(forecast - values[origin : origin + 3]).mean())
        return float(np.mean(errors))

    assert evaluated["examples"] == 10
    assert evaluated["test_mae"] == pytest.approx(mean_absolute_error(state["offset"][0], state["scale"][0]),
                                                  rel=1e-6)
    refitted = mean_absolute_error(values.mean(), values.std())
    assert evaluated["test_mae"] != pytest.approx(refitted, rel=0.01)  # a refitted scaler would tell


def test_an_image_folder_is_read_as_predict_reads_it(trainlab, digits_run, tmp_path):
    from trainlab.predict import predict

    digits = load_digits()
    files, labels = [], []
    for index in range(1500, 1530):
        folder = tmp_path / "images" / str(digits.target[index])
        folder.mkdir(parents=True, exist_ok=True)
        files.append(folder / f"{index}.png")
        labels.append(str(digits.target[index]))
        Image.fromarray((digits.images[index] * 255 / 16).astype(np.uint8), mode="L").save(files[-1])
    evaluated = evaluate(trainlab, digits_run, tmp_path / "images")
    assert evaluated["examples"] == 30 and evaluated["data"] == str(tmp_path / "images")
    predictions = predict(digits_run, [str(path) for path in files])
    assert evaluated["test_accuracy"] == pytest.approx(
        np.mean([p.label == label for p, label in zip(predictions, labels)]))
    by_hand = -np.mean([math.log(p.probabilities[label]) for p, label in zip(predictions, labels)])
    assert evaluated["test_loss"] == pytest.approx(by_hand, rel=1e-5)


def test_characters_the_vocabulary_lacks_are_scored_as_unknown(trainlab, lm_run, tmp_path):
    text = "ROMEO: zebra quokka!\n" * 4
    (tmp_path / "new.txt").write_text(text, encoding="utf-8")
    evaluated = evaluate(trainlab, lm_run, tmp_path / "new.txt")
    unknown = sum(character not in VERSES for character in text)  # the training text is VERSES repeated
    assert unknown == 4 * 3  # z, q and !
    assert evaluated["unknown_tokens"] == unknown and evaluated["examples"] == len(text) - 1
    assert math.isfinite(evaluated["test_bpc"])


def test_plain_evaluate_of_a_forecast_run_gives_its_backtest_scores(trainlab, forecast_run):
    # metrics.json scores the network by its backtest, not per window: evaluate must agree.
    code, out, _ = trainlab("evaluate", forecast_run)
    assert code == 0
    evaluated, metrics = json.loads(out), rundir.read_json(forecast_run / rundir.METRICS_FILE)
    for name in ("mae", "rmse", "mape", "smape", "mase", "loss"):
        assert evaluated[f"test_{name}"] == pytest.approx(metrics[f"test_{name}"], rel=1e-9), name
