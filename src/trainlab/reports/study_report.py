"""A study's report, read from its directory: the summary table, comparisons and overlaid curves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import rundir, runs
from trainlab.metrics.statistics import mean_and_half_width
from trainlab.reports import html
from trainlab.reports.figures import new_figure

REPORT_FILE = "report.html"


def write_study_report(
    study_dir: str | os.PathLike, summary: dict[str, Any], extra_figures: list[Path] = ()
) -> Path:
    """Write STUDY_DIR/plots/*.png and the self-contained STUDY_DIR/report.html."""
    study_dir = Path(study_dir)
    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    figures = [plot_headline(summary, plots_dir / "headline.png")]
    curves = _mean_curves(study_dir, summary)
    for column in _curve_columns(summary, curves):
        figures.append(plot_curves(curves, column, plots_dir / f"{column}.png"))
    body = [
        f"<h1>Study: {html.escape(summary['study'])}</h1>",
        f"<p>{html.escape(summary['question'])}</p>",
        (f'<p class="note">Data: {html.escape(summary["data"])}. Scale {html.escape(summary["scale"])}, '
         f"{_replicates(summary)} per configuration; "
         # Summaries written before the interval was recorded used t-intervals over seeds.
         f"{html.escape(summary.get('interval', 'intervals are 95% t-intervals over seeds.'))}</p>"),
        f'<p class="finding">{html.escape(summary["finding"])}</p>',
        # A study may explain its finding at more length (a list of paragraphs in summary.json).
        *(f"<p>{html.escape(paragraph)}</p>" for paragraph in summary.get("narrative", [])),
        "<h2>Results</h2>",
        results_table(summary),
    ]
    if summary["comparisons"]:
        rows = [(f"{c['a']} - {c['b']}", c["metric"], _difference_text(c)) for c in summary["comparisons"]]
        body += ["<h2>Comparisons</h2>", html.table(["difference", "metric", "value"], rows)]
    body += ["<h2>Figures</h2>", html.figures([*figures, *extra_figures])]
    runs_list = "".join(
        f"<li>{html.escape(row['arm'])}/seed-k/: config.yaml, history.csv, metrics.json</li>"
        for row in summary["rows"]
    )
    body += ["<h2>Runs</h2>", f'<ul class="note">{runs_list}</ul>']
    path = study_dir / REPORT_FILE
    runs.atomic_write_text(path, html.page(f"trainlab study {summary['study']}", "\n".join(body)))
    return path


def results_table(summary: dict[str, Any]) -> str:
    header = ["configuration", "params", *summary["metrics"]]
    rows = []
    for row in summary["rows"]:
        cells = [row["label"], f"{row['params']:,}" if row.get("params") is not None else ""]
        for metric in summary["metrics"]:
            estimate = row.get(metric)
            cells.append("" if estimate is None else _estimate_text(estimate))
        rows.append(cells)
    return html.table(header, rows)


def _estimate_text(estimate: dict[str, Any]) -> str:
    mean, half = mean_and_half_width(estimate)
    # One value, or a quantity every seed agrees on (parameter counts, multiply-adds): no interval.
    return _number_text(mean) if half == 0 else f"{_number_text(mean)} ± {half:.2g}"


def _number_text(value: float) -> str:
    """Counts in millions or with thousands separators; everything else with four significant digits."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.4g} M"
    if abs(value) >= 1e3 and float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _replicates(summary: dict[str, Any]) -> str:
    """'3 seed(s)' or '5 folds': what each configuration was repeated over."""
    return f"{summary['folds']} folds" if summary.get("folds") else f"{summary['seeds']} seed(s)"


def _difference_text(comparison: dict[str, Any]) -> str:
    if comparison["significant"] is None:
        return f"{comparison['difference']:+.4g} (too few seeds for an interval)"
    verdict = "significant" if comparison["significant"] else "not significant"
    method = f"{comparison['method']}; " if comparison.get("method") else ""
    return (f"{comparison['difference']:+.4g} (95% CI {comparison['ci_low']:+.3g} to "
            f"{comparison['ci_high']:+.3g}; {method}{verdict})")


def plot_headline(summary: dict[str, Any], path: Path) -> Path:
    """The headline metric per configuration, with 95% intervals as error bars."""
    metric = summary["headline_metric"]
    rows = [row for row in summary["rows"] if row.get(metric) is not None]
    values = [mean_and_half_width(row[metric]) for row in rows]
    means, errors = [mean for mean, _ in values], [half for _, half in values]
    figure, axes = new_figure(figsize=(max(4.0, 0.8 * len(rows) + 2), 3.5), layout="constrained")
    axes.bar(range(len(rows)), means, yerr=errors, capsize=4, color="#4a7ab5")
    axes.set_xticks(range(len(rows)), [row["label"] for row in rows], rotation=30, ha="right")
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} (mean, 95% CI over {_replicates(summary)})")
    if means and all(0 <= mean <= 1 for mean in means) and "accuracy" in metric:
        axes.set_ylim(max(0.0, min(means) - 0.15), min(1.0, max(means) + 0.05))
    axes.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


def _mean_curves(study_dir: Path, summary: dict[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    """arm label -> history column -> mean over seeds per epoch (NaN where a seed stopped early)."""
    curves: dict[str, dict[str, np.ndarray]] = {}
    for row in summary["rows"]:
        histories = []
        for seed in range(summary["seeds"]):
            history = rundir.read_history(study_dir / row["arm"] / f"seed-{seed}")
            if history:
                histories.append(history)
        if not histories:
            continue
        epochs = max(len(history) for history in histories)
        columns = {key for history in histories for record in history for key in record} - {"epoch", "seconds", "lr"}
        arm_curves = {}
        for column in sorted(columns):
            grid = np.full((len(histories), epochs), np.nan)
            for index, history in enumerate(histories):
                for epoch, record in enumerate(history):
                    if column in record:
                        grid[index, epoch] = record[column]
            with np.errstate(all="ignore"):
                arm_curves[column] = np.nanmean(grid, axis=0) if not np.isnan(grid).all() else grid[0]
        curves[row["label"]] = arm_curves
    return curves


def _curve_columns(summary: dict[str, Any], curves: dict[str, dict[str, np.ndarray]]) -> list[str]:
    available = {column for arm in curves.values() for column in arm}
    headline = summary["headline_metric"].removeprefix("test_")
    wanted = ["train_loss", "val_loss", f"val_{headline}"]
    return [column for column in dict.fromkeys(wanted) if column in available]


def plot_curves(curves: dict[str, dict[str, np.ndarray]], column: str, path: Path) -> Path:
    figure, axes = new_figure(figsize=(5.5, 3.5), layout="constrained")
    for label, arm in curves.items():
        if column in arm:
            values = arm[column]
            axes.plot(range(1, len(values) + 1), values, marker=".", label=label)
    axes.set_xlabel("epoch")
    axes.set_ylabel(column)
    axes.set_title(f"{column} (mean over seeds)")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path
