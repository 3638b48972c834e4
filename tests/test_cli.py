"""The `trainlab` command end to end on the bundled digits: run directories, errors, determinism."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from trainlab import rundir

QUICK = ["train.epochs=3"]


def read_metrics(run_dir) -> dict:
    return json.loads((run_dir / rundir.METRICS_FILE).read_text())


def without_timings(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if key not in ("train_seconds", "samples_per_second")}


def test_digits_run_reaches_97_percent_and_writes_the_whole_run_directory(trainlab, tmp_path):
    run_dir = tmp_path / "run"
    code, out, err = trainlab("train", "image-classification", "--data", "digits", "--seed", "0",
                              "--out", run_dir)
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(run_dir)
    metrics = read_metrics(run_dir)
    assert metrics["test_accuracy"] >= 0.97
    for name in ("config.yaml", "env.json", "history.csv", "metrics.json", "confusion_matrix.json"):
        assert (run_dir / name).is_file(), name
    for checkpoint in ("best", "last"):
        files = sorted(path.name for path in (run_dir / "checkpoints" / checkpoint).iterdir())
        assert files == ["model.safetensors", "state.json", "state.safetensors"]
    assert {"loss.png", "accuracy.png", "confusion_matrix.png"} <= {p.name for p in (run_dir / "plots").iterdir()}
    history = (run_dir / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy")
    assert len(history) == 1 + 20  # header + one row per epoch (default train.epochs)
    environment = json.loads((run_dir / "env.json").read_text())
    assert environment["seed"] == 0 and environment["device"] == "cpu"
    confusion = json.loads((run_dir / "confusion_matrix.json").read_text())
    assert sum(map(sum, confusion["test"])) == 360 - 1  # every test digit counted once
    assert metrics["test_accuracy"] == pytest.approx(
        sum(confusion["test"][i][i] for i in range(10)) / sum(map(sum, confusion["test"]))
    )


def test_same_seed_gives_identical_metrics_and_the_saved_config_reruns(trainlab, tmp_path):
    first, second, rerun = tmp_path / "first", tmp_path / "second", tmp_path / "rerun"
    for run_dir in (first, second):
        assert trainlab("train", "image-classification", "--data", "digits", "--seed", "3",
                        "--out", run_dir, "--quiet", *QUICK)[0] == 0
    assert trainlab("train", "--config", first / "config.yaml", "--out", rerun, "--quiet")[0] == 0
    reference = without_timings(read_metrics(first))
    assert without_timings(read_metrics(second)) == reference
    assert without_timings(read_metrics(rerun)) == reference
    assert yaml.safe_load((rerun / "config.yaml").read_text()) == yaml.safe_load((first / "config.yaml").read_text())


def test_another_seed_trains_differently_on_the_same_split(trainlab, tmp_path):
    for seed in (0, 1):
        assert trainlab("train", "image-classification", "--data", "digits", "--seed", seed,
                        "--out", tmp_path / str(seed), "--quiet", "train.epochs=1")[0] == 0
    zero, one = read_metrics(tmp_path / "0"), read_metrics(tmp_path / "1")
    assert zero["test_loss"] != one["test_loss"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["optim.lrr=0.1"], "trainlab: error: unknown key 'optim.lrr' (did you mean 'optim.lr'?)"),
        (["train.epochs=abc"], ("trainlab: error: train.epochs: Input should be a valid integer, "
                               "unable to parse string as an integer (got 'abc')")),
        (["train.epochs=0"], "trainlab: error: train.epochs: Input should be greater than 0 (got 0)"),
        (["optim.lr=-1"], "trainlab: error: optim.lr: Input should be greater than 0 (got -1)"),
        (["--model", "resnt20"], ("trainlab: error: unknown model 'resnt20' (did you mean 'resnet20'?); choices: "
                                 "mlp, resnet101, resnet110, resnet18, resnet20, resnet32, resnet34, resnet44, "
                                 "resnet50, resnet56, resnet_cifar, resnext29_4x16d, resnext29_8x64d, "
                                 "resnext50_32x4d, simple_cnn, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, "
                                 "vgg19, vgg19_bn")),
        (["--model", "lstm"], ("trainlab: error: model 'lstm' is for forecast, language-model, "
                              "sequence-classification and text-classification, not image-classification; choices for image-classification: mlp, resnet101, "
                              "resnet110, resnet18, resnet20, resnet32, resnet34, resnet44, resnet50, resnet56, "
                              "resnet_cifar, resnext29_4x16d, resnext29_8x64d, resnext50_32x4d, simple_cnn, "
                              "vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn")),
        (["--data", "/no/such/folder"], ("trainlab: error: --data /no/such/folder: neither a builtin "
                                        "image-classification dataset nor an existing path; "
                                        "builtin: cifar10, digits, fashion-mnist, mnist")),
        (["--data", "digts"], ("trainlab: error: --data digts: neither a builtin image-classification dataset "
                              "(did you mean 'digits'?) nor an existing path; "
                              "builtin: cifar10, digits, fashion-mnist, mnist")),
        (["train.monitor=val_auc"], ("trainlab: error: train.monitor 'val_auc' is not a metric of this run; "
                                    "choose one of train_loss, train_accuracy, val_loss, val_accuracy, "
                                    "val_macro_precision, val_macro_recall, val_macro_f1")),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_run_directory(trainlab, tmp_path, arguments, message):
    run_dir = tmp_path / "run"
    if "--data" not in arguments:
        arguments = ["--data", "digits", *arguments]
    code, out, err = trainlab("train", "image-classification", "--out", run_dir, *arguments)
    assert code == 2
    # The data summary may come first; the error is the one last line.
    assert err.strip().splitlines()[-1] == message
    assert "Traceback" not in err and out == ""
    assert not run_dir.exists()


def test_unknown_task_and_missing_config_are_one_line_errors(trainlab, tmp_path):
    code, _, err = trainlab("train", "image-clasification", "--data", "digits")
    assert code == 2
    assert err.strip() == ("trainlab: error: unknown task 'image-clasification' (did you mean "
                           "'image-classification'?); choices: forecast, image-classification, "
                           "language-model, sequence-classification, text-classification")
    code, _, err = trainlab("train", "--config", tmp_path / "missing.yaml")
    assert (code, err.strip()) == (2, f"trainlab: error: config file '{tmp_path / 'missing.yaml'}' does not exist")


def test_an_existing_run_directory_is_refused_unless_overwrite(trainlab, tmp_path):
    run_dir = tmp_path / "run"
    assert trainlab("train", "image-classification", "--data", "digits", "--out", run_dir, "--quiet",
                    "train.epochs=1")[0] == 0
    code, _, err = trainlab("train", "image-classification", "--data", "digits", "--out", run_dir,
                            "train.epochs=1")
    assert (code, err.strip()) == (
        2, f"trainlab: error: run directory '{run_dir}' is not empty; choose another --out or add --overwrite"
    )
    assert trainlab("train", "image-classification", "--data", "digits", "--out", run_dir, "--quiet",
                    "--overwrite", "train.epochs=2")[0] == 0
    assert read_metrics(run_dir)["epochs"] == 2


def test_overwrite_never_empties_a_folder_that_is_not_a_run(trainlab, tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("do not lose me")
    code, _, err = trainlab("train", "image-classification", "--data", "digits", "--out", precious,
                            "--overwrite", "train.epochs=1")
    assert code == 2
    assert "is not a run directory" in err
    assert (precious / "chapter1.tex").read_text() == "do not lose me"


def test_debug_shows_the_traceback(tmp_path):
    from trainlab.cli import main
    from trainlab.errors import TrainlabError

    with pytest.raises(TrainlabError, match="unknown key 'optim.lrr'"):
        main(["--debug", "train", "image-classification", "--data", "digits", "optim.lrr=1"])


def test_evaluate_scores_the_best_checkpoint_like_the_run_did(trainlab, tmp_path):
    run_dir = tmp_path / "run"
    assert trainlab("train", "image-classification", "--data", "digits", "--out", run_dir, "--quiet", *QUICK)[0] == 0
    code, out, _ = trainlab("evaluate", run_dir)
    assert code == 0
    evaluated = json.loads(out)
    metrics = read_metrics(run_dir)
    assert evaluated["test_accuracy"] == metrics["test_accuracy"]
    assert evaluated["test_loss"] == pytest.approx(metrics["test_loss"], rel=1e-12)


def test_list_shows_registered_names(trainlab):
    code, out, _ = trainlab("list", "models")
    assert code == 0
    rows = {tuple(line.split()[:3]) for line in out.splitlines()}
    # Parameter counts on 3x32x32 images with 10 classes: ResNet-20 and -56 as in He et al. 2016.
    assert {("resnet20", "image-classification", "0.27M"), ("resnet56", "image-classification", "0.85M")} <= rows
    assert {("lstm", "text-classification"), ("lstm", "forecast")} <= {row[:2] for row in rows}
    listing = trainlab("list", "datasets")[1]
    assert re.search(r"^digits +image-classification +scikit-learn's", listing, flags=re.MULTILINE)


def test_version_and_help(capsys):
    from trainlab import __version__
    from trainlab.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"trainlab {__version__}"
    for command in ("train", "resume", "evaluate", "list"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert re.search(r"\bexamples?:", capsys.readouterr().out)


def test_argument_errors_are_one_line(capsys):
    from trainlab.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["list", "widgets"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("trainlab list: error: argument kind: invalid choice: 'widgets'")
