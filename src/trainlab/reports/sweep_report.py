"""A sweep's figures and page, read from its directory: optimisation history, parameter
importances, the best trial and the table of trials."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from matplotlib.ticker import MaxNLocator

from trainlab import rundir, runs
from trainlab.reports import html
from trainlab.reports.figures import new_figure
from trainlab.sweeps.summary import SUMMARY_FILE, TRIALS_JSON

REPORT_FILE = "report.html"


def write_sweep_report(sweep_dir: str | os.PathLike) -> Path:
    """Write SWEEP_DIR/plots/{history,importance}.png and the self-contained SWEEP_DIR/report.html."""
    sweep_dir = Path(sweep_dir)
    summary = rundir.read_json(sweep_dir / SUMMARY_FILE)
    trials = rundir.read_json(sweep_dir / TRIALS_JSON)
    plots_dir = sweep_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    figures = [plot_history(trials, summary, plots_dir / "history.png")]
    if summary["importances"]:
        figures.append(plot_importances(summary["importances"], plots_dir / "importance.png"))
    best = summary["best"]
    states = ", ".join(f"{count} {state.lower()}" for state, count in summary["states"].items())
    body = [
        f"<h1>Sweep: {html.escape(summary['study'])}</h1>",
        (f'<p class="note">{summary["trials"]} trials ({html.escape(states)}); {summary["direction"]} '
         f"{html.escape(summary['metric'])}; sampler {summary['sampler']}, pruner {summary['pruner']}; "
         f"storage {html.escape(summary['storage'])}.</p>"),
    ]
    if best:
        shown = ", ".join(f"{key}={_text(value)}" for key, value in best["params"].items())
        body.append(
            f'<p class="finding">Best: trial {best["number"]} ({html.escape(best["run_dir"] or "")}), '
            f"{html.escape(summary['metric'])} {best['value']:.4g} with {html.escape(shown)}. "
            f"Its config is {html.escape(summary['best_config'] or '')}: "
            f"<code>trainlab train --config {html.escape(summary['best_config'] or '')}</code> reruns it.</p>"
        )
    else:
        body.append('<p class="failed">No trial has completed yet.</p>')
    if summary["importance_note"]:
        body.append(f'<p class="note">{html.escape(summary["importance_note"])}</p>')
    body += ["<h2>Figures</h2>", html.captioned_figures(figures), "<h2>Trials</h2>", trials_table(trials)]
    path = sweep_dir / REPORT_FILE
    runs.atomic_write_text(path, html.page(f"trainlab sweep {summary['study']}", "\n".join(body)))
    return path


def trials_table(trials: list[dict[str, Any]]) -> str:
    if not trials:
        return '<p class="note">No trials.</p>'
    header = [key for key in trials[0] if key != "run_dir"]
    return html.table(header, [[_text(row[key]) for key in header] for row in trials])


def plot_history(
    trials: list[dict[str, Any]], summary: dict[str, Any], path: str | os.PathLike
) -> Path:
    """Each trial's objective by trial number, with the best so far as a step line."""
    path = Path(path)
    figure, axes = new_figure(figsize=(6, 3.6), constrained_layout=True)
    better = max if summary["direction"] == "maximize" else min
    for state, marker, colour in (("COMPLETE", "o", "tab:blue"), ("PRUNED", "x", "tab:gray")):
        points = [(row["number"], row["value"]) for row in trials
                  if row["state"] == state and _finite(row["value"])]
        if points:
            label = "completed" if state == "COMPLETE" else "pruned (last reported value)"
            axes.scatter(*zip(*points), marker=marker, color=colour, label=label, zorder=3)
    best_so_far, numbers, current = [], [], None
    for row in sorted(trials, key=lambda row: row["number"]):
        if row["state"] == "COMPLETE" and _finite(row["value"]):
            current = row["value"] if current is None else better(current, row["value"])
        if current is not None:
            numbers.append(row["number"])
            best_so_far.append(current)
    if numbers:
        axes.step(numbers, best_so_far, where="post", color="tab:red", label="best so far")
    axes.set_xlabel("trial")
    axes.set_ylabel(summary["metric"])
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("optimisation history")
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=110)
    return path


def plot_importances(importances: dict[str, float], path: str | os.PathLike) -> Path:
    """Horizontal bars, the most important parameter on top."""
    path = Path(path)
    names = list(importances)[::-1]
    figure, axes = new_figure(figsize=(6, 0.5 + 0.45 * len(names)), constrained_layout=True)
    axes.barh(names, [importances[name] for name in names], color="tab:blue")
    axes.set_xlabel("importance (share of the objective's variation)")
    axes.set_title("parameter importances")
    figure.savefig(path, dpi=110)
    return path


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
