"""A run's report, RUN_DIR/report.html, read only from the run directory.

One self-contained page (figures embedded, no network): what ran (config, data, model), how it
trained (curves, time, throughput), how well it does (metrics, confusion matrix, the task's figures
and samples) and where (environment). Every section is drawn from whatever files the run holds, so
the report of a run that some task or study extended (diagnostics/, samples.json, more plots) shows
those too, and the report of an interrupted run shows what there is so far.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from trainlab import rundir, runs
from trainlab.errors import TrainlabError
from trainlab.metrics.model_choice import chosen_model_sentence
from trainlab.reports import html

REPORT_FILE = "report.html"
# Figures whose place is fixed: curves first, then the confusion matrix; any other PNG of plots/
# follows in name order, so figures other tasks add appear without this module knowing them.
CURVE_FIGURES = ("loss", "accuracy", "macro_f1", "perplexity", "bpc", "mae", "rmse", "lr")
RESULT_FIGURES = ("confusion_matrix", "roc_pr")
# Keys of metrics.json shown under "Training" rather than "Metrics".
TRAINING_KEYS = ("epochs", "best_epoch", "stopped_early", "params", "multiply_adds", "train_seconds",
                 "samples_per_second")


def write_run_report(run_dir: str | os.PathLike) -> Path:
    """Write RUN_DIR/report.html from the files of the run directory; returns its path."""
    run_dir = Path(run_dir)
    run_dir = Path(run_dir)
    if not (run_dir / rundir.CONFIG_FILE).is_file():
        raise TrainlabError(f"'{run_dir}' is not a run directory (it has no {rundir.CONFIG_FILE}); "
                            "give the directory `trainlab train` wrote")
    config = yaml.safe_load((run_dir / rundir.CONFIG_FILE).read_text()) or {}
    # A missing or half-written file (an interrupted run) leaves its section out.
    metrics = rundir.read_json(run_dir / rundir.METRICS_FILE, default=None) or {}
    info = rundir.read_json(run_dir / rundir.DATA_FILE, default=None) or {}
    environment = rundir.read_json(run_dir / rundir.ENV_FILE, default=None) or {}
    history = rundir.read_history(run_dir)
    title = _title(config, run_dir)

    sections = [
        ("results", "Results", _results_section(run_dir, metrics)),
        ("figures", "Figures", _figures_section(run_dir)),
        ("samples", "Generated samples", _samples_section(run_dir)),
        ("data", "Data", _data_section(run_dir, info)),
        ("model", "Model", _model_section(run_dir)),
        ("training", "Training", _training_section(metrics, history)),
        ("config", "Configuration", html.preformatted((run_dir / rundir.CONFIG_FILE).read_text())),
        ("environment", "Environment", _environment_section(environment)),
        ("files", "Files", _files_section(run_dir)),
    ]
    sections = [(anchor, heading, body) for anchor, heading, body in sections if body]
    status = ("" if rundir.is_complete(run_dir) else
              '<p class="failed">This run is not complete (no metrics.json yet): '
              "`trainlab resume RUN_DIR` continues it.</p>")
    nav = "<nav>" + "".join(f'<a href="#{anchor}">{heading}</a>' for anchor, heading, _ in sections) + "</nav>"
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="note">{html.escape(run_dir.resolve())}</p>',
            status, _headline(metrics), nav]
    body += [f'<h2 id="{anchor}">{heading}</h2>{content}' for anchor, heading, content in sections]
    path = run_dir / REPORT_FILE
    runs.atomic_write_text(path, html.page(f"trainlab run {run_dir.name}", "\n".join(body)))
    return path


def _title(config: dict[str, Any], run_dir: Path) -> str:
    model = config.get("model", {}).get("name") if isinstance(config.get("model"), dict) else config.get("model")
    source = (config.get("data") or {}).get("source", "")
    parts = [str(config.get("task", "run")), str(model or "")]
    return f"{parts[0]}: {parts[1]} on {Path(str(source)).name or source}" if parts[1] else f"{parts[0]}: {run_dir.name}"


def _headline(metrics: dict[str, Any]) -> str:
    shown = [f"{key.removeprefix('test_')} {number_text(value)}" for key, value in metrics.items()
             if key.startswith("test_") and _is_number(value)][:4]
    chosen = chosen_model_sentence(metrics)
    chosen = f'<p class="finding">{html.escape(chosen)}</p>' if chosen else ""
    return (f'<p class="finding">Test: {html.escape(", ".join(shown))}</p>' if shown else "") + chosen


def _results_section(run_dir: Path, metrics: dict[str, Any]) -> str:
    if not metrics:
        return ""
    groups: dict[str, list[tuple[str, Any]]] = {"test": [], "val": [], "baseline": [], "other": []}
    for key, value in metrics.items():
        if key in TRAINING_KEYS or not _is_scalar(value):
            continue
        group = next((prefix for prefix in ("test", "val", "baseline") if key.startswith(f"{prefix}_")), "other")
        groups[group].append((key, value))
    rows = [(key, number_text(value)) for group in groups.values() for key, value in group]
    return html.table(["metric", "value"], rows) + html.captioned_figures(
        _existing(run_dir, RESULT_FIGURES))


def _figures_section(run_dir: Path) -> str:
    plots = sorted((run_dir / rundir.PLOTS_DIR).glob("*.png"))
    if not plots:
        return ""
    by_stem = {path.stem: path for path in plots}
    curves = [by_stem[name] for name in CURVE_FIGURES if name in by_stem]
    others = [path for path in plots if path not in curves and path.stem not in RESULT_FIGURES]
    body = ""
    if curves:
        body += "<h3>Learning curves</h3>" + html.captioned_figures(curves)
    if others:
        body += "<h3>Task figures</h3>" + html.captioned_figures(others)
    return body


def _existing(run_dir: Path, names: tuple[str, ...]) -> list[Path]:
    paths = [run_dir / rundir.PLOTS_DIR / f"{name}.png" for name in names]
    return [path for path in paths if path.is_file()]


def _samples_section(run_dir: Path) -> str:
    samples = rundir.read_json(run_dir / rundir.SAMPLES_FILE, default=None)
    if not samples or not isinstance(samples, dict):
        return ""
    prompt = samples.get("prompt", "")
    parts = [(f'<p class="note">Prompt {json.dumps(prompt)}, seed {samples.get("seed")}, '
             f'{samples.get("max_new_tokens")} new tokens per temperature (0 is greedy).</p>')]
    for sample in samples.get("samples", []):
        parts.append(f"<h3>temperature {html.escape(sample.get('temperature'))}</h3>")
        parts.append(html.preformatted(prompt + str(sample.get("text", ""))))
    return "".join(parts)


def _data_section(run_dir: Path, info: dict[str, Any]) -> str:
    if not info:
        return ""
    parts = []
    if info.get("summary"):
        parts.append(f"<p>{html.escape(info['summary'])}</p>")
    confusion = rundir.read_json(run_dir / rundir.CONFUSION_FILE, default=None)
    if confusion and confusion.get("test"):
        parts.append("<h3>Test set, class by class</h3>" + per_class_table(confusion["classes"], confusion["test"]))
    elif info.get("classes"):
        parts.append(f"<p>Classes: {html.escape(', '.join(map(str, info['classes'])))}</p>")
    details = [(key, _short(value)) for key, value in info.items()
               if key not in ("summary", "classes") and _short(value)]
    if details:
        parts.append(html.key_values(details))
    return "".join(parts)


def per_class_table(classes: list[str], confusion: list[list[int]]) -> str:
    """Each class's share of the test set (the true-class totals of its confusion matrix) and the
    model's precision, recall and F1 on it: what a macro average or accuracy hides on imbalanced data."""
    from trainlab.metrics.classification import per_class_precision_recall_f1

    counts = [sum(row) for row in confusion]
    total = sum(counts) or 1
    precision, recall, f1 = (values.tolist() for values in per_class_precision_recall_f1(confusion))
    rows = [(name, f"{count:,}", f"{count / total:.1%}", f"{p:.3f}", f"{r:.3f}", f"{f:.3f}")
            for name, count, p, r, f in zip(classes, counts, precision, recall, f1)]
    return html.table(["class", "examples", "share", "precision", "recall", "F1"], rows)


def _short(value: Any) -> str:
    """A data.json value in a line; long structures (normalisation statistics, scalers) summarised."""
    if _is_scalar(value) or value is None:
        return "" if value is None else number_text(value)
    text = json.dumps(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _model_section(run_dir: Path) -> str:
    from trainlab.reports.model_summary import summarize_run

    try:
        summary = summarize_run(run_dir)
    except Exception as error:  # noqa: BLE001 - a report must not fail because one section cannot be built
        return f'<p class="note">No model summary: {html.escape(error)}</p>'
    totals = (f"<p>{summary.total_parameters:,} parameters ({summary.trainable_parameters:,} trainable); "
              f"{summary.total_multiply_adds:,} multiply-adds on {html.escape(summary.input_description)}.</p>")
    table = html.table(["layer", "type", "output shape", "parameters", "multiply-adds"], summary.table_rows())
    return f"<p>{html.escape(summary.title)}</p>{totals}{table}"


def _training_section(metrics: dict[str, Any], history: list[dict[str, float]]) -> str:
    parts = []
    facts = [(key.replace("_", " "), number_text(metrics[key])) for key in TRAINING_KEYS if key in metrics]
    seconds = [row["seconds"] for row in history if "seconds" in row]
    if seconds:
        facts.append(("seconds per epoch (mean)", number_text(sum(seconds) / len(seconds))))
    if facts:
        parts.append(html.key_values(facts))
    if history:
        columns = list(dict.fromkeys(column for row in history for column in row))
        rows = [[number_text(row[column]) if column in row else "" for column in columns] for row in history]
        parts.append("<h3>History</h3>" + html.table(columns, rows))
    return "".join(parts)


def _environment_section(environment: dict[str, Any]) -> str:
    if not environment:
        return ""
    rows = []
    for key, value in environment.items():
        if key == "command" and isinstance(value, list):
            value = " ".join(value)
        rows.append((key, value if isinstance(value, str) else json.dumps(value)))
    return html.key_values(rows)


def _files_section(run_dir: Path) -> str:
    entries = []
    for path in sorted(run_dir.rglob("*")):
        relative = path.relative_to(run_dir)
        if path.is_file() and not relative.name.startswith(".") and relative.name != REPORT_FILE:
            entries.append(f"<li>{html.escape(relative)} ({_size_text(path.stat().st_size)})</li>")
    return f'<ul class="note">{"".join(entries)}</ul>' if entries else ""


def _size_text(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def number_text(value: Any) -> str:
    """Integers with thousands separators, other numbers with four significant digits."""
    if isinstance(value, bool) or not _is_number(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, str, bool))
