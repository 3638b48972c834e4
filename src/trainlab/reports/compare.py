"""One page comparing runs: their metrics side by side and their learning curves overlaid.

Read only from the run directories (metrics.json, history.csv, config.yaml), like every report.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from matplotlib.ticker import MaxNLocator

from trainlab import rundir, runs
from trainlab.errors import TrainlabError
from trainlab.reports import html
from trainlab.reports.figures import new_figure
from trainlab.reports.run_report import number_text

COMPARE_FILE = "compare.html"
# Precision and recall curves are left to macro F1, as in a run's own figures.
SKIPPED_CURVES = ("epoch", "seconds", "precision", "recall")
METRIC_ORDER = ("test_", "val_", "baseline_")


def default_compare_dir(root: str | os.PathLike = Path("runs")) -> Path:
    root = Path(root)
    return root / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"


def write_comparison(run_dirs: list[str | os.PathLike], out_dir: str | os.PathLike) -> Path:
    """Write OUT_DIR/compare.html (and its figures in OUT_DIR/plots/); returns the page's path."""
    run_dirs = [Path(run_dir) for run_dir in run_dirs]
    out_dir = Path(out_dir)
    if not run_dirs:
        raise TrainlabError("compare needs at least one run directory")
    for run_dir in run_dirs:
        if not (run_dir / rundir.CONFIG_FILE).is_file():
            raise TrainlabError(f"'{run_dir}' is not a run directory (it has no {rundir.CONFIG_FILE}); "
                                "give directories that `trainlab train` wrote")
    if (Path(out_dir) / rundir.CONFIG_FILE).is_file():
        raise TrainlabError(f"--out '{out_dir}' is a run directory; its plots would be replaced: choose another --out")
    labels = run_labels(run_dirs)
    # An unfinished run (no or a half-written metrics.json) is compared on what it has.
    metrics = {label: rundir.read_json(run_dir / rundir.METRICS_FILE, default={})
               for label, run_dir in zip(labels, run_dirs)}
    histories = {label: rundir.read_history(run_dir) for label, run_dir in zip(labels, run_dirs)}

    plots_dir = Path(out_dir) / rundir.PLOTS_DIR
    plots_dir.mkdir(parents=True, exist_ok=True)
    figures = [plot_overlaid(histories, column, plots_dir / f"{column}.png") for column in curve_columns(histories)]
    header, rows = metrics_table(metrics)
    runs_list = "".join(
        f"<li><b>{html.escape(label)}</b>: {html.escape(run_dir.resolve())}"
        f"{'' if rundir.is_complete(run_dir) else ' (not complete)'}</li>"
        for label, run_dir in zip(labels, run_dirs)
    )
    body = [
        f"<h1>Comparison of {len(run_dirs)} runs</h1>",
        f'<ul class="note">{runs_list}</ul>',
        "<h2>Metrics</h2>",
        html.table(header, rows) if rows else '<p class="note">No run has metrics.json yet.</p>',
        "<h2>Learning curves</h2>",
        html.captioned_figures(figures) if figures else '<p class="note">No run has history.csv yet.</p>',
    ]
    path = Path(out_dir) / COMPARE_FILE
    runs.atomic_write_text(path, html.page("trainlab compare", "\n".join(body)))
    return path


def run_labels(run_dirs: list[str | os.PathLike]) -> list[str]:
    """Short distinct names: the directory name, with its parents added while two runs share one
    (a study's runs are all called seed-0, seed-1...)."""
    run_dirs = [Path(item) for item in run_dirs]
    depth = 1
    while True:
        labels = ["/".join(run_dir.resolve().parts[-depth:]) for run_dir in run_dirs]
        if len(set(labels)) == len(labels) or depth >= max(len(run_dir.resolve().parts) for run_dir in run_dirs):
            return labels
        depth += 1


def metrics_table(metrics: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """One row per metric of metrics.json (test first, then validation, baselines, the rest), one
    column per run; a run without that metric shows an empty cell."""
    keys: list[str] = []
    for values in metrics.values():
        keys += [key for key, value in values.items() if _is_number(value) and key not in keys]
    keys.sort(key=lambda key: next((rank for rank, prefix in enumerate(METRIC_ORDER) if key.startswith(prefix)),
                                   len(METRIC_ORDER)))
    rows = [[key, *(number_text(values[key]) if key in values else "" for values in metrics.values())]
            for key in keys]
    return ["metric", *metrics], rows


def curve_columns(histories: dict[str, list[dict[str, float]]]) -> list[str]:
    columns: list[str] = []
    for history in histories.values():
        if history:
            columns += [column for column in history[0] if column not in columns]
    return [column for column in columns if not any(skip in column for skip in SKIPPED_CURVES)]


def plot_overlaid(
    histories: dict[str, list[dict[str, float]]], column: str, path: str | os.PathLike
) -> Path:
    """`column` of history.csv against the epoch, one line per run."""
    path = Path(path)
    figure, axes = new_figure(figsize=(5.5, 3.5), layout="constrained")
    for label, history in histories.items():
        points = [(row["epoch"], row[column]) for row in history if column in row]
        if points:
            axes.plot(*zip(*points), marker=".", label=label)
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(column)
    if column == "lr":
        axes.set_yscale("log")
    axes.set_title(f"{column} per epoch")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
