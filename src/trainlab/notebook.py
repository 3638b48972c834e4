"""Small helpers for the notebooks in notebooks/: tables from a study's summary, figures on screen.

trainlab's figures are `matplotlib.figure.Figure` objects of their own (trainlab.reports.figures):
importing trainlab leaves the notebook's backend alone, and `show_figure` shows any figure as a
PNG image, the same in every notebook front end.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from trainlab import rundir


def summary_frame(summary: dict[str, Any], metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per arm of a study's summary: the mean over seeds of each metric, and its 95% CI.

    Args:
        summary: what `trainlab.studies.run` returns (or STUDY_DIR/summary.json).
        metrics: the metrics to show; None: all of the study's metrics.
    Returns:
        columns `<metric>` (mean) and `<metric> 95% CI` ("low to high", empty with one seed),
        indexed by the arms' labels.
    """
    metrics = list(summary["metrics"] if metrics is None else metrics)
    rows = []
    for row in summary["rows"]:
        values: dict[str, Any] = {"arm": row["label"]}
        for metric in metrics:
            estimate = row.get(metric)
            values[metric] = None if estimate is None else estimate["mean"]
            has_interval = estimate is not None and estimate.get("ci_low") is not None
            values[f"{metric} 95% CI"] = (
                f"{estimate['ci_low']:.4g} to {estimate['ci_high']:.4g}" if has_interval else ""
            )
        rows.append(values)
    return pd.DataFrame(rows).set_index("arm")


def history_frame(run_dir: Path) -> pd.DataFrame:
    """A run's history.csv: one row per epoch (epoch, lr, train_*, val_*, seconds)."""
    history = rundir.read_history(run_dir)
    if not history:
        raise FileNotFoundError(f"{Path(run_dir) / rundir.HISTORY_FILE}: no such file, or no epoch in it")
    frame = pd.DataFrame(history)
    return frame.astype({"epoch": int}) if "epoch" in frame else frame


def show_figure(figure: Any) -> None:
    """Display a matplotlib figure in the notebook as a PNG, then close it."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    display(Image(buffer.getvalue()))


def show_images(paths: Iterable[Path]) -> list[Path]:
    """Display PNG files (a study's or a run's plots/*.png) in the notebook; returns the paths shown."""
    from IPython.display import Image, display

    shown = []
    for path in paths:
        display(Image(filename=str(path)))
        shown.append(Path(path))
    return shown
