"""Figures of the regularisation and generalisation studies, from the files their runs write.

Each figure says in its title and axis labels what it shows, so that it reads without the code:
fitted curves against the true function, the bias-variance U-curve with its parts, train and
validation curves with the early-stopping point, weight norms per epoch, weight histograms, and
the learning-rate finder's loss against learning rate.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.metrics.statistics import mean_and_half_width
from trainlab.reports.figures import new_figure, palette

FIT_Y_LIMITS = (-2.0, 2.0)  # sin(pi x) lives in [-1, 1]; wild fits are clipped, not rescaled to
LOG_FLOOR = 1e-6  # values at or below it (a bias^2 estimate near zero) are drawn at the floor


def _save(figure: Any, path: str | os.PathLike) -> Path:
    figure.savefig(path, dpi=100)
    return Path(path)


def plot_polynomial_fits(fits: dict[str, dict[str, Any]], path: str | os.PathLike) -> Path:
    """One panel per degree: the training points, the fitted polynomial and the true function."""
    figure, panels = _fit_panels(fits)
    for axes, fit in panels:
        axes.plot(fit["grid"], fit["truth"], color="black", linestyle="--", label="true function")
        axes.plot(fit["grid"], fit["fitted"], color="#c0504d", linewidth=2, label="fitted polynomial")
        axes.scatter(fit["x_train"], fit["y_train"], s=18, color="#4a7ab5", zorder=3, label="training points")
    panels[0][0].legend(fontsize=7, loc="lower right")
    figure.suptitle("Fitted polynomials against the true function (one training set, seed 0)")
    return _save(figure, path)


def _fit_panels(fits: dict[str, dict[str, Any]]) -> tuple[Any, list[tuple[Any, dict[str, Any]]]]:
    """One panel per fit, titled by its label, sharing the y axis: (figure, [(axes, fit), ...])."""
    figure, axes_row = new_figure(1, len(fits), figsize=(3.6 * len(fits), 3.4), layout="constrained",
                                  sharey=True, squeeze=False)
    for axes, label in zip(axes_row[0], fits):
        axes.set_ylim(*FIT_Y_LIMITS)
        axes.set_title(label)
        axes.set_xlabel("x")
        axes.grid(alpha=0.3)
    axes_row[0][0].set_ylabel("y")
    return figure, list(zip(axes_row[0], fits.values()))


def plot_train_vs_test_error(summary: dict[str, Any], path: str | os.PathLike) -> Path:
    """Training and test MSE per configuration (mean, 95% CI over seeds), on a log scale."""
    rows = summary["rows"]
    positions = np.arange(len(rows))
    figure, axes = new_figure(figsize=(max(4.5, 1.3 * len(rows) + 2), 3.6), layout="constrained")
    for offset, metric, colour in ((-0.2, "train_mse", "#4a7ab5"), (0.2, "test_mse", "#c0504d")):
        values = [mean_and_half_width(row[metric]) for row in rows]
        axes.bar(positions + offset, [mean for mean, _ in values], width=0.4, color=colour,
                 yerr=[half for _, half in values], capsize=4, label=metric.replace("_mse", " MSE"))
    axes.set_xticks(positions, [row["label"] for row in rows])
    axes.set_yscale("log")
    axes.set_ylabel("mean squared error (log scale)")
    axes.set_title(f"Training vs test error (mean, 95% CI over {summary['seeds']} training sets)")
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def plot_coefficient_magnitudes(fits: dict[str, dict[str, Any]], path: str | os.PathLike) -> Path:
    """|coefficient of x^k| against k for each fitted polynomial (seed 0), on a log scale."""
    figure, axes = new_figure(figsize=(5.5, 3.6), layout="constrained")
    for label, fit in fits.items():
        magnitudes = np.maximum(np.abs(fit["coefficients"]), 1e-12)
        axes.plot(range(len(magnitudes)), magnitudes, marker="o", label=label)
    axes.set_yscale("log")
    axes.set_xlabel("power k of x")
    axes.set_ylabel("|coefficient of x^k| (log scale)")
    axes.set_title("Coefficient magnitudes (seed 0):\nthe overfit needs huge terms that cancel", fontsize=10)
    axes.legend()
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_bias_variance_curve(
    rows: list[dict[str, Any]], axis_label: str, seeds: int, path: str | os.PathLike
) -> Path:
    """The U-curve: expected test error and validation error against complexity, with bias^2,
    variance and noise; the complexity validation error picks is marked."""
    complexities = [int(row["arm"].rsplit("-", 1)[1]) for row in rows]
    figure, axes = new_figure(figsize=(6.5, 4.2), layout="constrained")
    lines = (("test_mse", "expected test error (measured)", "black", "-", 2.2),
             ("val_mse", "validation error", "#7f7f7f", ":", 1.8),
             ("bias_squared", "bias^2 (unbiased estimate: noisy near 0)", "#4a7ab5", "-", 1.5),
             ("variance", "variance", "#c0504d", "-", 1.5),
             ("noise", "noise (estimated)", "#2e8b57", "--", 1.5),
             ("decomposition_sum", "bias^2 + variance + noise", "#e69f00", "--", 1.2))
    for metric, label, colour, style, width in lines:
        means = np.array([row[metric]["mean"] for row in rows])
        axes.plot(complexities, np.maximum(means, LOG_FLOOR), color=colour, linestyle=style,
                  linewidth=width, marker="o" if metric in ("bias_squared", "variance") else None,
                  markersize=3, label=label)
    chosen = min(rows, key=lambda row: row["val_mse"]["mean"])
    chosen_complexity = int(chosen["arm"].rsplit("-", 1)[1])
    axes.axvline(chosen_complexity, color="#7f7f7f", linewidth=0.8)
    axes.annotate(f"lowest validation error: {chosen_complexity}", (chosen_complexity, 0.02),
                  xycoords=("data", "axes fraction"), fontsize=8, ha="left", xytext=(4, 0),
                  textcoords="offset points")
    axes.set_yscale("log")
    if all(high >= 1.5 * low for low, high in pairwise(complexities)):  # doubling widths
        axes.set_xscale("log", base=2)
    axes.set_xticks(complexities, [str(c) for c in complexities], fontsize=7)
    axes.set_xlabel(axis_label)
    axes.set_ylabel(f"squared error (log scale; below {LOG_FLOOR:g} drawn at it)")
    axes.set_title(f"Bias-variance decomposition against {axis_label}\n(mean of {seeds} seeds; "
                   "the parts add up to the measured test error)", fontsize=10)
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_resampled_fits(fits: dict[str, dict[str, Any]], path: str | os.PathLike) -> Path:
    """One panel per complexity: fits from several training sets (their spread is the variance),
    the mean of all fits (its gap to the truth is the bias) and the true function."""
    figure, panels = _fit_panels(fits)
    for axes, fit in panels:
        for index, curve in enumerate(fit["curves"]):
            axes.plot(fit["grid"], curve, color="#c0504d", alpha=0.3, linewidth=0.8,
                      label="fits to separate training sets" if index == 0 else None)
        axes.plot(fit["grid"], fit["mean_curve"], color="#4a7ab5", linewidth=2.2, label="mean of all fits")
        axes.plot(fit["grid"], fit["truth"], color="black", linestyle="--", label="true function")
    panels[0][0].legend(fontsize=7, loc="lower right")
    figure.suptitle("Spread of fits across training sets (variance) and their mean against the truth (bias)")
    return _save(figure, path)


def plot_stopping_point(histories: dict[str, list[dict[str, float]]], monitor: str,
                        stops: dict[str, dict[str, Any]], path: str | os.PathLike) -> Path:
    """Training and validation loss per epoch for each run, with its best epoch (a star) and the
    epoch where early stopping ended it (a dotted line).

    Args:
        histories: label -> rows of history.csv.
        stops: label -> {"best": best epoch, "stopped": epoch it stopped at or None when it ran to
            the end, "restored": whether the best epoch's weights were restored}.
    """
    figure, axes = new_figure(figsize=(7, 4.2), layout="constrained")
    colours = iter(palette("tab10"))
    for label, history in histories.items():
        colour = next(colours)
        epochs = [row["epoch"] for row in history]
        axes.plot(epochs, [row.get("train_loss", np.nan) for row in history], color=colour, alpha=0.5,
                  linestyle="--", label=f"{label}: train_loss")
        axes.plot(epochs, [row.get(monitor, np.nan) for row in history], color=colour, label=f"{label}: {monitor}")
        stop = stops[label]
        if stop["best"]:
            kept = "weights restored" if stop["restored"] else "not restored: last epoch kept"
            axes.scatter([stop["best"]], [history[stop["best"] - 1].get(monitor)], marker="*", s=160,
                         color=colour, zorder=4, label=f"{label}: best epoch {stop['best']} ({kept})")
        if stop["stopped"]:
            axes.axvline(stop["stopped"], color=colour, linestyle=":", linewidth=1.2)
            axes.annotate(f"stopped after epoch {stop['stopped']}", (stop["stopped"], 0.95),
                          xycoords=("data", "axes fraction"), fontsize=8, color=colour, ha="right",
                          xytext=(-3, 0), textcoords="offset points")
    axes.set_yscale("log")  # the rise of validation loss past its minimum is small next to the first epochs
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss (log scale)")
    axes.set_title("Learning curves (seed 0) with the early-stopping point\n"
                   "(runs with one seed coincide until early stopping ends one)", fontsize=10)
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_metric_per_epoch(
    curves: dict[str, Sequence[float]], ylabel: str, title: str, path: str | os.PathLike, log: bool = False
) -> Path:
    """One line per configuration against the epoch (e.g. the total weight norm)."""
    figure, axes = new_figure(figsize=(6, 3.8), layout="constrained")
    for label, values in curves.items():
        axes.plot(range(1, len(values) + 1), values, marker=".", label=label)
    if log:
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_weight_histograms(weights: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Distribution of every weight (conv kernels and dense matrices) of each trained model."""
    figure, axes = new_figure(figsize=(6.5, 3.8), layout="constrained")
    largest = max(float(np.percentile(np.abs(values), 99.5)) for values in weights.values())
    bins = np.linspace(-largest, largest, 81)
    for label, values in weights.items():
        axes.hist(values, bins=bins, histtype="step", linewidth=1.4, density=True, label=label)
    axes.set_yscale("log")
    axes.set_xlabel("weight value")
    axes.set_ylabel("density (log scale)")
    axes.set_title("Weights of the trained models (seed 0): decay pulls them towards 0")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_lr_finder(result: dict[str, Any], path: str | os.PathLike) -> Path:
    """Smoothed training loss against the learning rate of an exponential sweep, the raw loss
    faintly behind it, and the suggested learning rate."""
    figure, axes = new_figure(figsize=(6, 4), layout="constrained")
    axes.plot(result["lrs"], result["losses"], color="#4a7ab5", alpha=0.3, linewidth=0.8, label="loss per step")
    axes.plot(result["lrs"], result["smoothed_losses"], color="#4a7ab5", linewidth=2,
              label="smoothed loss (exponential moving average)")
    suggested = result.get("suggested_lr")
    if suggested is not None:
        axes.axvline(suggested, color="#c0504d", linestyle="--",
                     label=f"suggested lr {suggested:.2g} ({result['rule']})")
    finite = np.asarray(result["smoothed_losses"], dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size:
        low, start = float(finite.min()), float(finite[0])
        axes.set_ylim(low - 0.1 * (start - low + 1e-9), start + 0.5 * (start - low + 1e-9))
    axes.set_xscale("log")
    axes.set_xlabel("learning rate (log scale)")
    axes.set_ylabel("training loss")
    axes.set_title(f"Learning-rate finder: {len(result['lrs'])} steps, rate growing exponentially")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    return _save(figure, path)
