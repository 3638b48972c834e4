"""Study `rnn-vs-lstm-vs-gru`: the three recurrent cells with matched settings on three tasks.

Within a task only the cell changes (same embedding and hidden sizes, layers, optimizer, epochs,
data): classifying reviews (the corpus of the `sentiment` study), predicting the next word of the
Python standard library's source (data/next_word.py; accuracy and perplexity), and predicting a
series one step ahead (yearly sunspots, backtested against naive and classical baselines). Arms are
named `<task>-<cell>` ("text-lstm", "lm-gru", "series-rnn"): one summary row per cell and task.

The study framework has one headline metric (test_accuracy, which the series rows lack), so the
finding adds what the tasks need besides (in place, as `forecasting` does): a `task` per row,
`seconds_per_epoch` (train_seconds / epochs, per seed), comparisons on test_perplexity and
test_mase, and the best cell per task; the figures show each task's metric, cost and learning
curves on their own axes.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import registry, rundir
from trainlab.data import next_word  # noqa: F401  (registers "next-word-python")
from trainlab.metrics.statistics import difference, estimate, mean_and_half_width
from trainlab.reports.figures import new_figure
from trainlab.studies.plan import Arm, StudyPlan
from trainlab.studies.sentiment import quick_review_data

CELLS = ("rnn", "lstm", "gru")
CELL_LABELS = {"rnn": "RNN (tanh)", "lstm": "LSTM", "gru": "GRU"}
TASKS = ("text", "lm", "series")
TASK_LABELS = {"text": "review sentiment", "lm": "next word (Python source)", "series": "sunspots, 1 step"}
# The metric each task is judged by, and whether higher is better.
TASK_METRICS = {"text": ("test_accuracy", True), "lm": ("test_perplexity", False), "series": ("test_mase", False)}
# The per-epoch validation curve each task is watched by (history.csv columns).
TASK_CURVES = {"text": "val_accuracy", "lm": "val_loss", "series": "val_mase"}
COST_METRICS = ("seconds_per_epoch", "samples_per_second")


def quick_settings() -> tuple[dict[str, dict[str, Any]], str]:
    text_data, text_note = quick_review_data()
    settings = {
        "text": {
            "task": "text-classification",
            "data": text_data,
            # Mean pooling: read at the last token only, no cell learns 100-word reviews in 3 epochs
            # (all stay at chance; the `sentiment` study shows it for the LSTM).
            "model": {"embedding_dim": 50, "hidden_size": 32, "pooling": "mean"},
            "optim": {"name": "adam", "lr": 0.005},
            "train": {"epochs": 3, "grad_clip_norm": 5.0},
        },
        "lm": {
            "task": "text-classification",
            "data": {"source": "next-word-python", "context_length": 20, "max_vocab": 1000, "stride": 3,
                     "limit": 4000, "batch_size": 64},
            "model": {"embedding_dim": 64, "hidden_size": 64, "pooling": "last"},
            "optim": {"name": "adam", "lr": 0.005},
            "train": {"epochs": 3, "grad_clip_norm": 5.0},
        },
        "series": {
            "task": "forecast",
            "data": {"source": "sunspots", "window": 24, "horizon": 1, "batch_size": 32},
            "model": {"hidden_size": 32},
            "optim": {"name": "adam", "lr": 0.01},
            "train": {"epochs": 20, "grad_clip_norm": 5.0},
        },
    }
    note = (f"text: {text_note}; embeddings 50, hidden 32, mean pooling, 3 epochs. "
            "lm: next word after 20 words of the Python standard library's source (offline), 1,000-word "
            "vocabulary, the first 4,000 windows of each part (training windows every 3 words); "
            "embeddings 64, hidden 64, 3 epochs. series: yearly sunspots 1700-2008 (statsmodels, "
            "offline), window 24, horizon 1, hidden 32, 20 epochs, backtest over the last 20%")
    return settings, note


def full_settings() -> tuple[dict[str, dict[str, Any]], str]:
    settings = {
        "text": {
            "task": "text-classification",
            "data": {"source": "imdb", "max_length": 400, "val_fraction": 0.1, "batch_size": 64},
            "model": {"embedding_dim": 128, "hidden_size": 128, "pooling": "last"},
            "optim": {"name": "adam", "lr": 0.002},
            "train": {"epochs": 6, "grad_clip_norm": 5.0, "monitor": "val_accuracy"},
        },
        "lm": {
            "task": "text-classification",
            # Every evaluation counts a classes x classes confusion matrix (training/tasks.py): a
            # vocabulary of 2,000 words keeps that at 4M counts.
            "data": {"source": "next-word-python", "context_length": 35, "max_vocab": 2000, "stride": 1,
                     "batch_size": 128},
            "model": {"embedding_dim": 200, "hidden_size": 200, "pooling": "last"},
            "optim": {"name": "adam", "lr": 0.002},
            "train": {"epochs": 6, "grad_clip_norm": 5.0},
        },
        "series": {
            "task": "forecast",
            "data": {"source": "co2", "window": 48, "horizon": 1, "batch_size": 32},
            "model": {"hidden_size": 64},
            "optim": {"name": "adam", "lr": 0.005},
            "train": {"epochs": 60, "grad_clip_norm": 5.0},
        },
    }
    note = ("text: IMDB (builtin, downloaded once), 25k/25k reviews cut at 400 words, embeddings and hidden "
            "128, last-token pooling; lm: next word after 35 words of the Python standard library, "
            "2,000-word vocabulary, every window, embeddings and hidden 200; series: monthly CO2 at Mauna "
            "Loa 1958-2001 (statsmodels), window 48, horizon 1, hidden 64")
    return settings, note


@registry.studies.register("rnn-vs-lstm-vs-gru", "the three recurrent cells on texts, next words and a series")
def rnn_vs_lstm_vs_gru(scale: str) -> StudyPlan:
    settings, note = quick_settings() if scale == "quick" else full_settings()
    arms = []
    for task in TASKS:
        for cell in CELLS:
            config = copy.deepcopy(settings[task])
            config["model"]["name"] = cell
            arms.append(Arm(f"{task}-{cell}", config, label=f"{task}: {CELL_LABELS[cell]}"))
    return StudyPlan(
        name="rnn-vs-lstm-vs-gru",
        question=("With everything else matched, how do the plain RNN, the LSTM and the GRU compare in "
                  "accuracy, perplexity, forecast error, size and speed on a classification, a language "
                  "modelling and a forecasting task?"),
        data_note=note,
        arms=arms,
        metrics=["test_accuracy", "test_perplexity", "test_mase", "test_rmse", "test_loss",
                 "train_seconds", "epochs", "samples_per_second"],
        seeds=2 if scale == "quick" else 5,
        comparisons=[("text-lstm", "text-rnn"), ("text-gru", "text-lstm"),
                     ("lm-lstm", "lm-rnn"), ("lm-gru", "lm-lstm")],
        finding=finding,
        figures=figures,
    )


def task_of(arm: str) -> str:
    return arm.split("-", 1)[0]


def cell_of(arm: str) -> str:
    return arm.split("-", 1)[1]


def add_task_views(summary: dict[str, Any]) -> dict[str, Any]:
    """What one headline metric cannot say, added to the summary in place (idempotent): each row's
    `task` and `seconds_per_epoch`, comparisons on each task's own metric, the best cell per task."""
    if "best_by_task" in summary:
        return summary
    rows = {row["arm"]: row for row in summary["rows"]}
    for row in summary["rows"]:
        row["task"] = task_of(row["arm"])
        seconds, epochs = row.get("train_seconds"), row.get("epochs")
        if seconds is not None and epochs is not None:
            row["seconds_per_epoch"] = estimate(
                [total / count for total, count in zip(seconds["values"], epochs["values"])]).to_dict()
    summary["metrics"] = [metric for metric in summary["metrics"] if metric not in ("epochs",)]
    summary["metrics"].insert(summary["metrics"].index("train_seconds") + 1, "seconds_per_epoch")
    for task, metric in (("lm", "test_perplexity"), ("series", "test_mase")):
        for a, b in (("lstm", "rnn"), ("gru", "lstm")):
            first, second = rows.get(f"{task}-{a}", {}).get(metric), rows.get(f"{task}-{b}", {}).get(metric)
            if first is not None and second is not None:
                summary["comparisons"].append({"a": f"{task}-{a}", "b": f"{task}-{b}", "metric": metric,
                                               **difference(first["values"], second["values"]).to_dict()})
    summary["best_by_task"] = {}
    for task, (metric, higher_is_better) in TASK_METRICS.items():
        scored = [row for row in summary["rows"] if row["task"] == task and row.get(metric) is not None]
        if scored:
            best = (max if higher_is_better else min)(scored, key=lambda row: row[metric]["mean"])
            summary["best_by_task"][task] = best["arm"]
    return summary


def finding(summary: dict[str, Any]) -> str:
    """Per task, each cell's score on the task's metric, then the cost of the cells per epoch."""
    add_task_views(summary)
    rows = {row["arm"]: row for row in summary["rows"]}
    parts = []
    for task, (metric, _) in TASK_METRICS.items():
        scores = [f"{CELL_LABELS[cell]} {rows[f'{task}-{cell}'][metric]['mean']:.3f}" for cell in CELLS
                  if rows.get(f"{task}-{cell}", {}).get(metric) is not None]
        if scores and task in summary["best_by_task"]:
            best = CELL_LABELS[cell_of(summary["best_by_task"][task])]
            parts.append(f"{TASK_LABELS[task]} ({metric.removeprefix('test_')}): {', '.join(scores)}, best {best}")
    speed = []
    for task in TASKS:
        seconds = {cell: rows.get(f"{task}-{cell}", {}).get("seconds_per_epoch") for cell in CELLS}
        if all(value is not None for value in seconds.values()):
            rnn = seconds["rnn"]["mean"]
            speed.append(f"{task} LSTM {seconds['lstm']['mean'] / rnn:.1f}x, GRU {seconds['gru']['mean'] / rnn:.1f}x")
    cost = f" Seconds per epoch relative to the RNN: {'; '.join(speed)}." if speed else ""
    return f"{'; '.join(parts)} (mean of {summary['seeds']} seeds).{cost}"


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    add_task_views(summary)
    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    return [plot_task_metrics(study_dir, summary, plots_dir / "task_metrics.png"),
            plot_cost(summary, plots_dir / "cost.png"),
            plot_learning_curves(study_dir, summary, plots_dir / "learning_curves.png")]


def _bars(axes: Any, rows: dict[str, dict[str, Any]], task: str, metric: str) -> None:
    values = [mean_and_half_width(rows.get(f"{task}-{cell}", {}).get(metric)) for cell in CELLS]
    axes.bar(range(len(CELLS)), [mean for mean, _ in values], yerr=[half for _, half in values], capsize=4,
             color=["#999999", "#4a7ab5", "#d08030"])
    axes.set_xticks(range(len(CELLS)), [CELL_LABELS[cell] for cell in CELLS])
    axes.grid(axis="y", alpha=0.3)


def plot_task_metrics(study_dir: Path, summary: dict[str, Any], path: Path) -> Path:
    """Each task's own metric per cell (mean, 95% CI over seeds); the series panel also shows the
    naive and the best classical baseline of the same backtest."""

    rows = {row["arm"]: row for row in summary["rows"]}
    figure, axes = new_figure(1, 3, figsize=(12, 3.6), layout="constrained")
    for panel, (task, (metric, higher_is_better)) in zip(axes, TASK_METRICS.items()):
        _bars(panel, rows, task, metric)
        better = "higher" if higher_is_better else "lower"
        panel.set_title(f"{TASK_LABELS[task]}: {metric} ({better} is better)", fontsize=9)
        means = [rows[f"{task}-{cell}"][metric]["mean"] for cell in CELLS
                 if rows.get(f"{task}-{cell}", {}).get(metric) is not None]
        if task == "text" and means:
            panel.set_ylim(max(0.0, min(means) - 0.15), min(1.0, max(means) + 0.05))
    # The baselines forecast from the same origins in every series run: seed 0 of any cell has them.
    series_metrics = study_dir / f"series-{CELLS[0]}" / "seed-0" / rundir.METRICS_FILE
    if series_metrics.is_file():
        baselines = {key: value for key, value in rundir.read_json(series_metrics).items()
                     if key.startswith("baseline_") and key.endswith("_mase") and value is not None}
        for name, style in (("baseline_naive_mase", "--"), (min(baselines, key=baselines.get, default=None), ":")):
            if name in baselines:
                label = name.removeprefix("baseline_").removesuffix("_mase")
                axes[2].axhline(baselines[name], color="black", linestyle=style, linewidth=1, label=label)
        axes[2].legend(fontsize=7)
    figure.savefig(path, dpi=100)
    return path


def plot_cost(summary: dict[str, Any], path: Path) -> Path:
    """Parameters, seconds per epoch and training samples per second of each cell, per task."""

    rows = {row["arm"]: row for row in summary["rows"]}
    figure, axes = new_figure(3, 3, figsize=(11, 7), layout="constrained")
    for column, task in enumerate(TASKS):
        params = [rows.get(f"{task}-{cell}", {}).get("params") or 0 for cell in CELLS]
        axes[0, column].bar(range(len(CELLS)), params, color=["#999999", "#4a7ab5", "#d08030"])
        axes[0, column].set_xticks(range(len(CELLS)), [CELL_LABELS[cell] for cell in CELLS])
        axes[0, column].set_title(f"{TASK_LABELS[task]}: parameters", fontsize=9)
        for row_index, metric in enumerate(COST_METRICS, start=1):
            _bars(axes[row_index, column], rows, task, metric)
            axes[row_index, column].set_title(metric.replace("_", " "), fontsize=9)
    figure.savefig(path, dpi=100)
    return path


def plot_learning_curves(study_dir: Path, summary: dict[str, Any], path: Path) -> Path:
    """Per task: training loss and the task's validation curve per epoch, mean over seeds per cell
    (the language model's validation loss as perplexity)."""

    figure, axes = new_figure(2, 3, figsize=(12, 6.5), layout="constrained")
    for column, task in enumerate(TASKS):
        for row_index, column_name in enumerate(("train_loss", TASK_CURVES[task])):
            panel = axes[row_index, column]
            for cell, colour in zip(CELLS, ("#999999", "#4a7ab5", "#d08030")):
                curve = mean_curve(study_dir / f"{task}-{cell}", summary["seeds"], column_name)
                if curve is None:
                    continue
                if task == "lm" and column_name == "val_loss":
                    curve = np.exp(curve)
                panel.plot(range(1, len(curve) + 1), curve, marker=".", color=colour, label=CELL_LABELS[cell])
            shown = "val perplexity" if task == "lm" and column_name == "val_loss" else column_name
            panel.set_title(f"{TASK_LABELS[task]}: {shown}", fontsize=9)
            panel.set_xlabel("epoch")
            panel.grid(alpha=0.3)
            panel.legend(fontsize=7)
    figure.savefig(path, dpi=100)
    return path


def mean_curve(arm_dir: Path, seeds: int, column: str) -> np.ndarray | None:
    """The mean over seeds of one history.csv column per epoch (None if no seed has it)."""
    curves = []
    for seed in range(seeds):
        values = [record[column] for record in rundir.read_history(arm_dir / f"seed-{seed}") if column in record]
        if values:
            curves.append(values)
    if not curves:
        return None
    epochs = min(len(curve) for curve in curves)
    return np.mean([curve[:epochs] for curve in curves], axis=0)
