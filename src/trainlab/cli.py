"""The `trainlab` command: parse arguments and dispatch; the work happens in the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

import trainlab
from trainlab import cli_commands
from trainlab.busy_cpus import wait_passively_if_busy
from trainlab.errors import TrainlabError

TRAIN_EXAMPLE = """example:
  trainlab train image-classification --data digits --seed 0 train.epochs=5 optim.lr=3e-4

Settings are key=value overrides with dotted keys (optim.lr, train.epochs, model.channels=[16,32],
optim.schedule=cosine, train.early_stopping.patience=5); `--config FILE` starts from a YAML file,
e.g. the config.yaml of an earlier run."""


DATA_EXAMPLE = """examples:
  trainlab data fetch mnist
  trainlab data show reviews.csv --task text-classification data.text_column=review
  trainlab data show sales.csv --task forecast data.time_column=date data.target=units"""


STUDY_EXAMPLE = """examples:
  trainlab study depth-vs-residual --scale quick --seeds 3
  trainlab study cnn-ablations train.epochs=2          # overrides apply to every run of the study

Running a study again into the same --out finishes the runs an interruption left undone."""


LR_FIND_EXAMPLE = """examples:
  trainlab lr-find image-classification --data digits --model simple_cnn
  trainlab lr-find image-classification --data digits --steps 200 --rule minimum optim=sgd

The sweep trains a fresh model for --steps steps while the learning rate grows from --start-lr to
--end-lr, and stops early once the loss diverges; the model and optimizer are restored afterwards.
Writes lr_find.json (rates, losses, smoothed losses, suggestion) and lr_find.png."""


SWEEP_EXAMPLE = """examples:
  trainlab sweep --config sweep.yaml --trials 20 --out runs/sweep-digits
  trainlab sweep --config sweep.yaml --trials 20 --out runs/sweep-digits   # again: continues to 20
  trainlab sweep --config sweep.yaml --trials 100 --storage postgresql://user@db-host/sweeps \\
      --study-name digits-cnn --out runs/sweep-digits                          # one per machine

The config file is a `trainlab train` config plus a sweep section:
  sweep:
    metric: val_accuracy          # default: train.monitor, in the direction it improves
    sampler: tpe                  # tpe (default), random or grid
    pruner: median                # median (default) or none
    space:
      optim.lr: {type: log-float, low: 1.0e-4, high: 1.0e-2}
      model.hidden_size: {type: choice, values: [64, 128]}
      train.epochs: {type: int, low: 2, high: 6}
      model.dropout: {type: float, low: 0.0, high: 0.5}

Each trial is a run directory OUT/trial-NNNN; OUT also gets summary.json, trials.csv/json,
best_config.yaml (trainlab train --config reruns it), plots/ and report.html. Workers started with
the same --storage and --study-name share the trials."""


TUNE_EXAMPLE = """examples:
  trainlab tune text-classification --data reviews.csv --budget 10m
  trainlab tune forecast --data sales.csv --budget 5m data.horizon=12 --out runs/tune-sales
  trainlab predict runs/tune-sales/best ...        # OUT/best is the best trial's run directory

A sweep with no space file: the task's built-in space (learning rate, width, dropout, window, ...),
TPE with median pruning, trials compared on the validation metric (train.monitor) and never on
test. No trial starts that would end past the budget if it took as long as the longest so far.
OUT/tune.yaml holds the whole search as a sweep config: edit it and continue with
trainlab sweep --config OUT/tune.yaml --trials 40 --out OUT."""


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments a run's config is built from (cli_commands._config_from_args reads them)."""
    parser.add_argument("task", nargs="?", help="image-classification, text-classification, forecast, ... "
                                                "(optional with --config)")
    parser.add_argument("--data", help="builtin dataset name (trainlab list datasets) or a path")
    parser.add_argument("--model", help="model name (trainlab list models; default: the task's)")
    parser.add_argument("--config", type=Path, help="YAML config to start from")
    parser.add_argument("--seed", type=int, help="seed for every RNG (run.seed)")


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="trainlab",
        description="Build, train, diagnose and compare CNNs and RNNs.",
        epilog="example:\n  trainlab train image-classification --data digits",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"trainlab {trainlab.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
    commands.required = True

    def add(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help_text, description=help_text, epilog=example,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    train = add("train", "train a model and write a run directory", TRAIN_EXAMPLE)
    add_config_arguments(train)
    train.add_argument("--out", type=Path, help="run directory (default runs/<task>-<data>-<time>)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    train.add_argument("--quiet", action="store_true", help="print only the run directory")
    train.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")

    resume = add(
        "resume", "continue an interrupted run where its last checkpoint left it",
        "example:\n  trainlab resume runs/image-classification-digits-20261122-101500",
    )
    resume.add_argument("run_dir", type=Path)
    resume.add_argument("--quiet", action="store_true", help="print only the run directory")

    evaluate = add(
        "evaluate", "test metrics of a run's best checkpoint, as JSON",
        "examples:\n  trainlab evaluate runs/image-classification-digits-20261122-101500\n"
        "  trainlab evaluate runs/sentiment --data reviews-2026.csv      # new data, the run's preprocessing\n\n"
        "--data is read as the run read its own data (tokenizer and vocabulary, image normalisation,\n"
        "series scalers and window), never refitted:\n"
        "  image-classification  a folder of class sub-folders, or a builtin dataset (its test split)\n"
        "  text-classification   a CSV/TSV/JSONL file with the run's text and label columns\n"
        "  forecast              a CSV with the run's time and target columns, backtested from its window\n"
        "  language-model        a text file, scored in bits per token (test_bpc)\n"
        "The JSON adds `data` (what was scored) and `examples` (images, texts, forecast origins or tokens).",
    )
    evaluate.add_argument("run_dir", type=Path)
    evaluate.add_argument("--data", metavar="SOURCE",
                          help="score this data instead of the run's test split (see below)")

    predict = add(
        "predict", "class and probabilities of a trained classifier for texts or image files",
        'examples:\n  trainlab predict runs/sentiment "a gripping, beautifully shot film" "dull and far too long"\n'
        "  trainlab predict runs/digits-cnn photo1.png photo2.png --json\n"
        "  trainlab predict runs/photos --input new_photos/ --output predictions.csv\n"
        "  trainlab predict runs/sentiment --input reviews.csv --text-column review --output predictions.csv\n"
        "  cat reviews.txt | trainlab predict runs/sentiment --input -\n\n"
        "With --input the output is CSV (input, predicted, p_<class>...); unreadable inputs are skipped\n"
        "and listed on stderr.",
    )
    predict.add_argument("run_dir", type=Path)
    predict.add_argument("inputs", nargs="*", metavar="INPUT", help="texts (text runs) or image paths (image runs)")
    predict.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    predict.add_argument("--input", metavar="PATH",
                         help="a folder of images, a .csv/.tsv/.jsonl of texts, or - for one text per line on stdin")
    predict.add_argument("--output", metavar="FILE", help="with --input: the CSV to write (default: stdout)")
    predict.add_argument("--text-column", metavar="NAME", help="with --input: the column holding the texts")

    export = add(
        "export", "the trained model as an ONNX or TorchScript file that runs without trainlab",
        "examples:\n  trainlab export runs/photos --format onnx --out photos.onnx\n"
        "  trainlab export runs/sentiment --format torchscript --out sentiment.pt\n\n"
        "Beside FILE: FILE.json (inputs, outputs, classes, normalisation or scalers) and, for text runs,\n"
        "FILE.tokenizer.json.",
    )
    export.add_argument("run_dir", type=Path)
    export.add_argument("--format", required=True, choices=["onnx", "torchscript"])
    export.add_argument("--out", type=Path, required=True, help="the model file to write")

    forecast = add(
        "forecast", "forecast the steps after the end of a series with a trained forecast run, as CSV",
        "examples:\n  trainlab forecast runs/forecast-nile --horizon 10\n"
        "  trainlab forecast runs/sales --data sales-2026.csv --out next-quarter.csv",
    )
    forecast.add_argument("run_dir", type=Path)
    forecast.add_argument("--horizon", type=int, help="steps to forecast (default: the run's data.horizon)")
    forecast.add_argument("--data", help="a newer series with the same columns (default: the run's data)")
    forecast.add_argument("--out", type=Path, help="CSV to write (default RUN_DIR/forecast.csv)")

    generate = add(
        "generate", "write text with a trained language model",
        'examples:\n  trainlab generate runs/shakespeare --prompt "ROMEO:" --seed 1\n'
        '  trainlab generate runs/shakespeare --prompt "ROMEO:" --temperature 0.8 --top-p 0.9 --stop "\\n\\n"\n\n'
        "Each token: repetition penalty, then temperature (0: greedy), then top-k and top-p, then a draw\n"
        "seeded by --seed (the same seed gives the same text).",
    )
    generate.add_argument("run_dir", type=Path)
    generate.add_argument("--prompt", default="", help="text to continue (default: start a new line)")
    generate.add_argument("--max-new-tokens", type=int, default=200, help="tokens to generate (default 200)")
    generate.add_argument("--temperature", type=float, default=1.0, help="0 is greedy (default 1.0)")
    generate.add_argument("--top-k", type=int, help="sample among the k most likely tokens only")
    generate.add_argument("--top-p", type=float, default=1.0,
                          help="nucleus: the smallest set of tokens with this mass (default 1.0: all)")
    generate.add_argument("--repetition-penalty", type=float, default=1.0,
                          help="> 1 makes tokens already in the text less likely (default 1.0: none)")
    generate.add_argument("--stop", help=r"end the text before the first occurrence of this string (\n: newline)")
    generate.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")

    study = add("study", "run a study of the curriculum: every configuration x seed, summary and report",
                STUDY_EXAMPLE)
    study.add_argument("name", help="study name (trainlab list studies)")
    study.add_argument("--scale", default="quick", help="quick (offline, minutes; default) or full")
    study.add_argument("--seeds", type=int, help="seeds per configuration (default: the study's)")
    study.add_argument("--out", type=Path, help="study directory (default runs/study-<name>-<scale>-<time>)")
    study.add_argument("--overwrite", action="store_true", help="replace an existing study directory")
    study.add_argument("--quiet", action="store_true", help="print only the study directory")
    study.add_argument("--jobs", type=int, default=1,
                       help="runs at once, in separate processes (default 1: one after another)")
    study.add_argument("--folds", type=int,
                       help="stratified k-fold cross-validation instead of seeds (image-classification studies)")
    study.add_argument("overrides", nargs="*", metavar="key=value", help="overrides for every run")

    sweep = add("sweep", "hyperparameter search with Optuna over a space declared in the config",
                SWEEP_EXAMPLE)
    sweep.add_argument("--config", type=Path, required=True, help="YAML config with a sweep section")
    sweep.add_argument("--trials", type=int, required=True,
                       help="trials in the whole sweep, counting earlier runs and other workers")
    sweep.add_argument("--out", type=Path, help="sweep directory (default runs/sweep-<config>-<time>)")
    sweep.add_argument("--storage", help="Optuna database URL (default sqlite:///OUT/sweep.db)")
    sweep.add_argument("--study-name", help="study in the storage (default: the config file's name)")
    sweep.add_argument("--trial-reports", action="store_true",
                       help="draw each trial's figures and report.html (trainlab report does it later)")
    sweep.add_argument("--quiet", action="store_true", help="print only the sweep directory")
    sweep.add_argument("overrides", nargs="*", metavar="key=value", help="overrides for every trial")

    tune = add("tune", "hyperparameter search in a built-in space within a time budget", TUNE_EXAMPLE)
    add_config_arguments(tune)
    tune.add_argument("--budget", default="10m", help="time for the trials: 90s, 10m, 1h (default 10m)")
    tune.add_argument("--trials", type=int, default=100, help="at most this many trials (default 100)")
    tune.add_argument("--out", type=Path, help="tune directory (default runs/tune-<task>-<data>-<time>)")
    tune.add_argument("--quiet", action="store_true", help="print only the best run directory")
    tune.add_argument("overrides", nargs="*", metavar="key=value", help="options every trial keeps")

    lr_find = add("lr-find", "learning-rate range test: loss against an exponentially growing rate, "
                  "and a suggested learning rate", LR_FIND_EXAMPLE)
    add_config_arguments(lr_find)
    lr_find.add_argument("--out", type=Path, help="folder for lr_find.json and lr_find.png "
                         "(default runs/lr-find-<task>-<data>-<time>)")
    lr_find.add_argument("--steps", type=int, default=100, help="optimizer steps in the sweep (default 100)")
    lr_find.add_argument("--start-lr", type=float, default=1e-7, help="first learning rate (default 1e-7)")
    lr_find.add_argument("--end-lr", type=float, default=10.0, help="last learning rate (default 10)")
    lr_find.add_argument("--rule", default="steepest", choices=["steepest", "minimum"],
                         help="steepest: where the loss falls fastest (default); minimum: a tenth of "
                              "the rate with the lowest loss")
    lr_find.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")

    report = add("report", "rebuild the figures and report.html of run directories from their files",
                 "examples:\n  trainlab report runs/image-classification-digits-20261122-101500\n"
                 "  trainlab report runs/*/          # every run, e.g. after upgrading trainlab")
    report.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")

    compare = add("compare", "one page comparing runs: their metrics side by side, curves overlaid",
                  "example:\n  trainlab compare runs/digits-cnn runs/digits-mlp --out runs/cnn-vs-mlp\n\n"
                  "Writes OUT/compare.html (self-contained) and OUT/plots/*.png.")
    compare.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    compare.add_argument("--out", type=Path, help="directory for the page (default runs/compare-<time>)")

    summary = add("summary", "Keras-style model summary: layers, output shapes, parameters, multiply-adds",
                  "examples:\n  trainlab summary runs/image-classification-digits-20261122-101500\n"
                  "  trainlab summary resnet20 --input-shape 3,32,32\n"
                  "  trainlab summary lstm --task text-classification --input-shape 64,20000 --classes 2\n\n"
                  "--input-shape is one example: C,H,W for images, TOKENS,VOCAB for texts and language\n"
                  "models, WINDOW,FEATURES for forecasters.")
    summary.add_argument("target", metavar="RUN_DIR|MODEL", help="a run directory or a model name (trainlab list models)")
    summary.add_argument("--input-shape", help="one example's shape, comma-separated (with a model name)")
    summary.add_argument("--task", help="the task, for a model name registered for several")
    summary.add_argument("--classes", type=int, default=10, help="classes of a classifier (default 10)")

    tour = add("tour", "run every study at quick scale (one seed, offline) and write one index.html",
               "examples:\n  trainlab tour\n  trainlab tour --only depth-vs-residual,forecasting --out runs/tour\n"
               "  trainlab tour --skip transfer\n\n"
               "The last line printed is the path of index.html. Running it again with the same --out\n"
               "finishes what an interruption left undone.")
    tour.add_argument("--out", type=Path, help="tour directory (default runs/tour-<time>)")
    tour.add_argument("--only", help="comma-separated studies to run (trainlab list studies)")
    tour.add_argument("--skip", help="comma-separated studies to leave out")

    listing = add("list", "list the registered models, datasets, tasks or studies",
                  "example:\n  trainlab list models")
    listing.add_argument("kind", choices=["models", "datasets", "tasks", "studies"])

    data = add("data", "download or inspect datasets", DATA_EXAMPLE)
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION", parser_class=OneLineErrorParser)
    data_commands.required = True
    def add_data_action(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        return data_commands.add_parser(
            name, help=help_text, description=help_text, epilog=example,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    fetch = add_data_action("fetch", "download, verify and cache a builtin dataset",
                            "examples:\n  trainlab data fetch mnist\n  trainlab data fetch imdb\n\n"
                            "Files go to $TRAINLAB_CACHE (default ~/.cache/trainlab); a file already\n"
                            "there is verified, not downloaded again.")
    fetch.add_argument("name", help="a downloadable builtin dataset (trainlab list datasets)")
    show = add_data_action("show", "load a source as a run would and print its summary",
                           "examples:\n  trainlab data show digits\n"
                           "  trainlab data show reviews.csv --task text-classification data.text_column=review\n"
                           "  trainlab data show sales.csv --task forecast data.time_column=date data.target=units")
    show.add_argument("source", help="builtin dataset name or a path")
    show.add_argument("--task", help="the task it is for (guessed from the source when it can be)")
    show.add_argument("overrides", nargs="*", metavar="data.key=value", help="data options")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # key=value overrides may come after options (`--seed 0 train.epochs=5`), where argparse has
    # already closed its positionals: collect them from what it leaves over.
    args, leftover = parser.parse_known_args(argv)
    if getattr(args, "overrides", None) is not None:  # train, study and data show
        if args.command == "train" and args.task and "=" in args.task:
            args.overrides.insert(0, args.task)
            args.task = None
        for argument in leftover:
            if argument.startswith("-") or "=" not in argument:
                parser.error(f"unrecognized argument '{argument}' (settings are key=value)")
            args.overrides.append(argument)
    elif leftover:
        parser.error(f"unrecognized arguments: {' '.join(leftover)}")
    # Before torch is imported, which reads the policy once; once it is (main called from Python
    # that imported it), a policy set now would change nothing.
    if args.command in TRAINING_COMMANDS and "torch" not in sys.modules:
        note = wait_passively_if_busy()
        if note and not getattr(args, "quiet", False):
            print(note, file=sys.stderr)
    try:
        return COMMANDS[args.command](args)
    except TrainlabError as error:
        if args.debug:
            raise
        print(f"trainlab: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("trainlab: interrupted; `trainlab resume RUN_DIR` continues a training run", file=sys.stderr)
        return 130


# Commands that train, for minutes or hours: worth 40 ms to look at how busy the CPUs are.
TRAINING_COMMANDS = ("train", "resume", "study", "sweep", "tune", "tour")

COMMANDS = {
    "data": cli_commands.command_data,
    "train": cli_commands.command_train,
    "resume": cli_commands.command_resume,
    "evaluate": cli_commands.command_evaluate,
    "predict": cli_commands.command_predict,
    "export": cli_commands.command_export,
    "forecast": cli_commands.command_forecast,
    "generate": cli_commands.command_generate,
    "study": cli_commands.command_study,
    "lr-find": cli_commands.command_lr_find,
    "sweep": cli_commands.command_sweep,
    "tune": cli_commands.command_tune,
    "list": cli_commands.command_list,
    "report": cli_commands.command_report,
    "compare": cli_commands.command_compare,
    "summary": cli_commands.command_summary,
    "tour": cli_commands.command_tour,
}
