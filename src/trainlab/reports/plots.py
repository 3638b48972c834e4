"""Figures of a run, read from its run directory: learning curves, the confusion matrix, and the
figures of its task (CNN filters, feature maps and mistakes; forecasts against actuals)."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.ticker import MaxNLocator

from trainlab import rundir
from trainlab.reports.figures import new_figure


def plot_run(run_dir: str | os.PathLike) -> list[Path]:
    """Write every figure a run's files allow into RUN_DIR/plots; returns their paths."""
    run_dir = Path(run_dir)
    plots_dir = run_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    written = []
    history = rundir.read_history(run_dir)
    if history:
        for metric in _curve_metrics(history[0]):
            written.append(plot_curve(history, metric, plots_dir / f"{metric}.png"))
    confusion_path = run_dir / rundir.CONFUSION_FILE
    if confusion_path.is_file():
        confusion = rundir.read_json(confusion_path)
        written.append(
            plot_confusion_matrix(confusion["test"], confusion["classes"], plots_dir / "confusion_matrix.png")
        )
    curves_path = run_dir / rundir.ROC_PR_FILE
    if curves_path.is_file():
        written.append(plot_roc_pr(rundir.read_json(curves_path), plots_dir / "roc_pr.png"))
    written.extend(_task_figures(run_dir))
    return written


def _task_figures(run_dir: Path) -> list[Path]:
    # Each task's figures are drawn from the files its pipeline writes when a run ends; imported here
    # because the CNN figures rebuild the network, which this module's other figures never need.
    # Diagnostics can come with any task, so every kind of figure the run's files allow is drawn.
    # The forecast figures import pandas: only for a run with a backtest.
    from trainlab.reports.lm_plots import plot_lm_run

    written = []
    if (run_dir / rundir.TEST_EXAMPLES_FILE).is_file():
        from trainlab.reports.cnn_plots import plot_cnn_run

        written += plot_cnn_run(run_dir)
    if (run_dir / rundir.BACKTEST_FILE).is_file():
        from trainlab.reports.forecast_plots import plot_forecast_run

        written += plot_forecast_run(run_dir)
    if (run_dir / rundir.DIAGNOSTICS_DIR).is_dir():
        from trainlab.reports.diagnostics_plots import plot_diagnostics_run

        written += plot_diagnostics_run(run_dir)
    return written + plot_lm_run(run_dir)


# One figure per metric, train and val together; precision and recall are left to the F1 curve.
CURVES = ("loss", "accuracy", "macro_f1", "lr")


def _curve_metrics(row: dict[str, float]) -> list[str]:
    return [name for name in CURVES if any(key in row for key in (name, f"train_{name}", f"val_{name}"))]


def plot_curve(history: list[dict[str, float]], metric: str, path: str | os.PathLike) -> Path:
    path = Path(path)
    figure, axes = new_figure(figsize=(5, 3.5), layout="constrained")
    epochs = [row["epoch"] for row in history]
    for key in (f"train_{metric}", f"val_{metric}", metric):
        if key in history[0]:
            axes.plot(epochs, [row.get(key, float("nan")) for row in history], marker=".", label=key)
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(metric)
    if metric == "lr":
        axes.set_yscale("log")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


def plot_confusion_matrix(
    confusion: list[list[int]], classes: list[str], path: str | os.PathLike
) -> Path:
    path = Path(path)
    size = len(confusion)
    figure, axes = new_figure(figsize=(1 + 0.45 * size, 0.8 + 0.45 * size), layout="constrained")
    image = axes.imshow(confusion, cmap="Blues")
    largest = max(max(row) for row in confusion) or 1
    for true_class, row in enumerate(confusion):
        for predicted_class, count in enumerate(row):
            colour = "white" if count > largest / 2 else "black"
            axes.text(predicted_class, true_class, count, ha="center", va="center", color=colour, fontsize=7)
    axes.set_xticks(range(size), classes, rotation=90 if max(map(len, classes)) > 2 else 0)
    axes.set_yticks(range(size), classes)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title("test confusion matrix")
    figure.colorbar(image, ax=axes, shrink=0.8)
    figure.savefig(path, dpi=100)
    return path


def plot_roc_pr(curves: dict, path: str | os.PathLike) -> Path:
    """A two-class run's ROC curve (against chance) and precision-recall curve (against the share of
    positives, what a random ranking scores), each with its area, from RUN_DIR/roc_pr.json."""
    path = Path(path)
    roc, pr = curves["roc"], curves["precision_recall"]
    figure, (left, right) = new_figure(1, 2, figsize=(9, 4), layout="constrained")
    left.plot(roc["false_positive_rate"], roc["true_positive_rate"], label=f"model (AUC {roc['auc']:.3f})")
    left.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC 0.5)")
    left.set_xlabel("false positive rate")
    left.set_ylabel("true positive rate")
    right.step(pr["recall"], pr["precision"], where="post", label=f"model (AP {pr['average_precision']:.3f})")
    right.axhline(pr["positive_share"], linestyle="--", color="grey",
                  label=f"random ({pr['positive_share']:.3f})")
    right.set_xlabel("recall")
    right.set_ylabel("precision")
    for axes, title in ((left, "ROC"), (right, "precision-recall")):
        axes.set_title(f"test {title}, positive class {curves['positive_class']}", fontsize=10)
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.02)
        axes.legend(loc="lower right" if axes is left else "lower left", fontsize=8)
        axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path
